package cctoken_test

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

func TestVersion(t *testing.T) {
	if v := cctoken.Version(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("Version() = %q", v)
	}
}

func TestTokenIsFetchedOnceThenCached(t *testing.T) {
	resetServer(t)
	c := newClient(t, svcConfig())

	tok, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.Scope != "read" {
		t.Fatalf("unexpected token %v", tok)
	}
	if in := tok.ExpiresIn(); in < 3500*time.Second || in > 3600*time.Second {
		t.Fatalf("ExpiresIn() = %v, want about 1h", in)
	}
	if until := time.Until(tok.Expiry); until < 3500*time.Second || until > 3600*time.Second {
		t.Fatalf("Expiry in %v, want about 1h", until)
	}

	for range 100 {
		again, err := c.Token()
		if err != nil {
			t.Fatal(err)
		}
		if again.AccessToken != tok.AccessToken {
			t.Fatal("a cached call returned another token")
		}
	}
	if n := stats(t).TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
	m := c.Metrics()
	if m.Fetches != 1 || m.Misses != 1 || m.Hits != 100 || m.FetchFailures != 0 {
		t.Fatalf("metrics = %+v, want 1 fetch, 1 miss, 100 hits", m)
	}
	if m.LastFetchLatency <= 0 {
		t.Fatalf("LastFetchLatency = %v", m.LastFetchLatency)
	}
}

func TestConcurrentCallersShareOneRequest(t *testing.T) {
	resetServer(t)
	fault(t, `{"latency_ms": 300}`) // every caller arrives while the one request is in flight
	c := newClient(t, svcConfig())

	const callers = 64
	tokens := make([]string, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := c.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		}()
	}
	close(start)
	wg.Wait()

	if n := stats(t).TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want exactly 1", n)
	}
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatal("callers got different tokens")
		}
	}
	if m := c.Metrics(); m.Fetches != 1 || m.Hits+m.Misses != callers {
		t.Fatalf("metrics = %+v", m)
	}
}

// Hits on the binding's copy are counted per stripe; the sum is exact however many
// goroutines hit at once, and a hit allocates nothing.
func TestHitsAreCountedExactly(t *testing.T) {
	c := newClient(t, svcConfig())
	if _, err := c.Token(); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 32, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := c.Token(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if m := c.Metrics(); m.Hits != goroutines*each || m.Misses != 1 || m.Fetches != 1 {
		t.Fatalf("metrics = %+v, want %d hits, 1 miss, 1 fetch", m, goroutines*each)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = c.Token() }); allocs != 0 {
		t.Fatalf("a cache hit allocates %v times", allocs)
	}
	c.Close()
	if m := c.Metrics(); m.Hits < goroutines*each+100 {
		t.Fatalf("Metrics after Close lost the binding's hits: %+v", m)
	}
}

func TestInvalidateFetchesANewToken(t *testing.T) {
	resetServer(t)
	c := newClient(t, svcConfig())
	first, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	c.Invalidate(first)
	second, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken {
		t.Fatal("Invalidate did not lead to a new token")
	}

	// A token that was already replaced is left alone: no new request.
	c.Invalidate(first)
	if again, _ := c.Token(); again == nil || again.AccessToken != second.AccessToken {
		t.Fatal("invalidating a replaced token dropped the current one")
	}
	if n := stats(t).TokenRequests; n != 2 {
		t.Fatalf("token requests = %d, want 2", n)
	}

	// A caller-made copy is matched by value.
	c.Invalidate(&cctoken.Token{AccessToken: second.AccessToken})
	third, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	if third.AccessToken == second.AccessToken {
		t.Fatal("invalidating a copy of the current token had no effect")
	}
	c.Invalidate(nil) // no-op
}

func TestTokenContextDeadline(t *testing.T) {
	resetServer(t)
	fault(t, `{"latency_ms": 3000}`)
	c := newClient(t, svcConfig())

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.TokenContext(ctx)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("TokenContext returned after %v, want about 300ms", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}

	// An expired deadline fails at once; so does a cancelled context.
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if _, err := c.TokenContext(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	cancelled, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if _, err := c.TokenContext(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}

	// The request the first call started goes on, bounded by the call timeout rather than by
	// that caller's deadline: a patient caller joins it and gets its token.
	ctx4, cancel4 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel4()
	if _, err := c.TokenContext(ctx4); err != nil {
		t.Fatal(err)
	}
	if m := c.Metrics(); m.Fetches != 1 || m.FetchFailures != 0 {
		t.Fatalf("metrics = %+v, want the one fetch, finished", m)
	}
	if n := stats(t).TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

func TestTokenContextCancellationReturnsPromptly(t *testing.T) {
	resetServer(t)
	fault(t, `{"latency_ms": 2000}`)
	c := newClient(t, svcConfig())

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.TokenContext(ctx)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("TokenContext returned after %v, want about 100ms", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The request goes on in the background; the next caller gets its token.
	tok, err := c.Token()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("Token after a cancelled call: %v", err)
	}
	if n := stats(t).TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

func TestCallTimeout(t *testing.T) {
	resetServer(t)
	fault(t, `{"latency_ms": 2000}`)
	cfg := svcConfig()
	cfg.CallTimeout = 300 * time.Millisecond
	c := newClient(t, cfg)

	start := time.Now()
	_, err := c.Token()
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Fatalf("Token returned after %v, want about 300ms", elapsed)
	}
	var e *cctoken.Error
	if !errors.As(err, &e) || e.Status != cctoken.StatusTimeout || !e.Retryable {
		t.Fatalf("err = %#v, want a retryable timeout", err)
	}
	if !errors.Is(err, cctoken.ErrTimeout) || !errors.Is(err, cctoken.ErrTransport) || errors.Is(err, cctoken.ErrTLS) {
		t.Fatalf("errors.Is mismatch for %v", err)
	}
}

func TestCloseWhileInUse(t *testing.T) {
	c, err := cctoken.New(svcConfig())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				tok, err := c.Token()
				if errors.Is(err, cctoken.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if (i+g)%50 == 0 {
					c.Invalidate(tok) // sends the next calls into the library
				}
				_ = c.Metrics()
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	wg.Wait()

	if _, err := c.Token(); !errors.Is(err, cctoken.ErrClosed) {
		t.Fatalf("Token after Close: %v, want ErrClosed", err)
	}
	if _, err := c.TokenContext(context.Background()); !errors.Is(err, cctoken.ErrClosed) {
		t.Fatalf("TokenContext after Close: %v, want ErrClosed", err)
	}
	if err := c.SetClientSecret("x"); !errors.Is(err, cctoken.ErrClosed) {
		t.Fatalf("SetClientSecret after Close: %v, want ErrClosed", err)
	}
	if _, err := c.DPoPJKT(); !errors.Is(err, cctoken.ErrClosed) {
		t.Fatalf("DPoPJKT after Close: %v, want ErrClosed", err)
	}
	c.Invalidate(&cctoken.Token{AccessToken: "x"})
	if m := c.Metrics(); m.Fetches == 0 {
		t.Fatalf("Metrics after Close lost the counters: %+v", m)
	}
}

// Clients and tokens that are never closed are freed by the finalizer / cleanup.
func TestForgottenClientsAreCollected(t *testing.T) {
	c := newClient(t, svcConfig())
	for range 50 {
		tok, err := c.Token()
		if err != nil {
			t.Fatal(err)
		}
		c.Invalidate(tok)
	}
	for range 50 {
		if _, err := cctoken.New(svcConfig()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
}

func TestSetClientSecretRotates(t *testing.T) {
	cfg := svcConfig()
	cfg.ClientSecret = "outdated-secret-Jr4"
	c := newClient(t, cfg)
	if _, err := c.Token(); !errors.Is(err, cctoken.ErrInvalidClient) {
		t.Fatalf("err = %v, want invalid_client", err)
	}
	if err := c.SetClientSecret(clientSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(); err != nil {
		t.Fatalf("Token after SetClientSecret: %v", err)
	}
	if err := c.SetClientSecret(""); !errors.Is(err, cctoken.ErrConfig) {
		t.Fatalf("empty secret: %v, want ErrConfig", err)
	}
	if err := c.SetClientSecret("a\x00b"); !errors.Is(err, cctoken.ErrConfig) {
		t.Fatalf("secret with NUL: %v, want ErrConfig", err)
	}
}

func TestAuthMethodsAndRequestParameters(t *testing.T) {
	tests := []struct {
		name string
		cfg  cctoken.Config
		want string // auth_method the server saw
	}{
		{"basic", svcConfig(), "basic"},
		{"basic raw", func() cctoken.Config { c := svcConfig(); c.AuthMethod = cctoken.ClientSecretBasicRaw; return c }(), "basic"},
		{"post", cctoken.Config{TokenURL: tokenURL, ClientID: postClientID, ClientSecret: postSecret, AuthMethod: cctoken.ClientSecretPost}, "post"},
		{"none", cctoken.Config{TokenURL: tokenURL, ClientID: publicClient, AuthMethod: cctoken.AuthNone}, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.cfg)
			if _, err := c.Token(); err != nil {
				t.Fatal(err)
			}
			if got := lastRequest(t); got.AuthMethod != tt.want || got.ClientID != tt.cfg.ClientID {
				t.Fatalf("server saw %+v, want auth %s", got, tt.want)
			}
		})
	}

	t.Run("parameters", func(t *testing.T) {
		cfg := svcConfig()
		cfg.Scopes = []string{"read", "write"}
		cfg.Audience = "https://api.example"
		cfg.Resources = []string{"https://rs1.example/", "https://rs2.example/"}
		cfg.ExtraParams = map[string]string{"tenant": "t1"}
		cfg.UserAgent = "cctoken-go-test/1"
		c := newClient(t, cfg)
		if _, err := c.Token(); err != nil {
			t.Fatal(err)
		}
		r := lastRequest(t)
		if !slices.Equal(r.param("scope"), []string{"read write"}) || !slices.Equal(r.param("audience"), []string{"https://api.example"}) ||
			!slices.Equal(r.param("resource"), cfg.Resources) || !slices.Equal(r.param("tenant"), []string{"t1"}) ||
			!slices.Equal(r.param("grant_type"), []string{"client_credentials"}) {
			t.Fatalf("server saw params %v", r.Params)
		}
		if r.Headers["user-agent"] != "cctoken-go-test/1" {
			t.Fatalf("server saw headers %v", r.Headers)
		}
	})
}

// The hit path: answered from the binding's copy, without cgo.
func BenchmarkTokenCacheHit(b *testing.B) {
	c := newClient(b, svcConfig())
	if _, err := c.Token(); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The hit path from one goroutine (what benches/go P1 measures).
func BenchmarkTokenCacheHitSerial(b *testing.B) {
	c := newClient(b, svcConfig())
	if _, err := c.Token(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// The x/oauth2 adapter's hit path: no allocation.
func BenchmarkTokenSourceHit(b *testing.B) {
	c := newClient(b, svcConfig())
	ts := c.TokenSource()
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}
