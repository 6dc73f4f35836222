package cctoken_test

import (
	"crypto/sha256"
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

// A child process of TestProcessesShareACacheDir: this test binary run again with
// CCTOKEN_STORE_CHILD set. It runs before TestMain, so it starts no dev server of its own.
func init() {
	dir := os.Getenv("CCTOKEN_STORE_CHILD")
	if dir == "" {
		return
	}
	c, err := cctoken.New(cctoken.Config{TokenURL: os.Getenv("CCTOKEN_STORE_TOKEN_URL"), ClientID: clientID,
		ClientSecret: clientSecret, Scopes: []string{"read"}, CacheDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	tok, err := c.Token()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(4)
	}
	fmt.Printf("%x\n", sha256.Sum256([]byte(tok.AccessToken))) // a fingerprint, never the token
	c.Close()
	os.Exit(0)
}

func TestProcessesShareACacheDir(t *testing.T) {
	resetServer(t)
	fault(t, `{"latency_ms": 700}`)
	dir := filepath.Join(t.TempDir(), "cache")
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]strings.Builder, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), "CCTOKEN_STORE_CHILD="+dir, "CCTOKEN_STORE_TOKEN_URL="+tokenURL)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], os.Stderr
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
		if outs[i].String() != outs[0].String() || outs[i].Len() == 0 {
			t.Fatal("the processes got different tokens")
		}
	}
	if got := stats(t).TokenRequests; got != 1 {
		t.Fatalf("token requests = %d, want 1 for %d processes", got, n)
	}
	// In this process: a store hit, no request, and the counters say so.
	cfg := svcConfig()
	cfg.CacheDir = dir
	c := newClient(t, cfg)
	tok, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x\n", sha256.Sum256([]byte(tok.AccessToken))) != outs[0].String() {
		t.Fatal("the store hit returned another token")
	}
	if m := c.Metrics(); m.StoreHits != 1 || m.Fetches != 1 || stats(t).TokenRequests != 1 {
		t.Fatalf("metrics = %+v, want one store hit and no request", m)
	}
}

func TestRedisURLSharesTokensAndIsRedacted(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is missing: apt-get install redis-server (see .ci/run)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const password = "go-redis-Pa55"
	redis := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", t.TempDir(),
		"--save", "", "--appendonly", "no", "--requirepass", password)
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = redis.Process.Kill(); _ = redis.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	resetServer(t)
	cfg := svcConfig()
	cfg.RedisURL = fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, port)
	first, second := newClient(t, cfg), newClient(t, cfg)
	a, err := first.Token()
	if err != nil {
		t.Fatal(err)
	}
	b, err := second.Token()
	if err != nil {
		t.Fatal(err)
	}
	if a.AccessToken != b.AccessToken || stats(t).TokenRequests != 1 || second.Metrics().StoreHits != 1 {
		t.Fatalf("the second client did not take the shared token: %+v", second.Metrics())
	}
	if s := fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg); strings.Contains(s, password) {
		t.Fatal("the Redis password shows in a formatted Config")
	}
	both := cfg
	both.CacheDir = t.TempDir()
	if _, err := cctoken.New(both); err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("CacheDir and RedisURL together: err = %v", err != nil)
	}
}
