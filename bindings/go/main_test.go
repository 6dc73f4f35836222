package cctoken_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

// Clients of the dev server. The secrets are test values; the tests still check that they
// never show up in errors or formatted values.
const (
	clientID     = "svc"
	clientSecret = "svc-secret-Hx7Q2pLm"
	postClientID = "poster"
	postSecret   = "post-secret-Qw3vB8"
	publicClient = "public"
)

var (
	devURL      string // http://127.0.0.1:PORT
	tokenURL    string
	resourceURL string
)

// TestMain runs every test against one real dev server on a free port. The server reads our
// stdin pipe and exits when it closes, so it cannot outlive the test binary. The interop
// server (oidc-provider, interop_harness_test.go) starts with the first test that needs it
// and is stopped here too, as is the provider stand-in server (providers_test.go).
func TestMain(m *testing.M) {
	stop, err := startDevServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cctoken tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopInterop()   // if a test started it
	stopProviders() // likewise (providers_test.go)
	stop()
	os.Exit(code)
}

func startDevServer() (stop func(), err error) {
	devURL, stop, err = runDevServer("--client", clientID, "--secret", clientSecret, "--scopes", "read,write",
		"--client", postClientID, "--secret", postSecret, "--auth", "post",
		"--client", publicClient, "--auth", "none")
	if err != nil {
		return nil, err
	}
	tokenURL = devURL + "/token"
	resourceURL = devURL + "/resource"
	return stop, nil
}

// devServerStartup bounds the wait for the dev server's banner: generous for a loaded machine.
const devServerStartup = 120 * time.Second

// runDevServer starts cctoken-dev-server on a free loopback port with args and returns the URL
// it printed. The server reads our stdin pipe and exits when it closes; stop also kills it.
func runDevServer(args ...string) (url string, stop func(), err error) {
	bin := os.Getenv("CCTOKEN_DEV_SERVER")
	if bin == "" {
		bin = "../../target/debug/cctoken-dev-server"
	}
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet"}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("cannot start the dev server %s: %w "+
			"(run `cargo build -p cctoken-dev-server` or set CCTOKEN_DEV_SERVER)", bin, err)
	}
	stop = func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		_, after, ok := strings.Cut(line, "listening on ")
		if !ok {
			stop()
			return "", nil, fmt.Errorf("unexpected first line from the dev server: %q", line)
		}
		if took := time.Since(started); took > slowStart {
			fmt.Fprintf(os.Stderr, "note: the dev server took %.1fs to start\n", took.Seconds())
		}
		return strings.TrimSpace(after), stop, nil
	case <-time.After(devServerStartup):
		stop()
		return "", nil, fmt.Errorf("the dev server did not start within %v", devServerStartup)
	}
}

// svcConfig is a working configuration for the "svc" client.
func svcConfig() cctoken.Config {
	return cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"read"}}
}

// newClient builds a client that the test closes at its end.
func newClient(t testing.TB, cfg cctoken.Config) *cctoken.Client {
	t.Helper()
	c, err := cctoken.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dev calls one of the dev server's /_dev endpoints and returns its body.
func dev(t testing.TB, method, path, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, devURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s %v", method, path, resp.StatusCode, b, err)
	}
	return b
}

// resetServer clears the server's counters and queued faults.
func resetServer(t testing.TB) { dev(t, "POST", "/_dev/reset", "") }

// fault queues a fault (dev-server/src/fault.rs) for the coming token requests.
func fault(t testing.TB, spec string) { dev(t, "POST", "/_dev/fault", spec) }

type serverStats struct {
	TokenRequests    int `json:"token_requests"`
	ResourceRequests int `json:"resource_requests"`
}

func stats(t testing.TB) serverStats {
	t.Helper()
	var s serverStats
	if err := json.Unmarshal(dev(t, "GET", "/_dev/stats", ""), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// lastTokenRequest is what reached /token last (the server redacts secrets).
type lastTokenRequest struct {
	AuthMethod string            `json:"auth_method"`
	ClientID   string            `json:"client_id"`
	Params     map[string]any    `json:"params"` // name → list of values ("[present]" for the secret)
	Headers    map[string]string `json:"headers"`
}

// param is the values of a (non-secret) form parameter.
func (r lastTokenRequest) param(name string) []string {
	var values []string
	list, _ := r.Params[name].([]any)
	for _, v := range list {
		s, _ := v.(string)
		values = append(values, s)
	}
	return values
}

func lastRequest(t testing.TB) lastTokenRequest {
	t.Helper()
	var r lastTokenRequest
	if err := json.Unmarshal(dev(t, "GET", "/_dev/last-token-request", ""), &r); err != nil {
		t.Fatal(err)
	}
	return r
}
