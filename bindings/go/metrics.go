package cctoken

// #include "cctoken.h"
import "C"

import (
	"runtime"
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

	// Shared store (Config.CacheDir / Config.RedisURL); zero without one.
	StoreHits       uint64 // local misses answered by the store, without a token request
	StoreMisses     uint64 // local misses that found no usable entry in the store
	StoreErrors     uint64 // store failures, each followed by a direct fetch
	StoreLeaseWaits uint64 // fetches that waited for another process holding the store's lease
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
	return Metrics{
		Hits:             uint64(m.hits),
		Misses:           uint64(m.misses),
		Fetches:          uint64(m.fetches),
		FetchFailures:    uint64(m.fetch_failures),
		Retries:          uint64(m.retries),
		CoalescedWaiters: uint64(m.coalesced_waiters),
		StaleServed:      uint64(m.stale_served),
		LastFetchLatency: time.Duration(m.last_fetch_latency_us) * time.Microsecond,
	}
}
