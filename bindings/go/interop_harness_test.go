package cctoken_test

// The interop server: tests/interop/server.mjs runs oidc-provider (a certified OpenID / OAuth
// server) over HTTPS with a CA made at start; see tests/interop/README.md for the protocol.
// It is started on first use, once per test binary, and stopped by TestMain.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

const (
	// interopStartup bounds the wait for the server's JSON line (node start, key generation):
	// generous, node can take tens of seconds on a loaded 2-core CI machine.
	interopStartup = 120 * time.Second
	// slowStart is when a server start is reported as slow (with how long it took).
	slowStart = 5 * time.Second
	// interopLogKeep is how much of the server's stderr is kept for failure messages.
	interopLogKeep = 64 << 10
)

// interopServer is what the server printed, plus what talking to it needs. Its fields hold
// secrets: never format the whole value.
type interopServer struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	DiscoveryEndpoint     string `json:"discovery_endpoint"`
	StatsEndpoint         string `json:"stats_endpoint"`
	CAPEM                 string `json:"ca_pem"`
	Resources             map[string]struct {
		Resource string `json:"resource"`
		Audience string `json:"audience"`
	} `json:"resources"`
	Clients map[string]interopClient `json:"clients"`

	http  *http.Client // trusts CAPEM only
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *boundedLog
	done  chan struct{} // closed when stdout and stderr are drained
}

// interopClient is one registered client (which fields are set depends on its method).
type interopClient struct {
	ClientID      string          `json:"client_id"`
	AuthMethod    string          `json:"auth_method"`
	Scope         string          `json:"scope"`
	ClientSecret  string          `json:"client_secret"`
	Alg           string          `json:"alg"`
	Kid           string          `json:"kid"`
	PrivateKeyPEM string          `json:"private_key_pem"`
	PrivateKeyJWK json.RawMessage `json:"private_key_jwk"`
	CertPEM       string          `json:"cert_pem"`
	KeyPEM        string          `json:"key_pem"`
	CertX5tS256   string          `json:"cert_x5t_s256"`
	TokenLifetime int             `json:"token_lifetime"`
}

var interop struct {
	once sync.Once
	srv  *interopServer
	err  error
}

// interopSrv returns the shared interop server, starting it on first use. A missing
// oidc-provider installation or Node.js fails the test with instructions: never a skip.
func interopSrv(t testing.TB) *interopServer {
	t.Helper()
	interop.once.Do(func() { interop.srv, interop.err = startInterop() })
	if interop.err != nil {
		t.Fatal(interop.err)
	}
	return interop.srv
}

// stopInterop stops the server if a test started it (TestMain, after the tests).
func stopInterop() {
	if interop.srv != nil {
		interop.srv.stop()
	}
}

func startInterop() (*interopServer, error) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "tests", "interop"))
	if err != nil {
		return nil, err
	}
	installed := filepath.Join(dir, "node_modules", "oidc-provider", "package.json")
	if _, err := os.Stat(installed); err != nil {
		return nil, fmt.Errorf("oidc-provider is not installed for the interop tests (%s is missing): "+
			"run `npm ci --prefix tests/interop` (or `make interop-deps`) from the repository root", installed)
	}
	node := os.Getenv("NODE")
	if node == "" {
		node = "node"
	}
	cmd := exec.Command(node, filepath.Join(dir, "server.mjs"))
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe() // held open: the server exits when it closes
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot run %q (Node.js 20 or later is needed for the interop tests): %w", node, err)
	}
	s := &interopServer{cmd: cmd, stdin: stdin, log: &boundedLog{echo: os.Getenv("CCTOKEN_INTEROP_LOG") != ""},
		done: make(chan struct{})}

	// Drain both pipes for the whole run, so the server never blocks on a full pipe. The first
	// stdout line that starts with '{' is the description.
	lines := make(chan string, 1)
	var drained sync.WaitGroup
	drained.Add(2)
	go func() {
		defer drained.Done()
		_, _ = io.Copy(s.log, stderr)
	}()
	go func() {
		defer drained.Done()
		r := bufio.NewReaderSize(stdout, 64<<10)
		sent := false
		for {
			line, err := r.ReadString('\n')
			if !sent && strings.HasPrefix(strings.TrimSpace(line), "{") {
				lines <- line
				sent = true
			}
			if err != nil {
				break
			}
		}
		close(lines)
	}()
	go func() { drained.Wait(); close(s.done) }()

	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			s.stop()
			return nil, fmt.Errorf("interop server (node tests/interop/server.mjs) exited without printing its JSON line; its stderr:\n%s", s.log)
		}
		line = l
		if took := time.Since(started); took > slowStart {
			fmt.Fprintf(os.Stderr, "note: the interop server took %.1fs to start\n", took.Seconds())
		}
	case <-time.After(interopStartup):
		s.stop()
		return nil, fmt.Errorf("interop server (node tests/interop/server.mjs) printed nothing within %v; its stderr:\n%s", interopStartup, s.log)
	}
	if err := json.Unmarshal([]byte(line), s); err != nil { // the line holds secrets: not printed
		s.stop()
		return nil, fmt.Errorf("the interop server's JSON line does not decode: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(s.CAPEM)) {
		s.stop()
		return nil, errors.New("the interop server's ca_pem holds no certificate")
	}
	s.http = &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// stop kills the server (closing stdin alone would do), then reaps it.
func (s *interopServer) stop() {
	s.stdin.Close()
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second): // a grandchild holding the pipes: Wait closes them
	}
	_ = s.cmd.Wait()
	if s.http != nil {
		s.http.CloseIdleConnections()
	}
}

// boundedLog keeps the start of the server's log for failure messages (echoed to stderr with
// CCTOKEN_INTEROP_LOG=1). oidc-provider's log names clients and errors, never secrets.
type boundedLog struct {
	mu   sync.Mutex
	buf  []byte
	echo bool
}

func (l *boundedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.echo {
		os.Stderr.Write(p)
	}
	if room := interopLogKeep - len(l.buf); room > 0 {
		l.buf = append(l.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *boundedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// client is a registered client's description; unknown names fail the test.
func (s *interopServer) client(t testing.TB, name string) interopClient {
	t.Helper()
	c, ok := s.Clients[name]
	if !ok {
		t.Fatalf("the interop server has no client %q", name)
	}
	return c
}

func (s *interopServer) resource(t testing.TB, name string) (resource, audience string) {
	t.Helper()
	r, ok := s.Resources[name]
	if !ok {
		t.Fatalf("the interop server has no resource %q", name)
	}
	return r.Resource, r.Audience
}

// config aims at the token endpoint, trusts the server's CA and retries quickly; the
// credentials are the caller's to add.
func (s *interopServer) config(t testing.TB, name string) cctoken.Config {
	return cctoken.Config{
		TokenURL:    s.TokenEndpoint,
		ClientID:    s.client(t, name).ClientID,
		RootCAPEM:   []byte(s.CAPEM),
		CallTimeout: 15 * time.Second,
		Retry:       &cctoken.RetryPolicy{MaxAttempts: 2, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
	}
}

// secretConfig is config plus the client's secret.
func (s *interopServer) secretConfig(t testing.TB, name string) cctoken.Config {
	cfg := s.config(t, name)
	cfg.ClientSecret = s.client(t, name).ClientSecret
	return cfg
}

// formBasic is RFC 6749 §2.3.1 Basic authentication: id and secret form-encoded first.
func formBasic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// introspectRaw asks the server about token (RFC 7662) as the `introspector` client.
func (s *interopServer) introspectRaw(token string) (int, map[string]any, error) {
	in, ok := s.Clients["introspector"]
	if !ok {
		return 0, nil, errors.New("the interop server has no client introspector")
	}
	req, err := http.NewRequest(http.MethodPost, s.IntrospectionEndpoint,
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", formBasic(in.ClientID, in.ClientSecret))
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST introspection endpoint: %w", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("introspection answer (HTTP %d) is not JSON: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, body, nil
}

// introspect is introspectRaw that must answer 200.
func (s *interopServer) introspect(t testing.TB, token string) map[string]any {
	t.Helper()
	status, body, err := s.introspectRaw(token)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusOK {
		t.Fatalf("introspection: HTTP %d %s", status, safeJSON(body, token))
	}
	return body
}

// introspectOK checks tok at the server: active, issued by it to clientID for aud with scope,
// of tok's type, expiring when the binding thinks it does. Returns the answer.
func (s *interopServer) introspectOK(t testing.TB, tok *cctoken.Token, clientID, scope, aud string) map[string]any {
	t.Helper()
	i := s.introspect(t, tok.AccessToken)
	show := func() string { return safeJSON(i, tok.AccessToken) }
	if i["active"] != true {
		t.Fatalf("the server says the token is not active: %s", show())
	}
	if i["client_id"] != clientID || i["iss"] != s.Issuer || i["aud"] != aud {
		t.Fatalf("introspection %s, want client_id %q, iss %q, aud %q", show(), clientID, s.Issuer, aud)
	}
	got, _ := i["scope"].(string)
	if !sameScopes(got, scope) {
		t.Fatalf("introspection scope %q, want %q", got, scope)
	}
	if !sameScopes(tok.Scope, scope) {
		t.Fatalf("Token.Scope = %q, want %q", tok.Scope, scope)
	}
	if i["token_type"] != tok.TokenType {
		t.Fatalf("introspection token_type %v, Token.TokenType %q", i["token_type"], tok.TokenType)
	}
	// The binding's expiry (counted from when the request was sent) within 2 s of `exp`.
	exp, _ := i["exp"].(float64)
	if d := tok.Expiry.Unix() - int64(exp); d < -2 || d > 2 {
		t.Fatalf("Token.Expiry %d vs the server's exp %d", tok.Expiry.Unix(), int64(exp))
	}
	return i
}

func sameScopes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// cnf is the introspection's confirmation member ("cnf"), empty when absent.
func cnf(i map[string]any) map[string]any {
	c, _ := i["cnf"].(map[string]any)
	return c
}

// safeJSON renders an introspection answer for a failure message: "jti" (oidc-provider's
// opaque tokens are their own jti) and anything equal to a secret are left out.
func safeJSON(v map[string]any, secrets ...string) string {
	shown := make(map[string]any, len(v))
	for k, x := range v {
		if k == "jti" {
			x = "[redacted]"
		}
		shown[k] = x
	}
	b, _ := json.Marshal(shown)
	out := string(b)
	for _, s := range secrets {
		if s != "" {
			out = strings.ReplaceAll(out, s, "[redacted]")
		}
	}
	return out
}

type interopStats struct {
	TokenRequests map[string]int            `json:"token_requests"`
	TokenErrors   map[string]map[string]int `json:"token_errors"`
}

// stats is the server's count of token requests, by client (GET stats_endpoint).
func (s *interopServer) stats(t testing.TB) interopStats {
	t.Helper()
	resp, err := s.http.Get(s.StatsEndpoint)
	if err != nil {
		t.Fatalf("GET stats: %v", err)
	}
	defer resp.Body.Close()
	var st interopStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stats: HTTP %d, %v", resp.StatusCode, err)
	}
	return st
}

// tokenTwice gets a token, then the same one again from the cache: one fetch, one hit.
func tokenTwice(t testing.TB, c *cctoken.Client) *cctoken.Token {
	t.Helper()
	first, err := c.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	again, err := c.Token()
	if err != nil {
		t.Fatalf("second Token: %v", err)
	}
	if again.AccessToken != first.AccessToken {
		t.Fatal("the second call did not come from the cache")
	}
	if m := c.Metrics(); m.Fetches != 1 || m.Hits != 1 {
		t.Fatalf("metrics %+v, want 1 fetch and 1 hit", m)
	}
	return first
}
