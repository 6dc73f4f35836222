// Command gobench runs the Go scenarios of `make bench` for the cctoken Go binding and for
// golang.org/x/oauth2/clientcredentials, used as its documentation shows: Config.TokenSource,
// which wraps the fetcher in oauth2.ReuseTokenSource (a mutex, reuse until 10 s before expiry).
//
//	gobench [-smoke] [p1] [p2] [p3] [p4] [p5]     (all when none is named)
//
// The dev server comes from CCTOKEN_BENCH_TOKEN_URL, CCTOKEN_BENCH_CLIENT_ID and
// CCTOKEN_BENCH_CLIENT_SECRET. Prints one JSON result per line for benches/run.py.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	group = "go"
	// x/oauth2 treats a token as expired this long before its expiry (its expiryDelta).
	peerMargin = 10
	peerName   = "x/oauth2 clientcredentials"
	ccName     = "cctoken (Go binding)"
)

var (
	tokenURL, clientID, clientSecret, base string
	smoke                                  bool
	lifetime                               int // seconds of life of the short tokens (P3 expired, P4)
)

func env(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "gobench: %s is not set: run the benchmarks with `make bench`\n", name)
		os.Exit(2)
	}
	return v
}

func main() {
	flag.BoolVar(&smoke, "smoke", false, "tiny counts, to check that everything runs")
	flag.Parse()
	testing.Init()
	tokenURL, clientID, clientSecret = env("CCTOKEN_BENCH_TOKEN_URL"), env("CCTOKEN_BENCH_CLIENT_ID"), env("CCTOKEN_BENCH_CLIENT_SECRET")
	base = strings.TrimSuffix(tokenURL, "/token")
	lifetime = 2
	if smoke {
		lifetime = 1
	}
	want := flag.Args()
	run := func(name string) bool { return len(want) == 0 || slices.Contains(want, name) }
	if run("p1") {
		p1()
	}
	if run("p2") {
		p2()
	}
	if run("p3") {
		p3()
	}
	if run("p4") {
		p4()
	}
	if run("p5") {
		p5()
	}
}

// --- the clients under test ---

func newCctoken() *cctoken.Client {
	c, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"read"}, AuthMethod: cctoken.ClientSecretBasic})
	must(err)
	return c
}

func peerConfig() *clientcredentials.Config {
	return &clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: tokenURL,
		Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}
}

func newPeer() oauth2.TokenSource { return peerConfig().TokenSource(context.Background()) }

type getter func()

func ccGet(c *cctoken.Client) getter {
	return func() {
		if _, err := c.Token(); err != nil {
			panic(err)
		}
	}
}

func tsGet(ts oauth2.TokenSource) getter {
	return func() {
		if _, err := ts.Token(); err != nil {
			panic(err)
		}
	}
}

// --- output and statistics ---

func emit(scenario, cse, library string, ref bool, unit string, v []float64, note string) {
	sort.Float64s(v)
	at := func(q float64) float64 { return v[int(float64(len(v)-1)*q+0.5)] }
	line, _ := json.Marshal(map[string]any{"scenario": scenario, "case": cse, "group": group, "library": library,
		"ref": ref, "unit": unit, "median": at(0.5), "p99": at(0.99), "max": v[len(v)-1], "n": len(v), "note": note})
	fmt.Println(string(line))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
}

// --- the dev server's controls ---

func tokenRequests() float64 {
	resp, err := http.Get(base + "/_dev/stats")
	must(err)
	defer resp.Body.Close()
	var stats struct {
		TokenRequests float64 `json:"token_requests"`
	}
	must(json.NewDecoder(resp.Body).Decode(&stats))
	return stats.TokenRequests
}

func fault(f map[string]any) {
	body, _ := json.Marshal(f)
	resp, err := http.Post(base+"/_dev/fault", "application/json", bytes.NewReader(body))
	must(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func clearFaults() {
	req, _ := http.NewRequest(http.MethodDelete, base+"/_dev/fault", nil)
	resp, err := http.DefaultClient.Do(req)
	must(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// --- P1: cache hit, one goroutine (testing.B, repeated for a distribution) ---

func p1() {
	rounds, benchtime := 15, "100ms"
	if smoke {
		rounds, benchtime = 2, "5ms"
	}
	must(flag.Set("test.benchtime", benchtime))
	bench := func(get getter) []float64 {
		get()
		ns := make([]float64, rounds)
		for i := range ns {
			r := testing.Benchmark(func(b *testing.B) {
				for b.Loop() {
					get()
				}
			})
			ns[i] = float64(r.T.Nanoseconds()) / float64(r.N)
		}
		return ns
	}
	note := fmt.Sprintf("testing.Benchmark ns/op, %d runs of %s", rounds, benchtime)
	c := newCctoken()
	defer c.Close()
	emit("P1", "cache hit, 1 thread", ccName, true, "ns", bench(ccGet(c)), note+"; Client.Token (Go-side copy of the token)")
	emit("P1", "cache hit, 1 thread", "cctoken (Go binding) TokenSource", false, "ns", bench(tsGet(c.TokenSource())),
		note+"; the oauth2.TokenSource adapter (one shared, read-only *oauth2.Token per fetched token)")
	emit("P1", "cache hit, 1 thread", peerName, false, "ns", bench(tsGet(newPeer())), note+"; Config.TokenSource = ReuseTokenSource")
}

// --- P2: hit throughput with 1, 2, 8, 64 goroutines ---

// throughput: wall time / hits of all goroutines, per round.
func throughput(n, rounds int, round time.Duration, get getter) []float64 {
	out := make([]float64, rounds)
	for r := range out {
		var stop atomic.Bool
		var hits atomic.Int64
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		ready.Add(n)
		done.Add(n)
		for range n {
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				k := int64(0)
				for !stop.Load() {
					for range 64 {
						get()
					}
					k += 64
				}
				hits.Add(k)
			}()
		}
		ready.Wait()
		t0 := time.Now()
		close(start)
		time.Sleep(round)
		stop.Store(true)
		done.Wait()
		out[r] = float64(time.Since(t0).Nanoseconds()) / float64(hits.Load())
	}
	return out
}

func p2() {
	rounds, round, counts := 15, 100*time.Millisecond, []int{1, 2, 8, 64}
	if smoke {
		rounds, round, counts = 2, 20*time.Millisecond, []int{1, 8}
	}
	c := newCctoken()
	defer c.Close()
	get, peer := ccGet(c), tsGet(newPeer())
	get()
	peer()
	note := fmt.Sprintf("%d rounds of %s; wall time / hits of all goroutines (GOMAXPROCS=%d)", rounds, round, runtimeProcs())
	for _, n := range counts {
		cse := fmt.Sprintf("hit throughput, %d threads", n)
		emit("P2", cse, ccName, true, "ns", throughput(n, rounds, round, get), note)
		emit("P2", cse, peerName, false, "ns", throughput(n, rounds, round, peer), note)
	}
}

// --- P3: stampede ---

func stampede(n int, get getter) (float64, time.Duration) {
	before := tokenRequests()
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			get()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	took := time.Since(t0)
	return tokenRequests() - before, took
}

func p3() {
	const n = 64
	cold := fmt.Sprintf("stampede, %d callers, cold cache", n)
	expired := fmt.Sprintf("stampede, %d callers, expired token", n)
	report := func(cse, library string, ref bool, requests float64, took time.Duration) {
		emit("P3", cse, library, ref, "requests", []float64{requests},
			fmt.Sprintf("all %d served in %.1f ms", n, float64(took.Microseconds())/1e3))
	}
	c := newCctoken()
	r, took := stampede(n, ccGet(c))
	report(cold, ccName, true, r, took)
	c.Close()
	r, took = stampede(n, tsGet(newPeer()))
	report(cold, peerName, false, r, took)

	wait := time.Duration(lifetime)*time.Second + 200*time.Millisecond
	fault(map[string]any{"expires_in": lifetime, "count": 0})
	c = newCctoken()
	ccGet(c)()
	time.Sleep(wait)
	r, took = stampede(n, ccGet(c))
	report(expired, ccName, true, r, took)
	c.Close()
	clearFaults()

	fault(map[string]any{"expires_in": lifetime + peerMargin, "count": 0})
	peer := tsGet(newPeer())
	peer()
	time.Sleep(wait)
	r, took = stampede(n, peer)
	report(expired, peerName, false, r, took)
	clearFaults()
}

// --- P4: worst caller latency across a refresh, the server answering /token in 50 ms ---

func throughRefresh(life, callers int, run time.Duration, get getter) ([]float64, float64) {
	fault(map[string]any{"latency_ms": 50, "expires_in": life, "count": 0})
	before := tokenRequests()
	var mu sync.Mutex
	var all []float64
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]float64, 0, 20000)
			for time.Since(start) < run {
				t0 := time.Now()
				get()
				mine = append(mine, float64(time.Since(t0).Nanoseconds()))
				time.Sleep(200 * time.Microsecond)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	requests := tokenRequests() - before
	clearFaults()
	return all, requests
}

func p4() {
	const cse = "worst caller latency across a refresh (server +50 ms)"
	callers := 4
	if smoke {
		callers = 2
	}
	run := time.Duration(lifetime)*time.Second - 200*time.Millisecond
	fault(map[string]any{"expires_in": lifetime})
	c := newCctoken()
	defer c.Close()
	ccGet(c)()
	lat, req := throughRefresh(lifetime, callers, run, ccGet(c))
	emit("P4", cse, ccName, true, "ns", lat, fmt.Sprintf("%d callers every 200 µs for %s; %.0f token request(s) during the run", callers, run, req))

	fault(map[string]any{"expires_in": lifetime + peerMargin})
	peer := tsGet(newPeer())
	peer()
	time.Sleep(time.Duration(lifetime)*time.Second - 500*time.Millisecond)
	lat, req = throughRefresh(lifetime+peerMargin, callers, time.Second, peer)
	emit("P4", cse, peerName, false, "ns", lat, fmt.Sprintf("%d callers every 200 µs for 1s; %.0f token request(s) during the run", callers, req))
}

// --- P5: cold fetch over a kept-alive connection ---

func p5() {
	const cse = "cold fetch over a kept-alive connection"
	n := 400
	if smoke {
		n = 5
	}
	timeIt := func(f func()) []float64 {
		for range max(n/10, 2) {
			f()
		}
		out := make([]float64, n)
		for i := range out {
			t0 := time.Now()
			f()
			out[i] = float64(time.Since(t0).Nanoseconds())
		}
		return out
	}
	c := newCctoken()
	defer c.Close()
	emit("P5", cse, ccName, true, "ns", timeIt(func() {
		tok, err := c.Token()
		must(err)
		c.Invalidate(tok)
	}), "Invalidate + Token: one POST each (Rust ureq inside)")

	cfg := peerConfig()
	ctx := context.Background()
	emit("P5", cse, peerName, false, "ns", timeIt(func() {
		_, err := cfg.Token(ctx)
		must(err)
	}), "Config.Token: one POST each (net/http DefaultClient, kept alive)")

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()
	emit("P5", cse, "net/http raw POST", false, "ns", timeIt(func() {
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form))
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		must(err)
		var body struct {
			AccessToken string `json:"access_token"`
		}
		must(json.NewDecoder(resp.Body).Decode(&body))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}), "POST + JSON decode with net/http")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
