package cctoken_test

import (
	"fmt"
	"strings"
	"testing"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"}

// render formats x every way a log line might.
func render(x any) []string {
	var out []string
	for _, verb := range verbs {
		out = append(out, fmt.Sprintf(verb, x))
	}
	out = append(out, fmt.Sprint(x), fmt.Sprintln(x))
	if s, ok := x.(fmt.Stringer); ok {
		out = append(out, s.String())
	}
	if g, ok := x.(fmt.GoStringer); ok {
		out = append(out, g.GoString())
	}
	return out
}

func TestTokenFormattingRedactsTheAccessToken(t *testing.T) {
	tok, err := newClient(t, svcConfig()).Token()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []any{tok, *tok, []*cctoken.Token{tok}, struct{ T *cctoken.Token }{tok}} {
		for i, s := range render(x) {
			if strings.Contains(s, tok.AccessToken) {
				t.Fatalf("rendering %d of %T shows the access token", i, x)
			}
		}
	}
	if s := fmt.Sprintf("%+v", tok); !strings.Contains(s, "[redacted]") || !strings.Contains(s, "Bearer") || !strings.Contains(s, `"read"`) {
		t.Fatalf("%%+v = %s", s)
	}
	if s := fmt.Sprintf("%#v", tok); !strings.HasPrefix(s, "cctoken.Token{") {
		t.Fatalf("%%#v = %s", s)
	}
	var nilTok *cctoken.Token
	_ = fmt.Sprint(nilTok) // must not panic
}

func TestConfigFormattingRedactsSecrets(t *testing.T) {
	cfg := svcConfig()
	cfg.ClientSecret = "cfg-secret-Zx81"
	cfg.PrivateKeyPEM = []byte("pem-key-Zx81")
	cfg.PrivateKeyJWK = `{"d":"jwk-Zx81"}`
	cfg.ClientCertPEM = []byte("certificate")
	cfg.ClientKeyPEM = []byte("client-key-Zx81")
	cfg.DPoPKeyPEM = []byte("dpop-key-Zx81")
	cfg.AuthMethod = cctoken.PrivateKeyJWT
	cfg.Retry = &cctoken.RetryPolicy{MaxAttempts: 2}
	cfg.ExtraParams = map[string]string{"tenant": "t1"}

	for _, x := range []any{cfg, &cfg, []cctoken.Config{cfg}} {
		for i, s := range render(x) {
			if strings.Contains(s, "Zx81") {
				t.Fatalf("rendering %d of %T shows a secret: the secret fields must be redacted", i, x)
			}
		}
	}
	s := fmt.Sprintf("%+v", cfg)
	for _, want := range []string{`ClientID:"svc"`, `ClientSecret:"[redacted]"`, "AuthMethod:private_key_jwt", "ClientCertPEM:[11 bytes]", "MaxAttempts:2"} {
		if !strings.Contains(s, want) {
			t.Fatalf("%%+v = %s, want it to contain %s", s, want)
		}
	}
	if strings.Contains(s, "Issuer") {
		t.Fatalf("%%+v = %s shows an unset field", s)
	}
}
