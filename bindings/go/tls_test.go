package cctoken_test

// HTTPS against the dev server's --tls-dir mode: it generates a CA and a server certificate
// for 127.0.0.1 only (so `localhost` is a host-name mismatch) and writes ca.pem to the dir.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

const tlsSecret = "tls-secret-Zp4+/=%Rw"

// tlsDevServer is a dev server serving HTTPS, stopped at the end of the test.
type tlsDevServer struct {
	base string       // https://127.0.0.1:PORT
	ca   []byte       // its CA (PEM)
	http *http.Client // trusts ca only
}

func startTLSDevServer(t *testing.T) *tlsDevServer {
	t.Helper()
	dir := t.TempDir()
	base, stop, err := runDevServer("--tls-dir", dir, "--client", "svc", "--secret", tlsSecret, "--scopes", "read")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("unexpected URL from the dev server: %q", base)
	}
	s := &tlsDevServer{base: base}
	if s.ca, err = os.ReadFile(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.ca) {
		t.Fatal("ca.pem holds no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(tr.CloseIdleConnections)
	s.http = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	return s
}

func (s *tlsDevServer) config(tokenURL string, ca []byte) cctoken.Config {
	return cctoken.Config{TokenURL: tokenURL, ClientID: "svc", ClientSecret: tlsSecret, Scopes: []string{"read"},
		RootCAPEM: ca, Retry: &cctoken.RetryPolicy{MaxAttempts: 1}}
}

func (s *tlsDevServer) tokenRequests(t *testing.T) int {
	t.Helper()
	resp, err := s.http.Get(s.base + "/_dev/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st serverStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.TokenRequests
}

// otherCA is a CA certificate (PEM) that issued nothing the server presents.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cctoken Go test: an unrelated CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestDevServerTLS(t *testing.T) {
	s := startTLSDevServer(t)
	tokenURL := s.base + "/token"

	t.Run("its CA", func(t *testing.T) {
		c := newClient(t, s.config(tokenURL, s.ca))
		tok, err := c.Token()
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.base+"/resource", nil)
		req.Header.Set("Authorization", tok.AuthorizationHeader())
		resp, err := s.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /resource with the token = %d, want 200", resp.StatusCode)
		}
	})

	// Both failures happen in the handshake: nothing reaches the token endpoint, and a TLS
	// error is not retried.
	for _, tt := range []struct {
		name, url string
		ca        []byte
	}{
		{"another CA", tokenURL, otherCA(t)},
		{"system roots only", tokenURL, nil},
		{"host-name mismatch", strings.Replace(tokenURL, "127.0.0.1", "localhost", 1), s.ca},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := s.tokenRequests(t)
			cfg := s.config(tt.url, tt.ca)
			cfg.Retry = nil // the default policy: a TLS failure must still not be retried
			c := newClient(t, cfg)
			_, err := c.Token()
			var e *cctoken.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want a *cctoken.Error", err, err)
			}
			if e.Status != cctoken.StatusTLS || e.Retryable || e.HTTPStatus != 0 || e.OAuthError != "" {
				t.Fatalf("error fields %+v, want a TLS status, not retryable, no HTTP answer", *e)
			}
			if !errors.Is(err, cctoken.ErrTLS) || !errors.Is(err, cctoken.ErrTransport) ||
				errors.Is(err, cctoken.ErrConnect) || errors.Is(err, cctoken.ErrOAuth) {
				t.Fatalf("errors.Is mismatch for %v", err)
			}
			if !strings.Contains(strings.ToLower(err.Error()), "tls") && !strings.Contains(strings.ToLower(err.Error()), "certificate") {
				t.Fatalf("Error() = %q does not say what failed", err.Error())
			}
			assertNoSecret(t, err, tlsSecret)
			if m := c.Metrics(); m.Retries != 0 {
				t.Fatalf("metrics %+v: a TLS failure was retried", m)
			}
			if n := s.tokenRequests(t) - before; n != 0 {
				t.Fatalf("%d token requests reached the server through a failed handshake", n)
			}
		})
	}
}
