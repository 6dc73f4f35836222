package cctoken_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

// recorder is a slog.Handler that keeps every record with its attributes.
type recorder struct {
	mu      sync.Mutex
	records []record
}

type record struct {
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]slog.Value{}
	rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
	r.mu.Lock()
	r.records = append(r.records, record{rec.Level, rec.Message, attrs})
	r.mu.Unlock()
	return nil
}

func (r *recorder) of(kind string) []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []record
	for _, rec := range r.records {
		if rec.attrs["event"].String() == kind {
			out = append(out, rec)
		}
	}
	return out
}

func waitFor(limit time.Duration, cond func() bool) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// A scenario (success, a failing refresh with retries while the cached token is served,
// recovery, invalid_client and its cool-down, rotation) logged through slog: the expected
// records and attributes, and neither the secret nor a token anywhere in them.
func TestEventsToSlogWithoutSecrets(t *testing.T) {
	resetServer(t)
	rec := &recorder{}
	cfg := svcConfig()
	cfg.Logger = slog.New(rec)
	cfg.Refresh = &cctoken.RefreshPolicy{Ratio: 0.5, MinWindow: 0, Jitter: 0}
	cfg.Retry = &cctoken.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	c := newClient(t, cfg)
	var tokens []string

	fault(t, `{"expires_in": 3}`)
	first, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	tokens = append(tokens, first.AccessToken)
	fault(t, `{"status": 503, "error": "temporarily_unavailable", "retry_after": "0", "count": 3}`)
	waitFor(5*time.Second, func() bool { return time.Until(first.Expiry) < 1400*time.Millisecond })
	if served, err := c.Token(); err != nil || served.AccessToken != first.AccessToken {
		t.Fatalf("the cached token is served while refreshing (err %v)", err)
	}
	if !waitFor(10*time.Second, func() bool { return len(rec.of("refresh.failed_stale_served")) == 1 }) {
		t.Fatal("no refresh.failed_stale_served record")
	}
	if !waitFor(10*time.Second, func() bool {
		if tok, err := c.Token(); err == nil {
			tokens = append(tokens, tok.AccessToken)
		}
		return len(rec.of("token_request.succeeded")) >= 2
	}) {
		t.Fatal("no recovery")
	}
	current, _ := c.Token()
	fault(t, `{"status": 401, "error": "invalid_client"}`)
	c.Invalidate(current)
	if _, err := c.Token(); err == nil {
		t.Fatal("invalid_client expected")
	}
	if _, err := c.Token(); err == nil {
		t.Fatal("cool-down expected")
	}
	if err := c.SetClientSecret(clientSecret); err != nil {
		t.Fatal(err)
	}
	after, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	tokens = append(tokens, after.AccessToken)
	m := c.Metrics()
	text := c.MetricsText()
	c.Close()

	for _, kind := range []string{"token_request.succeeded", "token_request.failed", "refresh.started",
		"refresh.failed_stale_served", "cooldown.entered", "cooldown.ended", "secret.rotated"} {
		if len(rec.of(kind)) == 0 {
			t.Errorf("no %s record", kind)
		}
	}
	var retried *record
	for _, r := range rec.of("token_request.failed") {
		if r.attrs["attempt"].Int64() == 1 && r.attrs["http_status"].Int64() == 503 {
			retried = &r
			break
		}
	}
	if retried == nil {
		t.Fatal("no first-attempt 503 record")
	}
	if retried.level != slog.LevelWarn || !retried.attrs["will_retry"].Bool() ||
		retried.attrs["oauth_error"].String() != "temporarily_unavailable" ||
		retried.attrs["client_id"].String() != clientID || retried.attrs["token_endpoint"].String() != tokenURL {
		t.Errorf("first failed attempt: level %v, attrs %v", retried.level, retried.attrs)
	}
	stale := rec.of("refresh.failed_stale_served")[0]
	if left := stale.attrs["time_left_ms"].Int64(); stale.level != slog.LevelWarn || left <= 0 || left >= 3000 {
		t.Errorf("stale record: level %v time_left_ms %d", stale.level, left)
	}
	if cool := rec.of("cooldown.entered"); len(cool) != 1 || cool[0].level != slog.LevelError {
		t.Errorf("cooldown.entered records: %v", cool)
	}

	var all strings.Builder
	for _, r := range rec.records {
		all.WriteString(r.msg)
		for k, v := range r.attrs {
			all.WriteString(" " + k + "=" + v.String())
		}
		all.WriteString("\n")
	}
	all.WriteString(text)
	for _, secret := range append([]string{clientSecret}, tokens...) {
		if strings.Contains(all.String(), secret) {
			t.Fatalf("a record or the metrics text holds the secret or a token (not shown)")
		}
	}

	if m.Requests["oauth"] != 4 || m.Cooldowns != 1 || m.CooldownRejections != 1 || m.FetchLatencyCount != m.Fetches {
		t.Errorf("metrics: %+v", m)
	}
	if !strings.Contains(text, `cctoken_token_requests_total{client_id="svc",outcome="oauth"} 4`) {
		t.Errorf("metrics text lacks the oauth outcome count")
	}
}

func TestNilLoggerIsSilentAndMetricsHandler(t *testing.T) {
	resetServer(t)
	a := newClient(t, svcConfig()) // no Logger: no callback at all
	cfg := svcConfig()
	cfg.ClientID, cfg.ClientSecret, cfg.AuthMethod = postClientID, postSecret, cctoken.ClientSecretPost
	b := newClient(t, cfg)
	for range 3 {
		if _, err := a.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Token(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cctoken.MetricsHandler(a, b))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`cctoken_cache_hits_total{client_id="svc"} 2`,
		`cctoken_token_requests_total{client_id="poster",outcome="success"} 1`,
		`cctoken_fetch_duration_seconds_count{client_id="svc"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(text, "# TYPE cctoken_fetch_duration_seconds histogram"); n != 1 {
		t.Errorf("%d TYPE lines for one family", n)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
}

// The logger is never called after Close has freed the client, even with a refresh running.
func TestNoRecordAfterClose(t *testing.T) {
	resetServer(t)
	rec := &recorder{}
	cfg := svcConfig()
	cfg.Logger = slog.New(rec)
	cfg.CallTimeout = 5 * time.Second
	c, err := cctoken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fault(t, `{"latency_ms": 500}`)
	if _, err := c.TokenContext(shortContext(t, 100*time.Millisecond)); err == nil {
		t.Fatal("expected a timeout")
	}
	c.Close()
	rec.mu.Lock()
	n := len(rec.records)
	rec.mu.Unlock()
	time.Sleep(800 * time.Millisecond) // the fetch the caller left finishes meanwhile
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.records) != n {
		t.Errorf("%d records after Close", len(rec.records)-n)
	}
}

func shortContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
