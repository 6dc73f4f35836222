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
}

// Metrics returns the client's counters. After Close it returns the last ones.
func (c *Client) Metrics() Metrics {
	var m Metrics
	if c.acquire() {
		var cm C.cct_metrics
		if C.cct_client_metrics(c.ptr, &cm, nil) == C.CCT_STATUS_OK {
			m = metricsFrom(&cm)
		}
		runtime.KeepAlive(c)
		c.release()
	} else if final := c.final.Load(); final != nil {
		m = *final
	}
	m.Hits += c.hits.sum()
	return m
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
