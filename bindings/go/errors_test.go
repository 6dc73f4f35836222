package cctoken_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

// assertNoSecret fails when any rendering of err shows one of the secrets.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, err)
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("%s of the error shows a secret", verb)
			}
		}
	}
}

func TestInvalidClient(t *testing.T) {
	resetServer(t)
	const wrong = "wrong-secret-K9zqT"
	cfg := svcConfig()
	cfg.ClientSecret = wrong
	c := newClient(t, cfg)

	_, err := c.Token()
	var e *cctoken.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *cctoken.Error", err, err)
	}
	if e.Status != cctoken.StatusOAuth || e.HTTPStatus != 401 || e.OAuthError != "invalid_client" ||
		e.Description == "" || e.Retryable || e.RetryAfter != 0 {
		t.Fatalf("error fields = %+v", *e)
	}
	if !strings.Contains(e.Error(), "invalid_client") || !strings.HasPrefix(e.Error(), "cctoken: ") {
		t.Fatalf("Error() = %q", e.Error())
	}
	if !errors.Is(err, cctoken.ErrInvalidClient) || !errors.Is(err, cctoken.ErrOAuth) {
		t.Fatal("errors.Is does not match invalid_client / ErrOAuth")
	}
	for _, other := range []error{cctoken.ErrInvalidScope, cctoken.ErrTransport, cctoken.ErrHTTP, cctoken.ErrConfig, cctoken.ErrClosed} {
		if errors.Is(err, other) {
			t.Fatalf("errors.Is matches %v", other)
		}
	}
	assertNoSecret(t, err, wrong, clientSecret)

	// Credential failures cool down: the same error again, without a second request.
	if _, err := c.Token(); !errors.Is(err, cctoken.ErrInvalidClient) {
		t.Fatalf("second call: %v", err)
	}
	if n := stats(t).TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want 1 (cool-down)", n)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name   string
		fault  string
		scopes []string
		is     []error
		check  func(*cctoken.Error) bool
	}{
		{
			name: "invalid_scope", scopes: []string{"admin"},
			is:    []error{cctoken.ErrInvalidScope, cctoken.ErrOAuth},
			check: func(e *cctoken.Error) bool { return e.HTTPStatus == 400 && !e.Retryable },
		},
		{
			name: "unauthorized_client", fault: `{"status": 400, "error": "unauthorized_client", "error_description": "not for you"}`,
			is:    []error{cctoken.ErrUnauthorizedClient, cctoken.ErrOAuth},
			check: func(e *cctoken.Error) bool { return e.Description == "not for you" },
		},
		{
			name: "temporarily_unavailable", fault: `{"status": 503, "error": "temporarily_unavailable", "retry_after": "7"}`,
			is: []error{cctoken.ErrTemporarilyUnavailable, cctoken.ErrOAuth},
			check: func(e *cctoken.Error) bool {
				return e.HTTPStatus == 503 && e.Retryable && e.RetryAfter == 7*time.Second
			},
		},
		{
			name: "plain 500", fault: `{"status": 500}`,
			is: []error{cctoken.ErrHTTP},
			check: func(e *cctoken.Error) bool {
				return e.Status == cctoken.StatusHTTP && e.HTTPStatus == 500 && e.Retryable
			},
		},
		{
			name: "malformed body", fault: `{"body": "malformed"}`,
			is:    []error{cctoken.ErrInvalidResponse},
			check: func(e *cctoken.Error) bool { return e.Status == cctoken.StatusInvalidResponse && !e.Retryable },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resetServer(t)
			if tt.fault != "" {
				fault(t, tt.fault)
			}
			cfg := svcConfig()
			if tt.scopes != nil {
				cfg.Scopes = tt.scopes
			}
			cfg.Retry = &cctoken.RetryPolicy{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
			c := newClient(t, cfg)
			_, err := c.Token()
			var e *cctoken.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *cctoken.Error", err)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			if !tt.check(e) {
				t.Errorf("unexpected fields %+v", *e)
			}
			assertNoSecret(t, err, clientSecret)
		})
	}

	t.Run("connect", func(t *testing.T) {
		cfg := svcConfig()
		cfg.TokenURL = "http://127.0.0.1:1/token" // nothing listens on port 1
		cfg.Retry = &cctoken.RetryPolicy{MaxAttempts: 1}
		_, err := newClient(t, cfg).Token()
		if !errors.Is(err, cctoken.ErrConnect) || !errors.Is(err, cctoken.ErrTransport) {
			t.Fatalf("err = %v, want a connect error", err)
		}
		if e := (*cctoken.Error)(nil); !errors.As(err, &e) || !e.Retryable || e.HTTPStatus != 0 {
			t.Fatalf("unexpected fields %+v", e)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	const nulSecret = "nul-secret-Pq7"
	valid := svcConfig()
	tests := []struct {
		name   string
		modify func(*cctoken.Config)
		field  string // named in the message
	}{
		{"no token URL", func(c *cctoken.Config) { c.TokenURL = "" }, "token_url"},
		{"token URL and issuer", func(c *cctoken.Config) { c.Issuer = devURL }, "issuer"},
		{"no client id", func(c *cctoken.Config) { c.ClientID = "" }, "client_id"},
		{"plain http off loopback", func(c *cctoken.Config) { c.TokenURL = "http://as.example.com/token" }, "token_url"},
		{"not a URL", func(c *cctoken.Config) { c.TokenURL = "::" }, "token_url"},
		{"NUL in secret", func(c *cctoken.Config) { c.ClientSecret = "a\x00" + nulSecret }, "ClientSecret"},
		{"secret and secret file", func(c *cctoken.Config) { c.ClientSecretFile = "/nonexistent" }, "ClientSecretFile"},
		{"missing secret file", func(c *cctoken.Config) { c.ClientSecret = ""; c.ClientSecretFile = "/nonexistent/secret" }, "secret"},
		{"reread without a file", func(c *cctoken.Config) { c.RereadSecretFile = true }, "RereadSecretFile"},
		{"unknown auth method", func(c *cctoken.Config) { c.AuthMethod = cctoken.AuthMethod(42) }, "AuthMethod"},
		{"auth none with a secret", func(c *cctoken.Config) { c.AuthMethod = cctoken.AuthNone }, "client_secret"},
		{"private_key_jwt without a key", func(c *cctoken.Config) { c.AuthMethod = cctoken.PrivateKeyJWT }, "private_key"},
		{"bad scope", func(c *cctoken.Config) { c.Scopes = []string{"has space"} }, "scopes"},
		{"empty scope", func(c *cctoken.Config) { c.Scopes = []string{""} }, "Scopes"},
		{"relative resource", func(c *cctoken.Config) { c.Resources = []string{"/relative"} }, "resource"},
		{"reserved extra param", func(c *cctoken.Config) { c.ExtraParams = map[string]string{"grant_type": "password"} }, "extra_params"},
		{"negative timeout", func(c *cctoken.Config) { c.CallTimeout = -time.Second }, "CallTimeout"},
		{"refresh ratio", func(c *cctoken.Config) { c.Refresh = &cctoken.RefreshPolicy{Ratio: 2} }, "refresh_policy"},
		{"retry attempts", func(c *cctoken.Config) { c.Retry = &cctoken.RetryPolicy{} }, "retry_policy"},
		{"root CA not PEM", func(c *cctoken.Config) { c.RootCAPEM = []byte("not a certificate") }, "root_ca_pem"},
		{"cert without key", func(c *cctoken.Config) { c.ClientCertPEM = []byte("x") }, "ClientCertPEM"},
		{"bad private key", func(c *cctoken.Config) {
			c.PrivateKeyPEM = []byte("-----BEGIN PRIVATE KEY-----\nkey-Pq7\n-----END PRIVATE KEY-----\n")
		}, "private_key"},
		{"unknown signing alg", func(c *cctoken.Config) { c.SigningAlg = cctoken.SigningAlg(9) }, "SigningAlg"},
		{"issuer audience without issuer", func(c *cctoken.Config) { c.AssertionAudience = cctoken.AudienceIssuer }, "assertion_audience"},
		{"empty custom audience", func(c *cctoken.Config) { c.AssertionAudience = cctoken.AudienceCustom("") }, "AssertionAudience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			c, err := cctoken.New(cfg)
			if err == nil {
				c.Close()
				t.Fatal("New accepted the configuration")
			}
			if !errors.Is(err, cctoken.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %q, want it to name %s", err, tt.field)
			}
			assertNoSecret(t, err, clientSecret, nulSecret, "key-Pq7")
		})
	}
}

func TestStatusStrings(t *testing.T) {
	if s := cctoken.StatusTimeout.String(); s == "" || s == "unknown status" {
		t.Fatalf("StatusTimeout.String() = %q", s)
	}
	if s := cctoken.Status(9999).String(); s != "unknown status" {
		t.Fatalf("Status(9999).String() = %q", s)
	}
	if got := (&cctoken.Error{Status: cctoken.StatusTLS}).Error(); !strings.HasPrefix(got, "cctoken: ") {
		t.Fatalf("Error() = %q", got)
	}
	if !errors.Is(&cctoken.Error{Status: cctoken.StatusTLS}, cctoken.ErrTLS) {
		t.Fatal("StatusTLS does not match ErrTLS")
	}
}
