package cctoken

// #include "cctoken.h"
import "C"

import (
	"bufio"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// Metrics is a snapshot of a client's counters.
type Metrics struct {
	Hits             uint64        // calls answered from the cache (including the binding's copy)
	Misses           uint64        // calls that had to fetch or wait for a fetch
	Fetches          uint64        // token requests started (retries not counted)
	FetchFailures    uint64        // fetches that ended in an error
	Retries          uint64        // extra HTTP attempts made by the retry policy
	CoalescedWaiters uint64        // calls that waited for a fetch another caller started
	StaleServed      uint64        // calls answered with the valid token while a refresh failed
	LastFetchLatency time.Duration // duration of the last completed fetch

	Cooldowns          uint64 // credential failures that started a cool-down
	CooldownRejections uint64 // calls answered with the cool-down's error, without a request
	// Requests counts HTTP attempts (retries included) by outcome: "success" or the error
	// class ("connect", "timeout", "tls", "io", "http", "oauth", "invalid_response", "config").
	Requests map[string]uint64
	// FetchLatency counts fetch durations (retries included) per bucket of
	// FetchLatencyBuckets (not cumulative); FetchLatencyCount includes longer ones.
	FetchLatency      [12]uint64
	FetchLatencyCount uint64
	FetchLatencySum   time.Duration
	// TokenExpiresIn is the time until the cached token expires; TokenCached is false (and
	// TokenExpiresIn 0) with no token cached.
	TokenExpiresIn time.Duration
	TokenCached    bool
	// Shared store (Config.CacheDir / Config.RedisURL); zero without one.
	StoreHits       uint64 // local misses answered by the store, without a token request
	StoreMisses     uint64 // local misses that found no usable entry in the store
	StoreErrors     uint64 // store failures, each followed by a direct fetch
	StoreLeaseWaits uint64 // fetches that waited for another process holding the store's lease
}

// FetchLatencyBuckets are the upper bounds of Metrics.FetchLatency.
var FetchLatencyBuckets = [12]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// Metrics returns the client's counters. After Close it returns the last ones.
func (c *Client) Metrics() Metrics {
	var m Metrics
	if c.acquire() {
		m, _ = readMetrics(c.ptr)
		runtime.KeepAlive(c)
		c.release()
	} else if final := c.final.Load(); final != nil {
		m = *final
	}
	m.Hits += c.hits.sum()
	return m
}

// readMetrics reads the core's counters and its shared-store counters.
func readMetrics(ptr *C.cct_client) (Metrics, bool) {
	var cm C.cct_metrics
	if C.cct_client_metrics(ptr, &cm, nil) != C.CCT_STATUS_OK {
		return Metrics{}, false
	}
	m := metricsFrom(&cm)
	var sm C.cct_store_metrics
	if C.cct_client_store_metrics(ptr, &sm, nil) == C.CCT_STATUS_OK {
		m.StoreHits, m.StoreMisses = uint64(sm.store_hits), uint64(sm.store_misses)
		m.StoreErrors, m.StoreLeaseWaits = uint64(sm.store_errors), uint64(sm.store_lease_waits)
	}
	return m, true
}

func metricsFrom(m *C.cct_metrics) Metrics {
	out := Metrics{
		Hits:               uint64(m.hits),
		Misses:             uint64(m.misses),
		Fetches:            uint64(m.fetches),
		FetchFailures:      uint64(m.fetch_failures),
		Retries:            uint64(m.retries),
		CoalescedWaiters:   uint64(m.coalesced_waiters),
		StaleServed:        uint64(m.stale_served),
		LastFetchLatency:   time.Duration(m.last_fetch_latency_us) * time.Microsecond,
		Cooldowns:          uint64(m.cooldowns),
		CooldownRejections: uint64(m.cooldown_rejections),
		Requests: map[string]uint64{
			"success":          uint64(m.requests_success),
			"connect":          uint64(m.requests_connect),
			"timeout":          uint64(m.requests_timeout),
			"tls":              uint64(m.requests_tls),
			"io":               uint64(m.requests_io),
			"http":             uint64(m.requests_http),
			"oauth":            uint64(m.requests_oauth),
			"invalid_response": uint64(m.requests_invalid_response),
			"config":           uint64(m.requests_config),
		},
		FetchLatencyCount: uint64(m.fetch_latency_count),
		FetchLatencySum:   time.Duration(m.fetch_latency_sum_us) * time.Microsecond,
		TokenExpiresIn:    time.Duration(m.token_expires_in_ms) * time.Millisecond,
		TokenCached:       m.token_cached != 0,
	}
	for i := range out.FetchLatency {
		out.FetchLatency[i] = uint64(m.fetch_latency_buckets[i])
	}
	return out
}

// MetricsText returns the client's metrics in the Prometheus text exposition format (the
// library renders it; every sample is labelled with client_id), hits of the binding's own copy
// of the token included. Empty once the client is closed.
func (c *Client) MetricsText() string {
	if !c.acquire() {
		return ""
	}
	defer c.release()
	var out *C.char
	if C.cct_client_metrics_text(c.ptr, C.uint64_t(c.hits.sum()), &out, nil) != C.CCT_STATUS_OK {
		return ""
	}
	defer C.cct_string_free(out)
	runtime.KeepAlive(c)
	return C.GoString(out)
}

// MetricsHandler serves the metrics of the given clients as a Prometheus /metrics endpoint,
// with no dependency: the library's text is passed through, each metric family's lines of all
// clients put together under one HELP/TYPE header (as the format requires). Closed clients
// are left out. Next to prometheus/client_golang, mount it on its own path and add that path
// to the scrape configuration (see the README).
func MetricsHandler(clients ...*Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, clients)
	})
}

// writeMetrics merges the clients' expositions family by family, in first-seen order. The
// library writes each family as "# HELP name", "# TYPE name", then its samples.
func writeMetrics(w io.Writer, clients []*Client) {
	var order []string
	families := map[string]*strings.Builder{}
	for _, c := range clients {
		sc := bufio.NewScanner(strings.NewReader(c.MetricsText()))
		var cur *strings.Builder
		for sc.Scan() {
			line := sc.Text()
			if name, ok := strings.CutPrefix(line, "# HELP "); ok {
				name, _, _ = strings.Cut(name, " ")
				if cur = families[name]; cur == nil {
					cur = &strings.Builder{}
					families[name] = cur
					order = append(order, name)
					cur.WriteString(line + "\n")
				} else {
					cur = families[name]
				}
				continue
			}
			if strings.HasPrefix(line, "# TYPE ") {
				if cur.Len() > 0 && !strings.Contains(cur.String(), "\n# TYPE ") {
					cur.WriteString(line + "\n")
				}
				continue
			}
			if cur != nil && line != "" {
				cur.WriteString(line + "\n")
			}
		}
	}
	for _, name := range order {
		io.WriteString(w, families[name].String())
	}
}
