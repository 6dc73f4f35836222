package cctoken

// #include <stdlib.h>
// #include "cctoken.h"
import "C"

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Config configures a Client. Zero values mean "the library's default"; every option is
// validated by New, whose error names the option at fault. Each field maps to one
// cct_config_* setter of cctoken.h.
//
// Formatting a Config (%v, %+v, %#v, String) prints only the fields that are set, with
// secrets and private keys redacted.
type Config struct {
	TokenURL string // the token endpoint: HTTPS, or http:// on a loopback host
	Issuer   string // instead of TokenURL: discover the endpoint (RFC 8414 / OpenID)

	ClientID         string
	ClientSecret     string `cctoken:"secret"`
	ClientSecretFile string // read at New (one trailing newline removed)
	RereadSecretFile bool   // read ClientSecretFile again before every token request
	// AuthMethod is how the client authenticates. The zero value, AuthAuto, lets the library
	// pick from the credentials given: private_key_jwt with a private key, tls_client_auth
	// with only a client certificate, client_secret_basic with a secret.
	AuthMethod AuthMethod

	Scopes      []string          // sent space-joined
	Audience    string            // the "audience" parameter
	Resources   []string          // RFC 8707 "resource" indicators (absolute URIs)
	ExtraParams map[string]string // more form parameters, sent in key order

	ConnectTimeout  time.Duration // DNS + TCP + TLS; default 5s
	RequestTimeout  time.Duration // one HTTP exchange; default 10s
	CallTimeout     time.Duration // one Token call, retries and waiting included; default 30s
	DefaultLifetime time.Duration // when the response has no expires_in; default 5m
	// FailureCooldown is how long a credential failure (invalid_client, ...) is repeated without
	// asking the server again. Default 5s; negative disables it.
	FailureCooldown time.Duration
	Refresh         *RefreshPolicy // nil: the defaults (DefaultRefreshPolicy)
	Retry           *RetryPolicy   // nil: the defaults (DefaultRetryPolicy)

	RootCAPEM []byte // more trusted CA certificates (PEM, one or more)
	// TrustStore is which CAs are trusted: the zero value TrustSystem is the OS store
	// (SSL_CERT_FILE / SSL_CERT_DIR honoured) plus RootCAPEM.
	TrustStore TrustStore
	// Proxy is "" or "env" (HTTPS_PROXY, NO_PROXY, ... read at New), "none", or a URL
	// "http://[user:password@]host:port". Its password is never printed (Format, errors).
	Proxy             string `cctoken:"url"`
	ClientCertPEM     []byte // TLS client certificate chain (PEM, leaf first), RFC 8705
	ClientKeyPEM      []byte `cctoken:"secret"` // its private key (PEM)
	UserAgent         string // default "cctoken/<version>"
	AllowInsecureHTTP bool   // http:// on non-loopback hosts: test networks only
	BackgroundRefresh bool   // refresh ahead of expiry on a library thread, even without calls

	// Client assertions (client_secret_jwt, private_key_jwt; RFC 7523).
	PrivateKeyPEM     []byte `cctoken:"secret"` // PKCS#8 RSA/P-256/Ed25519 or PKCS#1 RSA
	PrivateKeyJWK     string `cctoken:"secret"` // or the key as a private JWK
	KeyID             string // the "kid" header
	SigningAlg        SigningAlg
	AssertionAudience AssertionAudience
	AssertionLifetime time.Duration // default 1m

	// The certificate of the private_key_jwt key, named in the assertion header (Microsoft
	// Entra ID certificate credentials): its PEM chain (leaf first) next to PrivateKeyPEM, or
	// key and chain from a PKCS#12 / PFX file (PKCS12File) or its bytes (PKCS12DER).
	AssertionCertificatePEM []byte
	PKCS12File              string
	PKCS12Password          string `cctoken:"secret"` // "" = no password
	PKCS12DER               []byte `cctoken:"secret"`
	// Thumbprint is which header names the certificate: the zero value ThumbprintDefault is
	// x5t (SHA-1) with a certificate; ThumbprintX5tS256 is what Microsoft now documents (PS256).
	Thumbprint Thumbprint
	X5c        bool // also send the chain as the x5c header (needs a certificate)
	// ClientAssertionFile is a federated credential: a JWT that the platform (Kubernetes
	// workload identity, GitHub Actions OIDC, SPIFFE) writes to this file, re-read before every
	// token request and sent as client_assertion. A missing or expired file is an error naming
	// the path, never its contents.
	ClientAssertionFile string

	// GrantType: the zero value GrantClientCredentials, or GrantJWTBearer (RFC 7523 §2.1: the
	// signed JWT is the grant; scopes go in its "scope" claim).
	GrantType GrantType
	Subject   string // the JWT bearer "sub" (Google domain-wide delegation)
	// A Google service-account JSON key (file, or its contents): sets GrantJWTBearer, the
	// client ID (client_email), the key, KeyID (private_key_id) and the token URL (token_uri)
	// unless TokenURL or Issuer is set. A missing field fails New naming the field.
	ServiceAccountFile string
	ServiceAccountJSON []byte `cctoken:"secret"`

	// DPoP (RFC 9449): sender-constrained tokens. DPoPKeyPEM (PKCS#8, P-256 or Ed25519)
	// implies DPoP; without it a P-256 key is generated per client.
	DPoP       bool
	DPoPKeyPEM []byte `cctoken:"secret"`

	// Logger receives the library's events as slog records (see events.go); nil: none.
	Logger *slog.Logger
	// Shared cache stores: one token request per lifetime for a host (CacheDir, a directory
	// created 0700) or a fleet (RedisURL: redis://[user:password@]host:port[/db] or rediss://).
	// Set at most one. Entries are encrypted under a key derived from the credential.
	CacheDir     string
	RedisURL     string        `cctoken:"secret"` // may hold a password
	RedisCAPEM   []byte        // CA certificate(s) a rediss:// server must chain to
	StoreTimeout time.Duration // bound on each store operation; default 200ms
}

// TrustStore is which certificate authorities the client trusts (CCT_TRUST_*).
type TrustStore int

const (
	// TrustSystem is the operating system's store, SSL_CERT_FILE / SSL_CERT_DIR honoured, plus
	// RootCAPEM (the zero value). With no variable set and an empty system store, the Mozilla
	// roots built into the library are used; a set variable that yields nothing fails New.
	TrustSystem     TrustStore = iota
	TrustBundled               // the Mozilla roots built into the library, plus RootCAPEM
	TrustRootCAOnly            // only RootCAPEM (at least one certificate)
)

var trustStores = [...]struct {
	c    C.cct_trust_store
	name string
}{
	TrustSystem:     {C.CCT_TRUST_SYSTEM, "system"},
	TrustBundled:    {C.CCT_TRUST_BUNDLED, "bundled"},
	TrustRootCAOnly: {C.CCT_TRUST_ROOT_CA_ONLY, "root_ca_only"},
}

func (s TrustStore) String() string {
	if s >= 0 && int(s) < len(trustStores) {
		return trustStores[s].name
	}
	return fmt.Sprintf("TrustStore(%d)", int(s))
}

// redactURL hides a URL's password ("http://user:***@host:port").
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.User(u.User.Username())
		return strings.Replace(u.String(), "@", ":***@", 1)
	}
	return u.String()
}

// AuthMethod is a client authentication method (CCT_AUTH_*).
type AuthMethod int

const (
	AuthAuto                AuthMethod = iota // chosen from the credentials (the zero value)
	ClientSecretBasic                         // HTTP Basic, form-encoded first (RFC 6749 §2.3.1)
	ClientSecretBasicRaw                      // HTTP Basic, id and secret as they are
	ClientSecretPost                          // client_id and client_secret in the body
	ClientSecretJWT                           // HS256 assertion signed with the secret
	PrivateKeyJWT                             // assertion signed with PrivateKeyPEM/JWK
	TLSClientAuth                             // PKI client certificate (RFC 8705 §2.1)
	SelfSignedTLSClientAuth                   // self-signed client certificate (RFC 8705 §2.2)
	AuthNone                                  // client_id only: a public client
)

var authMethods = [...]struct {
	c    C.cct_auth_method
	name string
}{
	AuthAuto:                {0, "auto"},
	ClientSecretBasic:       {C.CCT_AUTH_CLIENT_SECRET_BASIC, "client_secret_basic"},
	ClientSecretBasicRaw:    {C.CCT_AUTH_CLIENT_SECRET_BASIC_RAW, "client_secret_basic_raw"},
	ClientSecretPost:        {C.CCT_AUTH_CLIENT_SECRET_POST, "client_secret_post"},
	ClientSecretJWT:         {C.CCT_AUTH_CLIENT_SECRET_JWT, "client_secret_jwt"},
	PrivateKeyJWT:           {C.CCT_AUTH_PRIVATE_KEY_JWT, "private_key_jwt"},
	TLSClientAuth:           {C.CCT_AUTH_TLS_CLIENT_AUTH, "tls_client_auth"},
	SelfSignedTLSClientAuth: {C.CCT_AUTH_SELF_SIGNED_TLS_CLIENT_AUTH, "self_signed_tls_client_auth"},
	AuthNone:                {C.CCT_AUTH_NONE, "none"},
}

func (m AuthMethod) String() string {
	if m >= 0 && int(m) < len(authMethods) {
		return authMethods[m].name
	}
	return fmt.Sprintf("AuthMethod(%d)", int(m))
}

// SigningAlg is the JWS algorithm of client assertions (CCT_ALG_*). The zero value picks
// HS256 for client_secret_jwt and the key's natural algorithm for private_key_jwt.
type SigningAlg int

const (
	HS256 SigningAlg = iota + 1
	RS256
	PS256
	ES256
	EdDSA
)

var signingAlgs = [...]struct {
	c    C.cct_signing_alg
	name string
}{
	0:     {0, "default"},
	HS256: {C.CCT_ALG_HS256, "HS256"},
	RS256: {C.CCT_ALG_RS256, "RS256"},
	PS256: {C.CCT_ALG_PS256, "PS256"},
	ES256: {C.CCT_ALG_ES256, "ES256"},
	EdDSA: {C.CCT_ALG_EDDSA, "EdDSA"},
}

func (a SigningAlg) String() string {
	if a >= 0 && int(a) < len(signingAlgs) {
		return signingAlgs[a].name
	}
	return fmt.Sprintf("SigningAlg(%d)", int(a))
}

// AssertionAudience is the "aud" of client assertions. The zero value is the token
// endpoint URL; see AudienceIssuer and AudienceCustom.
type AssertionAudience struct {
	kind   C.cct_assertion_audience
	custom string
}

// AudienceIssuer makes the issuer identifier the audience (needs Config.Issuer).
var AudienceIssuer = AssertionAudience{kind: C.CCT_AUD_ISSUER}

// AudienceCustom makes aud the audience.
func AudienceCustom(aud string) AssertionAudience {
	return AssertionAudience{kind: C.CCT_AUD_CUSTOM, custom: aud}
}

func (a AssertionAudience) String() string {
	switch a.kind {
	case C.CCT_AUD_TOKEN_ENDPOINT:
		return "token_endpoint"
	case C.CCT_AUD_ISSUER:
		return "issuer"
	}
	return a.custom
}

// Thumbprint is which certificate thumbprint header(s) client assertions carry
// (CCT_THUMBPRINT_*; RFC 7515 §4.1.7, §4.1.8).
type Thumbprint int

const (
	ThumbprintDefault Thumbprint = iota // not set: x5t with a certificate (the zero value)
	ThumbprintX5t                       // x5t: base64url SHA-1 of the DER certificate
	ThumbprintX5tS256                   // x5t#S256: base64url SHA-256 of the DER certificate
	ThumbprintBoth                      // x5t and x5t#S256
	ThumbprintNone                      // neither (x5c alone, for example)
)

var thumbprints = [...]struct {
	c    C.cct_thumbprint
	name string
}{
	ThumbprintDefault: {0, "default"},
	ThumbprintX5t:     {C.CCT_THUMBPRINT_X5T, "x5t"},
	ThumbprintX5tS256: {C.CCT_THUMBPRINT_X5T_S256, "x5t#S256"},
	ThumbprintBoth:    {C.CCT_THUMBPRINT_BOTH, "both"},
	ThumbprintNone:    {C.CCT_THUMBPRINT_NONE, "none"},
}

func (t Thumbprint) String() string {
	if t >= 0 && int(t) < len(thumbprints) {
		return thumbprints[t].name
	}
	return fmt.Sprintf("Thumbprint(%d)", int(t))
}

// GrantType is the OAuth grant of token requests (CCT_GRANT_*).
type GrantType int

const (
	GrantClientCredentials GrantType = iota // grant_type=client_credentials (the zero value)
	GrantJWTBearer                          // urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523 §2.1)
)

var grantTypes = [...]struct {
	c    C.cct_grant_type
	name string
}{
	GrantClientCredentials: {C.CCT_GRANT_CLIENT_CREDENTIALS, "client_credentials"},
	GrantJWTBearer:         {C.CCT_GRANT_JWT_BEARER, "jwt_bearer"},
}

func (g GrantType) String() string {
	if g >= 0 && int(g) < len(grantTypes) {
		return grantTypes[g].name
	}
	return fmt.Sprintf("GrantType(%d)", int(g))
}

// RefreshPolicy sets the refresh-ahead window: the last max(Ratio × lifetime, MinWindow) of a
// token's life, capped at half of it; Jitter (0–1) spreads the refresh over that fraction of
// the window. A non-nil policy is used as given: start from DefaultRefreshPolicy.
type RefreshPolicy struct {
	Ratio     float64
	MinWindow time.Duration
	Jitter    float64
}

// DefaultRefreshPolicy returns the library's defaults (0.1, 1m, 0.25).
func DefaultRefreshPolicy() RefreshPolicy {
	return RefreshPolicy{Ratio: 0.1, MinWindow: time.Minute, Jitter: 0.25}
}

// RetryPolicy sets the retries of transient failures: at most MaxAttempts requests, with
// full-jitter exponential backoff from BaseDelay up to MaxDelay (and the server's
// Retry-After). A non-nil policy is used as given: start from DefaultRetryPolicy.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// DefaultRetryPolicy returns the library's defaults (3 attempts, 200ms, 5s).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}
}

// defaultCallTimeout mirrors the library's default, so that a context deadline can only
// shorten a call, never lengthen it (cct_client_get_token_timeout replaces the call timeout).
const defaultCallTimeout = 30 * time.Second

// toC builds the C configuration. The caller frees it with cct_config_free.
func (cfg *Config) toC() (*C.cct_config, error) {
	var p *C.cct_config
	var cerr *C.cct_error
	if st := C.cct_config_new(&p, &cerr); st != C.CCT_STATUS_OK {
		return nil, errorFrom(st, cerr)
	}
	b := &configBuilder{p: p}
	b.apply(cfg)
	if b.err != nil {
		C.cct_config_free(p)
		return nil, b.err
	}
	return p, nil
}

// configBuilder calls the setters in turn and keeps the first error.
type configBuilder struct {
	p   *C.cct_config
	err error
}

type setter func(p *C.cct_config, e **C.cct_error) C.cct_status

func (b *configBuilder) call(set setter) {
	if b.err != nil {
		return
	}
	var cerr *C.cct_error
	if st := set(b.p, &cerr); st != C.CCT_STATUS_OK {
		b.err = errorFrom(st, cerr)
	}
}

func (b *configBuilder) fail(field, reason string) {
	if b.err == nil {
		b.err = configError(field, reason)
	}
}

// str calls set with v as a C string (skipped when v is empty).
func (b *configBuilder) str(field, v string, set func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status) {
	if v == "" || b.err != nil {
		return
	}
	s, free, err := cString(field, v)
	if err != nil {
		b.err = err
		return
	}
	defer free()
	b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status { return set(p, s, e) })
}

// pem calls set with v's bytes (skipped when v is empty). The library copies them.
func (b *configBuilder) pem(v []byte, set func(p *C.cct_config, pem *C.uint8_t, n C.size_t, e **C.cct_error) C.cct_status) {
	if len(v) == 0 {
		return
	}
	b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status { return set(p, bytesPtr(v), C.size_t(len(v)), e) })
}

// millis converts a duration option; zero leaves the library's default, negative is refused.
func (b *configBuilder) millis(field string, d time.Duration, set func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status) {
	switch {
	case d < 0:
		b.fail(field, "negative duration")
	case d > 0:
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status { return set(p, durationMillis(d), e) })
	}
}

func (b *configBuilder) flag(v bool, set func(p *C.cct_config, v C.bool, e **C.cct_error) C.cct_status) {
	if v {
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status { return set(p, C.bool(true), e) })
	}
}

func (b *configBuilder) apply(cfg *Config) {
	b.str("TokenURL", cfg.TokenURL, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_token_url(p, s, e)
	})
	b.str("Issuer", cfg.Issuer, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_issuer(p, s, e)
	})
	b.str("ClientID", cfg.ClientID, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_client_id(p, s, e)
	})
	b.str("ClientSecret", cfg.ClientSecret, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_client_secret(p, s, e)
	})
	if cfg.ClientSecret != "" && cfg.ClientSecretFile != "" {
		b.fail("ClientSecretFile", "set ClientSecret or ClientSecretFile, not both")
	}
	if cfg.RereadSecretFile && cfg.ClientSecretFile == "" {
		b.fail("RereadSecretFile", "needs ClientSecretFile")
	}
	b.str("ClientSecretFile", cfg.ClientSecretFile, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_client_secret_file(p, s, C.bool(cfg.RereadSecretFile), e)
	})
	switch m := cfg.AuthMethod; {
	case m == AuthAuto:
	case m > AuthAuto && int(m) < len(authMethods):
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_auth_method(p, authMethods[m].c, e)
		})
	default:
		b.fail("AuthMethod", "unknown value "+m.String())
	}

	for _, s := range cfg.Scopes {
		if s == "" {
			b.fail("Scopes", "empty scope")
		}
		b.str("Scopes", s, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
			return C.cct_config_add_scope(p, s, e)
		})
	}
	b.str("Audience", cfg.Audience, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_audience(p, s, e)
	})
	for _, r := range cfg.Resources {
		if r == "" {
			b.fail("Resources", "empty resource")
		}
		b.str("Resources", r, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
			return C.cct_config_add_resource(p, s, e)
		})
	}
	// Sorted, so the same Config always sends the same request.
	for _, k := range slices.Sorted(maps.Keys(cfg.ExtraParams)) {
		if b.err != nil {
			break
		}
		if cfg.ExtraParams[k] == "" {
			b.fail("ExtraParams", "empty value for "+k)
			break
		}
		name, freeName, err := cString("ExtraParams", k)
		if err != nil {
			b.err = err
			break
		}
		b.str("ExtraParams", cfg.ExtraParams[k], func(p *C.cct_config, v *C.char, e **C.cct_error) C.cct_status {
			return C.cct_config_add_extra_param(p, name, v, e)
		})
		freeName()
	}

	b.millis("ConnectTimeout", cfg.ConnectTimeout, func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_connect_timeout_ms(p, ms, e)
	})
	b.millis("RequestTimeout", cfg.RequestTimeout, func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_request_timeout_ms(p, ms, e)
	})
	b.millis("CallTimeout", cfg.CallTimeout, func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_call_timeout_ms(p, ms, e)
	})
	b.millis("DefaultLifetime", cfg.DefaultLifetime, func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_default_lifetime_ms(p, ms, e)
	})
	if cfg.FailureCooldown != 0 {
		ms := C.uint64_t(0) // negative: disabled
		if cfg.FailureCooldown > 0 {
			ms = durationMillis(cfg.FailureCooldown)
		}
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_failure_cooldown_ms(p, ms, e)
		})
	}
	if r := cfg.Refresh; r != nil {
		if r.MinWindow < 0 {
			b.fail("Refresh.MinWindow", "negative duration")
		}
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_refresh_policy(p, C.double(r.Ratio), durationMillis(r.MinWindow), C.double(r.Jitter), e)
		})
	}
	if r := cfg.Retry; r != nil {
		if r.MaxAttempts < 0 || r.MaxAttempts > math.MaxUint32 {
			b.fail("Retry.MaxAttempts", "out of range")
		}
		if r.BaseDelay < 0 || r.MaxDelay < 0 {
			b.fail("Retry", "negative delay")
		}
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_retry_policy(p, C.uint32_t(r.MaxAttempts), durationMillis(r.BaseDelay), durationMillis(r.MaxDelay), e)
		})
	}

	b.pem(cfg.RootCAPEM, func(p *C.cct_config, pem *C.uint8_t, n C.size_t, e **C.cct_error) C.cct_status {
		return C.cct_config_add_root_ca_pem(p, pem, n, e)
	})
	switch ts := cfg.TrustStore; {
	case ts == TrustSystem:
	case ts > 0 && int(ts) < len(trustStores):
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_trust_store(p, trustStores[ts].c, e)
		})
	default:
		b.fail("TrustStore", "unknown value "+ts.String())
	}
	b.str("Proxy", cfg.Proxy, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_proxy(p, s, e)
	})
	if (len(cfg.ClientCertPEM) == 0) != (len(cfg.ClientKeyPEM) == 0) {
		b.fail("ClientCertPEM", "ClientCertPEM and ClientKeyPEM go together")
	} else if len(cfg.ClientCertPEM) > 0 {
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_client_certificate_pem(p,
				bytesPtr(cfg.ClientCertPEM), C.size_t(len(cfg.ClientCertPEM)),
				bytesPtr(cfg.ClientKeyPEM), C.size_t(len(cfg.ClientKeyPEM)), e)
		})
	}
	b.str("UserAgent", cfg.UserAgent, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_user_agent(p, s, e)
	})
	b.flag(cfg.AllowInsecureHTTP, func(p *C.cct_config, v C.bool, e **C.cct_error) C.cct_status {
		return C.cct_config_set_allow_insecure_http(p, v, e)
	})
	b.flag(cfg.BackgroundRefresh, func(p *C.cct_config, v C.bool, e **C.cct_error) C.cct_status {
		return C.cct_config_set_background_refresh(p, v, e)
	})

	b.pem(cfg.PrivateKeyPEM, func(p *C.cct_config, pem *C.uint8_t, n C.size_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_private_key_pem(p, pem, n, e)
	})
	b.str("PrivateKeyJWK", cfg.PrivateKeyJWK, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_private_key_jwk(p, s, e)
	})
	b.str("KeyID", cfg.KeyID, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_key_id(p, s, e)
	})
	switch a := cfg.SigningAlg; {
	case a == 0:
	case a > 0 && int(a) < len(signingAlgs):
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_signing_alg(p, signingAlgs[a].c, e)
		})
	default:
		b.fail("SigningAlg", "unknown value "+a.String())
	}
	switch aud := cfg.AssertionAudience; aud.kind {
	case C.CCT_AUD_TOKEN_ENDPOINT:
	case C.CCT_AUD_CUSTOM:
		if aud.custom == "" {
			b.fail("AssertionAudience", "empty custom audience")
		}
		b.str("AssertionAudience", aud.custom, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
			return C.cct_config_set_assertion_audience(p, aud.kind, s, e)
		})
	default:
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_assertion_audience(p, aud.kind, nil, e)
		})
	}
	b.millis("AssertionLifetime", cfg.AssertionLifetime, func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_assertion_lifetime_ms(p, ms, e)
	})

	b.applyProviders(cfg)

	b.flag(cfg.DPoP, func(p *C.cct_config, v C.bool, e **C.cct_error) C.cct_status {
		return C.cct_config_set_dpop(p, v, e)
	})
	b.pem(cfg.DPoPKeyPEM, func(p *C.cct_config, pem *C.uint8_t, n C.size_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_dpop_key_pem(p, pem, n, e)
	})

	b.str("CacheDir", cfg.CacheDir, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_cache_dir(p, s, e)
	})
	b.str("RedisURL", cfg.RedisURL, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_cache_redis_url(p, s, e)
	})
	b.pem(cfg.RedisCAPEM, func(p *C.cct_config, pem *C.uint8_t, n C.size_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_cache_redis_ca_pem(p, pem, n, e)
	})
	b.millis("StoreTimeout", cfg.StoreTimeout, func(p *C.cct_config, ms C.uint64_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_cache_store_timeout_ms(p, ms, e)
	})
}

// applyProviders sets the certificate, federated-assertion and JWT bearer options.
func (b *configBuilder) applyProviders(cfg *Config) {
	b.pem(cfg.AssertionCertificatePEM, func(p *C.cct_config, pem *C.uint8_t, n C.size_t, e **C.cct_error) C.cct_status {
		return C.cct_config_set_assertion_certificate_pem(p, pem, n, e)
	})
	switch {
	case cfg.PKCS12File != "" && len(cfg.PKCS12DER) > 0:
		b.fail("PKCS12File", "set PKCS12File or PKCS12DER, not both")
	case cfg.PKCS12Password != "" && cfg.PKCS12File == "" && len(cfg.PKCS12DER) == 0:
		b.fail("PKCS12Password", "needs PKCS12File or PKCS12DER")
	case cfg.PKCS12File != "" || len(cfg.PKCS12DER) > 0:
		// "" is no password: NULL.
		var password *C.char
		if cfg.PKCS12Password != "" {
			s, free, err := cString("PKCS12Password", cfg.PKCS12Password)
			if err != nil {
				b.fail("PKCS12Password", "contains a NUL byte")
				break
			}
			defer free()
			password = s
		}
		if len(cfg.PKCS12DER) > 0 {
			b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
				return C.cct_config_set_pkcs12_der(p, bytesPtr(cfg.PKCS12DER), C.size_t(len(cfg.PKCS12DER)), password, e)
			})
		} else {
			b.str("PKCS12File", cfg.PKCS12File, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
				return C.cct_config_set_pkcs12_file(p, s, password, e)
			})
		}
	}
	switch t := cfg.Thumbprint; {
	case t == ThumbprintDefault:
	case t > 0 && int(t) < len(thumbprints):
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_thumbprint(p, thumbprints[t].c, e)
		})
	default:
		b.fail("Thumbprint", "unknown value "+t.String())
	}
	b.flag(cfg.X5c, func(p *C.cct_config, v C.bool, e **C.cct_error) C.cct_status {
		return C.cct_config_set_x5c(p, v, e)
	})
	b.str("ClientAssertionFile", cfg.ClientAssertionFile, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_client_assertion_file(p, s, e)
	})
	switch g := cfg.GrantType; {
	case g == GrantClientCredentials:
	case g > 0 && int(g) < len(grantTypes):
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_grant_type(p, grantTypes[g].c, e)
		})
	default:
		b.fail("GrantType", "unknown value "+g.String())
	}
	b.str("Subject", cfg.Subject, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_subject(p, s, e)
	})
	if cfg.ServiceAccountFile != "" && len(cfg.ServiceAccountJSON) > 0 {
		b.fail("ServiceAccountFile", "set ServiceAccountFile or ServiceAccountJSON, not both")
	}
	b.str("ServiceAccountFile", cfg.ServiceAccountFile, func(p *C.cct_config, s *C.char, e **C.cct_error) C.cct_status {
		return C.cct_config_set_service_account_file(p, s, e)
	})
	if len(cfg.ServiceAccountJSON) > 0 && b.err == nil {
		// Straight from the bytes into wiped C memory: no Go string copy of the key lingers.
		s, free, err := cString("ServiceAccountJSON", cfg.ServiceAccountJSON)
		if err != nil {
			b.err = err
			return
		}
		defer free()
		b.call(func(p *C.cct_config, e **C.cct_error) C.cct_status {
			return C.cct_config_set_service_account_json(p, s, e)
		})
	}
}

// Format prints the fields that are set, secrets redacted, for every verb (%v, %+v, %#v, %s).
func (cfg Config) Format(f fmt.State, verb rune) {
	goSyntax := verb == 'v' && f.Flag('#')
	v := reflect.ValueOf(cfg)
	var sb strings.Builder
	sb.WriteString("cctoken.Config{")
	first := true
	for i := range v.NumField() {
		field, value := v.Type().Field(i), v.Field(i)
		if value.IsZero() {
			continue
		}
		if !first {
			sb.WriteString(", ")
		}
		first = false
		sb.WriteString(field.Name + ":")
		switch x := value.Interface().(type) {
		case string, []byte:
			if field.Tag.Get("cctoken") == "secret" {
				sb.WriteString(`"[redacted]"`)
			} else if field.Tag.Get("cctoken") == "url" {
				fmt.Fprintf(&sb, "%q", redactURL(x.(string)))
			} else if b, ok := x.([]byte); ok {
				fmt.Fprintf(&sb, "[%d bytes]", len(b))
			} else {
				fmt.Fprintf(&sb, "%q", x)
			}
		case *slog.Logger:
			sb.WriteString("[logger]")
		case *RefreshPolicy, *RetryPolicy:
			fmt.Fprintf(&sb, "&%+v", value.Elem().Interface())
		case fmt.Stringer:
			sb.WriteString(x.String())
		default:
			if goSyntax {
				fmt.Fprintf(&sb, "%#v", x)
			} else {
				fmt.Fprintf(&sb, "%v", x)
			}
		}
	}
	sb.WriteString("}")
	io.WriteString(f, sb.String())
}

// String is the same as %v: the fields that are set, secrets redacted.
func (cfg Config) String() string { return fmt.Sprint(cfg) }

// GoString is the same as %#v.
func (cfg Config) GoString() string { return fmt.Sprintf("%#v", cfg) }

// cString copies s (a string, or bytes such as a key file that should not become a Go string)
// into C memory with a NUL appended. free wipes the copy before releasing it, as s may be a
// secret. Values with a NUL byte cannot cross the C ABI and are refused, by field name only.
func cString[T ~string | ~[]byte](field string, s T) (*C.char, func(), error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, nil, configError(field, "contains a NUL byte")
		}
	}
	p := (*C.char)(C.malloc(C.size_t(len(s) + 1)))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(p)), len(s)+1)
	copy(buf, s)
	buf[len(s)] = 0
	free := func() {
		clear(buf)
		C.free(unsafe.Pointer(p))
	}
	return p, free, nil
}

// bytesPtr points at b's first byte; the library copies what it keeps before returning.
func bytesPtr(b []byte) *C.uint8_t {
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

// durationMillis rounds up, so that a positive duration never becomes 0 ("unset" or invalid).
func durationMillis(d time.Duration) C.uint64_t {
	if d <= 0 {
		return 0
	}
	return C.uint64_t((d + time.Millisecond - 1) / time.Millisecond)
}
