package cctoken_test

// TrustStore and Proxy: the dev server's HTTPS mode with its generated CA, SSL_CERT_FILE, and a
// real proxy (Debian's tinyproxy) on 127.0.0.1.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

func statusOf(t *testing.T, err error) cctoken.Status {
	t.Helper()
	var e *cctoken.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *cctoken.Error", err, err)
	}
	return e.Status
}

func TestTrustStoreRootCAOnly(t *testing.T) {
	s := startTLSDevServer(t)
	cfg := s.config(s.base+"/token", s.ca)
	cfg.TrustStore = cctoken.TrustRootCAOnly
	if _, err := newClient(t, cfg).Token(); err != nil {
		t.Fatalf("root_ca_only with the server's CA: %v", err)
	}
	cfg.RootCAPEM = otherCA(t)
	if _, err := newClient(t, cfg).Token(); statusOf(t, err) != cctoken.StatusTLS {
		t.Fatalf("root_ca_only with another CA: %v, want a TLS error", err)
	}
	cfg.RootCAPEM = nil
	if _, err := cctoken.New(cfg); statusOf(t, err) != cctoken.StatusConfig || !strings.Contains(err.Error(), "root_ca_pem") {
		t.Fatalf("root_ca_only without a CA: %v, want a root_ca_pem config error", err)
	}
	cfg.TrustStore = cctoken.TrustStore(7)
	if _, err := cctoken.New(cfg); statusOf(t, err) != cctoken.StatusConfig || !strings.Contains(err.Error(), "TrustStore") {
		t.Fatalf("unknown TrustStore: %v", err)
	}
}

// With cgo, os.Setenv reaches the C environment the library reads; t.Setenv keeps this test
// from running in parallel with others.
func TestSSLCertFileIsTheSystemStore(t *testing.T) {
	s := startTLSDevServer(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, s.ca, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)
	cfg := s.config(s.base+"/token", nil)
	if _, err := newClient(t, cfg).Token(); err != nil {
		t.Fatalf("the CA in SSL_CERT_FILE is not trusted: %v", err)
	}
	cfg.TrustStore = cctoken.TrustBundled
	if _, err := newClient(t, cfg).Token(); statusOf(t, err) != cctoken.StatusTLS {
		t.Fatalf("TrustBundled used SSL_CERT_FILE: %v", err)
	}
}

// tinyproxy runs a tinyproxy on a free 127.0.0.1 port until the test ends; it returns the
// proxy URL and a function counting the CONNECTs to 127.0.0.1:port in its log.
func tinyproxy(t *testing.T) (string, func(port string) int) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logFile := filepath.Join(dir, "tinyproxy.log")
	conf := fmt.Sprintf("Port %d\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\nLogFile %q\n", port, logFile)
	if err := os.WriteFile(filepath.Join(dir, "tinyproxy.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tinyproxy", "-d", "-c", filepath.Join(dir, "tinyproxy.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tinyproxy (Debian package; .ci/run installs it): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	started := time.Now()
	for deadline := started.Add(devServerStartup); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy did not start within %v", devServerStartup)
		}
	}
	if took := time.Since(started); took > slowStart {
		t.Logf("note: tinyproxy took %.1fs to start", took.Seconds())
	}
	return "http://" + addr, func(target string) int {
		log, _ := os.ReadFile(logFile)
		return strings.Count(string(log), "CONNECT 127.0.0.1:"+target+" ")
	}
}

func TestProxy(t *testing.T) {
	s := startTLSDevServer(t)
	proxyURL, connects := tinyproxy(t)
	_, serverPort, _ := net.SplitHostPort(strings.TrimPrefix(s.base, "https://"))
	cfg := s.config(s.base+"/token", s.ca)
	cfg.Proxy = proxyURL
	if _, err := newClient(t, cfg).Token(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if n := connects(serverPort); n != 1 {
		t.Fatalf("the proxy logged %d CONNECTs to the token endpoint, want 1", n)
	}
	cfg.Proxy = "none"
	if _, err := newClient(t, cfg).Token(); err != nil {
		t.Fatal(err)
	}
	if n := connects(serverPort); n != 1 {
		t.Fatalf("Proxy \"none\" went through the proxy (%d CONNECTs)", n)
	}
}

func TestProxyPasswordNeverShown(t *testing.T) {
	const password = "go-proxy-pw-3391"
	cfg := cctoken.Config{TokenURL: "http://127.0.0.1:1/token", ClientID: "svc", ClientSecret: "s",
		Proxy: "http://alice:" + password + "@127.0.0.1:3128"}
	for _, shown := range []string{fmt.Sprint(cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", cfg)} {
		if strings.Contains(shown, password) || !strings.Contains(shown, "alice:***@127.0.0.1:3128") {
			t.Fatalf("Config formats its proxy as %s", shown)
		}
	}
	// An http:// token endpoint through a proxy would send the secret in clear: refused.
	_, err := cctoken.New(cfg)
	if statusOf(t, err) != cctoken.StatusConfig || !strings.Contains(err.Error(), "in clear") {
		t.Fatalf("err = %v, want a config error about clear text", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatal("the proxy password is in the error")
	}
}
