package cctoken_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

func newECKey(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func selfSignedCert(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cctoken-go-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ecPoint is the base64url x and y of a P-256 public key, as in a JWK.
func ecPoint(t *testing.T, key *ecdsa.PrivateKey) (x, y string) {
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	b := pub.Bytes() // 0x04 || X || Y
	return base64.RawURLEncoding.EncodeToString(b[1:33]), base64.RawURLEncoding.EncodeToString(b[33:])
}

func decodeJWTPart(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every Config field reaches its setter: a configuration using all of them is accepted, and
// the ones visible on the wire are checked there.
func TestEveryConfigFieldIsApplied(t *testing.T) {
	signingKey, signingPEM := newECKey(t)
	dpopKey, dpopPEM := newECKey(t)
	certKey, certKeyPEM := newECKey(t)
	cert := selfSignedCert(t, certKey)

	cfg := cctoken.Config{
		TokenURL:          tokenURL,
		ClientID:          clientID,
		AuthMethod:        cctoken.PrivateKeyJWT,
		Scopes:            []string{"read"},
		Audience:          "https://api.example",
		Resources:         []string{"https://rs.example/"},
		ExtraParams:       map[string]string{"tenant": "t1"},
		ConnectTimeout:    2 * time.Second,
		RequestTimeout:    3 * time.Second,
		CallTimeout:       4 * time.Second,
		DefaultLifetime:   time.Minute,
		FailureCooldown:   -1,
		Refresh:           &cctoken.RefreshPolicy{Ratio: 0.2, MinWindow: time.Second, Jitter: 0},
		Retry:             &cctoken.RetryPolicy{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
		RootCAPEM:         cert,
		ClientCertPEM:     cert,
		ClientKeyPEM:      certKeyPEM,
		UserAgent:         "cctoken-go-test/2",
		AllowInsecureHTTP: true,
		BackgroundRefresh: true,
		PrivateKeyPEM:     signingPEM,
		KeyID:             "key-1",
		SigningAlg:        cctoken.ES256,
		AssertionAudience: cctoken.AudienceCustom("https://as.example"),
		AssertionLifetime: 30 * time.Second,
		DPoPKeyPEM:        dpopPEM,
	}
	c := newClient(t, cfg)

	// The dev server does not support private_key_jwt, but it records the request.
	resetServer(t)
	if _, err := c.Token(); !errors.Is(err, cctoken.ErrInvalidClient) {
		t.Fatalf("err = %v, want invalid_client from a server without private_key_jwt", err)
	}
	r := lastRequest(t)
	if got := r.param("client_assertion_type"); len(got) != 1 || got[0] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Fatalf("client_assertion_type = %v", got)
	}
	assertion := r.param("client_assertion")
	if len(assertion) != 1 {
		t.Fatalf("client_assertion = %v", assertion)
	}
	header, claims := decodeJWTPart(t, assertion[0], 0), decodeJWTPart(t, assertion[0], 1)
	if header["alg"] != "ES256" || header["kid"] != "key-1" {
		t.Fatalf("assertion header %v", header)
	}
	if claims["iss"] != clientID || claims["sub"] != clientID || claims["aud"] != "https://as.example" {
		t.Fatalf("assertion claims %v", claims)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 30 {
		t.Fatalf("assertion lifetime %vs, want 30s", exp-iat)
	}
	if r.Headers["user-agent"] != "cctoken-go-test/2" || r.param("tenant")[0] != "t1" {
		t.Fatalf("request %+v", r)
	}

	// The DPoP key is the one given: its RFC 7638 thumbprint matches.
	x, y := ecPoint(t, dpopKey)
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, x, y))
	if jkt, err := c.DPoPJKT(); err != nil || jkt != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatalf("DPoPJKT() = %q, %v; want the thumbprint of DPoPKeyPEM", jkt, err)
	}

	// The same key as a JWK.
	x, y = ecPoint(t, signingKey)
	d := base64.RawURLEncoding.EncodeToString(signingKey.D.FillBytes(make([]byte, 32)))
	jwk := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":"%s","y":"%s","d":"%s"}`, x, y, d)
	newClient(t, cctoken.Config{TokenURL: tokenURL, ClientID: clientID, PrivateKeyJWK: jwk})
	_, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, PrivateKeyJWK: `{"kty":"EC","d":"jwk-secret-Mn5"}`})
	if !errors.Is(err, cctoken.ErrConfig) {
		t.Fatalf("bad JWK: %v, want ErrConfig", err)
	}
	assertNoSecret(t, err, "jwk-secret-Mn5")
}

func TestClientSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecretFile: path, RereadSecretFile: true})
	tok, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}

	// Re-read before every request: a rotated (here: wrong) secret is used by the next one.
	if err := os.WriteFile(path, []byte("rotated-wrong-Lk2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Invalidate(tok)
	if _, err := c.Token(); !errors.Is(err, cctoken.ErrInvalidClient) {
		t.Fatalf("err = %v, want invalid_client with the rotated file", err)
	}
}
