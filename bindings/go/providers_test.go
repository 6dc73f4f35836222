package cctoken_test

// The provider stand-ins of the dev server (--providers-dir): Microsoft Entra ID (client
// secret, certificate credentials with x5t / x5t#S256 / x5c, PKCS#12, federated assertions)
// and Google service accounts (the JWT bearer grant). The server generates every key,
// certificate and file and describes them in providers.json; its /_dev/last-assertion shows
// the header and claims of the last assertion it received, so these tests check what was sent.

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

// providersManifest is DIR/providers.json (the part these tests read).
type providersManifest struct {
	Entra struct {
		Tenant       string `json:"tenant"`
		TokenURL     string `json:"token_url"`
		Scope        string `json:"scope"`
		SecretClient struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"secret_client"`
		CertClient struct {
			ClientID            string `json:"client_id"`
			KeyPEM              string `json:"key_pem"`
			CertPEM             string `json:"cert_pem"`
			PFX                 string `json:"pfx"`
			PFXPassword         string `json:"pfx_password"`
			PFXNoPassword       string `json:"pfx_no_password"`
			UnregisteredCertPEM string `json:"unregistered_cert_pem"`
			X5t                 string `json:"x5t"`
			X5tS256             string `json:"x5t_s256"`
		} `json:"cert_client"`
		FederatedClient struct {
			ClientID string `json:"client_id"`
			Subject  string `json:"subject"`
			Audience string `json:"audience"`
		} `json:"federated_client"`
	} `json:"entra"`
	Federation struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	} `json:"federation"`
	Google struct {
		TokenURL           string `json:"token_url"`
		ServiceAccountFile string `json:"service_account_file"`
		ClientEmail        string `json:"client_email"`
		Scope              string `json:"scope"`
	} `json:"google"`
	LastAssertion string `json:"last_assertion"`
}

// One provider server for the package, started by the first test that needs it (generating
// its RSA keys and certificates costs more than a test) and stopped by TestMain.
var providers struct {
	once     sync.Once
	manifest *providersManifest
	dir      string
	stop     func()
	err      error
}

func providerServer(t testing.TB) *providersManifest {
	t.Helper()
	m, err := startProviders()
	if err != nil {
		t.Fatalf("provider dev server: %v", err)
	}
	return m
}

func startProviders() (*providersManifest, error) {
	providers.once.Do(func() {
		dir, err := os.MkdirTemp("", "cctoken-go-providers-")
		if err != nil {
			providers.err = err
			return
		}
		providers.dir = dir
		fixtures := filepath.Join(dir, "fixtures")
		_, stop, err := runDevServer("--providers-dir", fixtures)
		if err != nil {
			providers.err = err
			return
		}
		providers.stop = stop
		raw, err := os.ReadFile(filepath.Join(fixtures, "providers.json"))
		if err != nil {
			providers.err = err
			return
		}
		var m providersManifest
		if err := json.Unmarshal(raw, &m); err != nil {
			providers.err = fmt.Errorf("providers.json: %w", err)
			return
		}
		providers.manifest = &m
	})
	return providers.manifest, providers.err
}

// stopProviders stops the provider server if a test started it (called by TestMain).
func stopProviders() {
	if providers.stop != nil {
		providers.stop()
	}
	if providers.dir != "" {
		os.RemoveAll(providers.dir)
	}
}

// getURL is the body of a GET of a URL the provider server gave out.
func getURL(t testing.TB, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %v", u, resp.StatusCode, err)
	}
	return b
}

// seenAssertion is /_dev/last-assertion: the last assertion the stand-ins received, decoded.
type seenAssertion struct {
	Header map[string]any  `json:"header"`
	Claims map[string]any  `json:"claims"`
	Form   json.RawMessage `json:"form"` // the form's parameter names
}

func lastAssertion(t testing.TB, m *providersManifest) seenAssertion {
	t.Helper()
	var s seenAssertion
	if err := json.Unmarshal(getURL(t, m.LastAssertion), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// formNames are the parameter names of the form that carried the assertion (a list, or an
// object keyed by name).
func (s seenAssertion) formNames(t testing.TB) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	var list []string
	if err := json.Unmarshal(s.Form, &list); err == nil {
		for _, n := range list {
			names[n] = true
		}
		return names
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(s.Form, &obj); err != nil {
		t.Fatalf("form: %s", s.Form)
	}
	for n := range obj {
		names[n] = true
	}
	return names
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyFragment is a long piece of a PEM private key's body: what would show if it leaked.
func keyFragment(t testing.TB, pemText []byte) string {
	t.Helper()
	block, _ := pem.Decode(pemText)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)[64:160]
}

// certBodies are the DER certificates of a PEM chain, standard base64 (what x5c carries).
func certBodies(pemText []byte) []string {
	var out []string
	for {
		var block *pem.Block
		block, pemText = pem.Decode(pemText)
		if block == nil {
			return out
		}
		out = append(out, base64.StdEncoding.EncodeToString(block.Bytes))
	}
}

// assertHidden fails if any secret shows in any rendering of the values or texts.
func assertHidden(t testing.TB, secrets map[string]string, values ...any) {
	t.Helper()
	for name, secret := range secrets {
		if secret == "" {
			t.Fatalf("empty secret %s", name)
		}
		for _, v := range values {
			texts := render(v)
			if err, ok := v.(error); ok {
				texts = append(texts, err.Error())
				var e *cctoken.Error
				if errors.As(err, &e) {
					texts = append(texts, e.Message, e.Description, e.URI, fmt.Sprintf("%+v", *e))
				}
			}
			for i, s := range texts {
				if strings.Contains(s, secret) {
					t.Fatalf("%s shows in rendering %d of a %T", name, i, v)
				}
			}
		}
	}
}

func entraConfig(m *providersManifest) cctoken.Config {
	return cctoken.Config{
		TokenURL: m.Entra.TokenURL,
		Scopes:   []string{m.Entra.Scope},
		Retry:    &cctoken.RetryPolicy{MaxAttempts: 1},
	}
}

func mustToken(t testing.TB, c *cctoken.Client) *cctoken.Token {
	t.Helper()
	tok, err := c.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func federatedJWT(t testing.TB, m *providersManifest, ttl int) string {
	t.Helper()
	return strings.TrimSpace(string(getURL(t, m.Federation.TokenEndpoint+"?"+url.Values{"ttl": {fmt.Sprint(ttl)}}.Encode())))
}

// -- Entra ID -------------------------------------------------------------------------------

func TestEntraClientSecret(t *testing.T) {
	m := providerServer(t)
	cfg := entraConfig(m)
	cfg.ClientID, cfg.ClientSecret = m.Entra.SecretClient.ClientID, m.Entra.SecretClient.ClientSecret
	c := newClient(t, cfg)
	tok := mustToken(t, c)
	if tok.TokenType != "Bearer" || tok.ExpiresIn() < 3000*time.Second {
		t.Fatalf("token %v", tok)
	}
	assertHidden(t, map[string]string{"secret": cfg.ClientSecret, "token": tok.AccessToken}, cfg, tok)
}

func TestEntraWrongClientSecretIsAADSTS7000215(t *testing.T) {
	m := providerServer(t)
	cfg := entraConfig(m)
	cfg.ClientID = m.Entra.SecretClient.ClientID
	cfg.ClientSecret = "wrong-" + m.Entra.SecretClient.ClientSecret
	cfg.FailureCooldown = -1
	_, err := newClient(t, cfg).Token()
	var e *cctoken.Error
	if !errors.As(err, &e) || !errors.Is(err, cctoken.ErrInvalidClient) || e.HTTPStatus != 401 ||
		!strings.HasPrefix(e.Description, "AADSTS7000215: ") {
		t.Fatalf("Token: %v, want invalid_client AADSTS7000215 with HTTP 401", err)
	}
	assertHidden(t, map[string]string{"wrong": cfg.ClientSecret, "secret": m.Entra.SecretClient.ClientSecret}, err)
}

func TestEntraRefusesAnAssertionValidForTooLong(t *testing.T) {
	// Microsoft documents a short lifetime for certificate assertions (5-10 minutes); the
	// stand-in refuses more than 10 with AADSTS700024, as Entra does.
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PKCS12File, cfg.PKCS12Password = cc.PFX, cc.PFXPassword
	cfg.AssertionLifetime = time.Hour
	_, err := newClient(t, cfg).Token()
	var e *cctoken.Error
	if !errors.As(err, &e) || !errors.Is(err, cctoken.ErrInvalidClient) || !strings.HasPrefix(e.Description, "AADSTS700024: ") {
		t.Fatalf("Token: %v, want invalid_client AADSTS700024", err)
	}
	assertHidden(t, map[string]string{"password": cc.PFXPassword}, err)
	cfg.AssertionLifetime = 5 * time.Minute
	mustToken(t, newClient(t, cfg))
}

func TestEntraCertificateX5tRS256(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PrivateKeyPEM = readFile(t, cc.KeyPEM)
	cfg.AssertionCertificatePEM = readFile(t, cc.CertPEM)
	mustToken(t, newClient(t, cfg))

	seen := lastAssertion(t, m)
	h, c := seen.Header, seen.Claims
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["x5t"] != cc.X5t {
		t.Fatalf("header %v, want RS256, JWT and x5t %s", h, cc.X5t)
	}
	if _, ok := h["x5t#S256"]; ok {
		t.Fatalf("header %v has x5t#S256 by default", h)
	}
	if _, ok := h["x5c"]; ok {
		t.Fatalf("header %v has x5c by default", h)
	}
	if c["aud"] != m.Entra.TokenURL || c["iss"] != cc.ClientID || c["sub"] != cc.ClientID || c["jti"] == "" {
		t.Fatalf("claims %v", c)
	}
	if exp, _ := c["exp"].(float64); exp < float64(time.Now().Unix()) {
		t.Fatalf("exp %v", c["exp"])
	}
	names := seen.formNames(t)
	if !names["client_assertion"] || !names["client_assertion_type"] || names["client_secret"] {
		t.Fatalf("form %s", seen.Form)
	}
	assertHidden(t, map[string]string{"key": keyFragment(t, cfg.PrivateKeyPEM)}, cfg)
}

func TestEntraCertificateX5tS256PS256(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PrivateKeyPEM = readFile(t, cc.KeyPEM)
	cfg.AssertionCertificatePEM = readFile(t, cc.CertPEM)
	cfg.Thumbprint = cctoken.ThumbprintX5tS256
	cfg.SigningAlg = cctoken.PS256
	mustToken(t, newClient(t, cfg))
	h := lastAssertion(t, m).Header
	if h["alg"] != "PS256" || h["x5t#S256"] != cc.X5tS256 {
		t.Fatalf("header %v, want PS256 and x5t#S256 %s", h, cc.X5tS256)
	}
	if _, ok := h["x5t"]; ok {
		t.Fatalf("header %v has x5t", h)
	}
}

func TestEntraCertificateBothThumbprintsAndX5c(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PrivateKeyPEM = readFile(t, cc.KeyPEM)
	cfg.AssertionCertificatePEM = readFile(t, cc.CertPEM)
	cfg.Thumbprint = cctoken.ThumbprintBoth
	cfg.X5c = true
	mustToken(t, newClient(t, cfg))
	h := lastAssertion(t, m).Header
	if h["x5t"] != cc.X5t || h["x5t#S256"] != cc.X5tS256 {
		t.Fatalf("header %v", h)
	}
	// RFC 7515 §4.1.6: standard base64 DER certificates, leaf first, the whole chain.
	var x5c []string
	list, _ := h["x5c"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		x5c = append(x5c, s)
	}
	if want := certBodies(cfg.AssertionCertificatePEM); len(want) < 2 || !reflect.DeepEqual(x5c, want) {
		t.Fatalf("x5c has %d certificates, want the chain of %d in order", len(x5c), len(want))
	}
}

func TestEntraPKCS12File(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PKCS12File = cc.PFX
	cfg.PKCS12Password = cc.PFXPassword
	mustToken(t, newClient(t, cfg))
	if h := lastAssertion(t, m).Header; h["x5t"] != cc.X5t {
		t.Fatalf("header %v", h)
	}
	if s := fmt.Sprintf("%+v", cfg); !strings.Contains(s, fmt.Sprintf("PKCS12File:%q", cc.PFX)) ||
		!strings.Contains(s, `PKCS12Password:"[redacted]"`) {
		t.Fatalf("%%+v = %s", s)
	}
	assertHidden(t, map[string]string{"password": cc.PFXPassword}, cfg)

	// Without a password.
	cfg.PKCS12File, cfg.PKCS12Password = cc.PFXNoPassword, ""
	mustToken(t, newClient(t, cfg))
	if h := lastAssertion(t, m).Header; h["x5t"] != cc.X5t {
		t.Fatalf("header %v", h)
	}
}

func TestEntraPKCS12DER(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PKCS12DER = readFile(t, cc.PFX)
	cfg.PKCS12Password = cc.PFXPassword
	cfg.Thumbprint = cctoken.ThumbprintX5tS256
	mustToken(t, newClient(t, cfg))
	if h := lastAssertion(t, m).Header; h["x5t#S256"] != cc.X5tS256 {
		t.Fatalf("header %v", h)
	}
	if s := fmt.Sprintf("%v", cfg); !strings.Contains(s, `PKCS12DER:"[redacted]"`) || !strings.Contains(s, "Thumbprint:x5t#S256") {
		t.Fatalf("%%v = %s", s)
	}
}

func TestEntraWrongPKCS12Password(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PKCS12File = cc.PFX
	cfg.PKCS12Password = "not-the-" + cc.PFXPassword
	_, err := cctoken.New(cfg)
	if !errors.Is(err, cctoken.ErrConfig) || !strings.Contains(strings.ToLower(err.Error()), "pkcs12") {
		t.Fatalf("New: %v, want a config error naming pkcs12", err)
	}
	assertHidden(t, map[string]string{"wrong": cfg.PKCS12Password, "password": cc.PFXPassword}, err)
}

func TestEntraUnregisteredCertificateIsRefusedWithTheAADSTSCode(t *testing.T) {
	m := providerServer(t)
	cc := m.Entra.CertClient
	cfg := entraConfig(m)
	cfg.ClientID = cc.ClientID
	cfg.PrivateKeyPEM = readFile(t, cc.KeyPEM)
	cfg.AssertionCertificatePEM = readFile(t, cc.UnregisteredCertPEM)
	_, err := newClient(t, cfg).Token()
	var e *cctoken.Error
	if !errors.As(err, &e) || !errors.Is(err, cctoken.ErrOAuth) {
		t.Fatalf("Token: %v, want an OAuth error", err)
	}
	if !errors.Is(err, cctoken.ErrInvalidClient) || (e.HTTPStatus != 400 && e.HTTPStatus != 401) {
		t.Fatalf("error %q HTTP %d, want invalid_client with 400/401", e.OAuthError, e.HTTPStatus)
	}
	if !regexp.MustCompile(`^AADSTS\d+: `).MatchString(e.Description) {
		t.Fatalf("description %q, want the AADSTS code first", e.Description)
	}
	if h := lastAssertion(t, m).Header; h["x5t"] == cc.X5t {
		t.Fatal("the assertion named the registered certificate")
	}
	assertHidden(t, map[string]string{"key": keyFragment(t, cfg.PrivateKeyPEM)}, err)
}

func TestCertificateOfAnotherKeyIsAConfigError(t *testing.T) {
	m := providerServer(t)
	var sa struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(readFile(t, m.Google.ServiceAccountFile), &sa); err != nil {
		t.Fatal(err)
	}
	cfg := entraConfig(m)
	cfg.ClientID = m.Entra.CertClient.ClientID
	cfg.PrivateKeyPEM = []byte(sa.PrivateKey)
	cfg.AssertionCertificatePEM = readFile(t, m.Entra.CertClient.CertPEM)
	_, err := cctoken.New(cfg)
	if !errors.Is(err, cctoken.ErrConfig) {
		t.Fatalf("New: %v, want a config error", err)
	}
	assertHidden(t, map[string]string{"key": keyFragment(t, cfg.PrivateKeyPEM)}, err)
}

// -- Entra ID: federated credentials (workload identity) -----------------------------------

func TestFederatedAssertionFileIsRereadBeforeEveryRequest(t *testing.T) {
	m := providerServer(t)
	fc := m.Entra.FederatedClient
	path := filepath.Join(t.TempDir(), "azure-identity-token")
	first := federatedJWT(t, m, 600)
	if err := os.WriteFile(path, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := entraConfig(m)
	cfg.ClientID = fc.ClientID
	cfg.ClientAssertionFile = path
	c := newClient(t, cfg)
	tok := mustToken(t, c)
	seen := lastAssertion(t, m)
	if !reflect.DeepEqual(seen.Claims, jwtClaims(t, first)) {
		t.Fatalf("claims %v, want the file's", seen.Claims)
	}
	if seen.Claims["sub"] != fc.Subject || seen.Claims["aud"] != fc.Audience {
		t.Fatalf("claims %v", seen.Claims)
	}
	if names := seen.formNames(t); !names["client_assertion"] || !names["client_assertion_type"] {
		t.Fatalf("form %s", seen.Form)
	}

	// The platform rotates the file; the next request sends the new one.
	second := federatedJWT(t, m, 900)
	if reflect.DeepEqual(jwtClaims(t, first), jwtClaims(t, second)) {
		t.Fatal("the two federated tokens have the same claims")
	}
	if err := os.WriteFile(path, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Invalidate(tok)
	mustToken(t, c)
	if claims := lastAssertion(t, m).Claims; !reflect.DeepEqual(claims, jwtClaims(t, second)) {
		t.Fatalf("claims %v, want the rewritten file's", claims)
	}
	if s := fmt.Sprintf("%+v", cfg); !strings.Contains(s, fmt.Sprintf("ClientAssertionFile:%q", path)) {
		t.Fatalf("%%+v = %s", s)
	}
}

func TestExpiredFederatedAssertionNamesThePath(t *testing.T) {
	m := providerServer(t)
	path := filepath.Join(t.TempDir(), "expired-token")
	expired := federatedJWT(t, m, -120)
	if err := os.WriteFile(path, []byte(expired), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := entraConfig(m)
	cfg.ClientID = m.Entra.FederatedClient.ClientID
	cfg.ClientAssertionFile = path
	// Refused by New or by the request (the file is read before every request).
	err := tokenErr(cfg)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(strings.ToLower(err.Error()), "expired") {
		t.Fatalf("got %v, want an error naming %s as expired", err, path)
	}
	assertHidden(t, map[string]string{"assertion": expired, "payload": strings.Split(expired, ".")[1]}, err)
}

func TestMissingFederatedAssertionFileNamesThePath(t *testing.T) {
	m := providerServer(t)
	cfg := entraConfig(m)
	cfg.ClientID = m.Entra.FederatedClient.ClientID
	cfg.ClientAssertionFile = filepath.Join(t.TempDir(), "not-written-yet")
	if err := tokenErr(cfg); err == nil || !strings.Contains(err.Error(), cfg.ClientAssertionFile) {
		t.Fatalf("got %v, want an error naming the path", err)
	}
}

// tokenErr is the error of New or, if it succeeds, of the first Token.
func tokenErr(cfg cctoken.Config) error {
	c, err := cctoken.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Token()
	return err
}

// -- Google service accounts -------------------------------------------------------------------

type serviceAccount struct {
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
}

func TestGoogleServiceAccountFile(t *testing.T) {
	m := providerServer(t)
	g := m.Google
	var sa serviceAccount
	if err := json.Unmarshal(readFile(t, g.ServiceAccountFile), &sa); err != nil {
		t.Fatal(err)
	}
	cfg := cctoken.Config{ServiceAccountFile: g.ServiceAccountFile, Scopes: []string{g.Scope}}
	tok := mustToken(t, newClient(t, cfg))
	if !strings.HasPrefix(tok.AccessToken, "ya29.") || tok.TokenType != "Bearer" {
		t.Fatalf("token %v", tok)
	}
	seen := lastAssertion(t, m)
	h, c := seen.Header, seen.Claims
	if h["alg"] != "RS256" || h["kid"] != sa.PrivateKeyID {
		t.Fatalf("header %v", h)
	}
	if c["iss"] != g.ClientEmail || c["scope"] != g.Scope || c["aud"] != g.TokenURL || g.TokenURL != sa.TokenURI {
		t.Fatalf("claims %v", c)
	}
	if life := c["exp"].(float64) - c["iat"].(float64); life <= 0 || life > 3600 {
		t.Fatalf("exp - iat = %v", life)
	}
	if _, ok := c["sub"]; ok {
		t.Fatalf("claims %v have sub", c)
	}
	// RFC 7523 §2.1: the grant carries the assertion; no client authentication, no scope param.
	names := seen.formNames(t)
	if !names["grant_type"] || !names["assertion"] || names["client_assertion"] || names["client_secret"] || names["scope"] {
		t.Fatalf("form %s", seen.Form)
	}
}

func TestGoogleServiceAccountJSONWithSubject(t *testing.T) {
	m := providerServer(t)
	g := m.Google
	raw := readFile(t, g.ServiceAccountFile)
	var sa serviceAccount
	if err := json.Unmarshal(raw, &sa); err != nil {
		t.Fatal(err)
	}
	cfg := cctoken.Config{
		ServiceAccountJSON: raw,
		Scopes:             []string{g.Scope, "https://www.googleapis.com/auth/userinfo.email"},
		Subject:            "admin@example.com",
	}
	if tok := mustToken(t, newClient(t, cfg)); !strings.HasPrefix(tok.AccessToken, "ya29.") {
		t.Fatal("not a Google-style token")
	}
	c := lastAssertion(t, m).Claims
	if c["sub"] != "admin@example.com" || c["scope"] != g.Scope+" https://www.googleapis.com/auth/userinfo.email" {
		t.Fatalf("claims %v", c)
	}
	if s := fmt.Sprintf("%+v", cfg); !strings.Contains(s, `ServiceAccountJSON:"[redacted]"`) {
		t.Fatalf("%%+v = %s", s)
	}
	assertHidden(t, map[string]string{"key": keyFragment(t, []byte(sa.PrivateKey)), "id": sa.PrivateKeyID}, cfg, &cfg)
}

func TestJWTBearerGrantWithExplicitOptions(t *testing.T) {
	m := providerServer(t)
	var sa serviceAccount
	if err := json.Unmarshal(readFile(t, m.Google.ServiceAccountFile), &sa); err != nil {
		t.Fatal(err)
	}
	cfg := cctoken.Config{
		TokenURL:          m.Google.TokenURL,
		ClientID:          sa.ClientEmail,
		GrantType:         cctoken.GrantJWTBearer,
		PrivateKeyPEM:     []byte(sa.PrivateKey),
		KeyID:             sa.PrivateKeyID,
		Scopes:            []string{m.Google.Scope},
		AssertionLifetime: time.Hour,
	}
	mustToken(t, newClient(t, cfg))
	c := lastAssertion(t, m).Claims
	if c["exp"].(float64)-c["iat"].(float64) != 3600 {
		t.Fatalf("claims %v", c)
	}
	if s := fmt.Sprintf("%v", cfg); !strings.Contains(s, "GrantType:jwt_bearer") {
		t.Fatalf("%%v = %s", s)
	}
}

func TestGoogleRefusesAnUnknownKey(t *testing.T) {
	m := providerServer(t)
	var info map[string]any
	if err := json.Unmarshal(readFile(t, m.Google.ServiceAccountFile), &info); err != nil {
		t.Fatal(err)
	}
	other := readFile(t, m.Entra.CertClient.KeyPEM)
	info["private_key"] = string(other)
	raw, _ := json.Marshal(info)
	cfg := cctoken.Config{ServiceAccountJSON: raw, Scopes: []string{m.Google.Scope}, Retry: &cctoken.RetryPolicy{MaxAttempts: 1}}
	_, err := newClient(t, cfg).Token()
	var e *cctoken.Error
	if !errors.As(err, &e) || !errors.Is(err, cctoken.ErrInvalidGrant) || e.Description != "Invalid JWT Signature." {
		t.Fatalf("Token: %v, want Google's invalid_grant", err)
	}
	assertHidden(t, map[string]string{"key": keyFragment(t, other)}, err)
}

func TestServiceAccountFileMissingAField(t *testing.T) {
	m := providerServer(t)
	for _, field := range []string{"type", "client_email", "private_key", "private_key_id", "token_uri"} {
		t.Run(field, func(t *testing.T) {
			var info map[string]any
			if err := json.Unmarshal(readFile(t, m.Google.ServiceAccountFile), &info); err != nil {
				t.Fatal(err)
			}
			key, _ := info["private_key"].(string)
			delete(info, field)
			raw, _ := json.Marshal(info)
			path := filepath.Join(t.TempDir(), "sa.json")
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := cctoken.New(cctoken.Config{ServiceAccountFile: path, Scopes: []string{"s"}})
			if !errors.Is(err, cctoken.ErrConfig) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), path) {
				t.Fatalf("New: %v, want a config error naming %s and %s", err, field, path)
			}
			if field != "private_key" {
				assertHidden(t, map[string]string{"key": keyFragment(t, []byte(key))}, err)
			}
			_, err = cctoken.New(cctoken.Config{ServiceAccountJSON: raw, Scopes: []string{"s"}})
			if !errors.Is(err, cctoken.ErrConfig) || !strings.Contains(err.Error(), field) {
				t.Fatalf("New (JSON): %v, want a config error naming %s", err, field)
			}
		})
	}
}

// -- Config checks (no server) --------------------------------------------------------------

func TestProviderOptionsCheckedByTheBinding(t *testing.T) {
	base := cctoken.Config{TokenURL: "https://login.example.com/t/oauth2/v2.0/token", ClientID: "app"}
	cases := map[string]struct {
		edit  func(*cctoken.Config)
		field string
	}{
		"password alone": {func(c *cctoken.Config) { c.PKCS12Password = "p" }, "PKCS12Password"},
		"file and der":   {func(c *cctoken.Config) { c.PKCS12File, c.PKCS12DER = "a.pfx", []byte{1} }, "PKCS12File"},
		"sa both": {func(c *cctoken.Config) {
			c.ServiceAccountFile, c.ServiceAccountJSON = "a.json", []byte("{}")
		}, "ServiceAccountFile"},
		"thumbprint":  {func(c *cctoken.Config) { c.Thumbprint = 9 }, "Thumbprint"},
		"grant":       {func(c *cctoken.Config) { c.GrantType = -1 }, "GrantType"},
		"nul path":    {func(c *cctoken.Config) { c.ClientAssertionFile = "a\x00b" }, "ClientAssertionFile"},
		"nul sa json": {func(c *cctoken.Config) { c.ServiceAccountJSON = []byte("{\x00}") }, "ServiceAccountJSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			_, err := cctoken.New(cfg)
			if !errors.Is(err, cctoken.ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New: %v, want a config error naming %s", err, tc.field)
			}
		})
	}
	// A thumbprint or x5c without a certificate: refused by the library.
	for _, edit := range []func(*cctoken.Config){
		func(c *cctoken.Config) { c.Thumbprint = cctoken.ThumbprintX5tS256 },
		func(c *cctoken.Config) { c.X5c = true },
	} {
		cfg := base
		cfg.ClientSecret = "s"
		edit(&cfg)
		if _, err := cctoken.New(cfg); !errors.Is(err, cctoken.ErrConfig) {
			t.Fatalf("New(%v): %v, want a config error", cfg, err)
		}
	}
}

func TestProviderConfigFormattingRedactsSecrets(t *testing.T) {
	cfg := cctoken.Config{
		ClientID:                "app",
		AssertionCertificatePEM: []byte("certificate"),
		PKCS12File:              "/etc/app.pfx",
		PKCS12Password:          "pfx-password-Zx81",
		PKCS12DER:               []byte("pfx-der-Zx81"),
		Thumbprint:              cctoken.ThumbprintBoth,
		X5c:                     true,
		ClientAssertionFile:     "/var/run/secrets/token",
		GrantType:               cctoken.GrantJWTBearer,
		Subject:                 "admin@example.com",
		ServiceAccountFile:      "/etc/sa.json",
		ServiceAccountJSON:      []byte(`{"private_key":"sa-key-Zx81"}`),
	}
	for _, x := range []any{cfg, &cfg, []cctoken.Config{cfg}} {
		for i, s := range render(x) {
			if strings.Contains(s, "Zx81") {
				t.Fatalf("rendering %d of %T shows a secret", i, x)
			}
		}
	}
	s := fmt.Sprintf("%+v", cfg)
	for _, want := range []string{
		"AssertionCertificatePEM:[11 bytes]", `PKCS12File:"/etc/app.pfx"`, `PKCS12Password:"[redacted]"`,
		`PKCS12DER:"[redacted]"`, "Thumbprint:both", "X5c:true", `ClientAssertionFile:"/var/run/secrets/token"`,
		"GrantType:jwt_bearer", `Subject:"admin@example.com"`, `ServiceAccountFile:"/etc/sa.json"`,
		`ServiceAccountJSON:"[redacted]"`,
	} {
		if !strings.Contains(s, want) {
			t.Fatalf("%%+v = %s, want it to contain %s", s, want)
		}
	}
}

func TestProviderEnumNames(t *testing.T) {
	for v, want := range map[fmt.Stringer]string{
		cctoken.ThumbprintDefault:      "default",
		cctoken.ThumbprintX5t:          "x5t",
		cctoken.ThumbprintX5tS256:      "x5t#S256",
		cctoken.ThumbprintBoth:         "both",
		cctoken.ThumbprintNone:         "none",
		cctoken.Thumbprint(7):          "Thumbprint(7)",
		cctoken.GrantClientCredentials: "client_credentials",
		cctoken.GrantJWTBearer:         "jwt_bearer",
		cctoken.GrantType(5):           "GrantType(5)",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}
