package cctoken

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// cacheLine is the padding unit: 128 bytes covers x86's 64-byte lines (whose adjacent-line
// prefetcher moves them in pairs) and the 128-byte lines of some arm64 cores.
const cacheLine = 128

// hitCounter counts the fast path's hits in stripes, one cache line each, so that goroutines
// running in parallel do not all write one line on every hit (a single shared counter costs a
// cross-core line transfer per hit, and would evict the token pointer next to it too).
//
// A goroutine picks its stripe from the address of its stack: free to compute, and different
// for goroutines running at the same time, since each has its own stack. Two goroutines may
// share a stripe; the increments are atomic, so the count stays exact and only contention is
// left to chance.
type hitCounter struct {
	stripes []hitStripe
	shift   uint // 64 - log2(len(stripes)): the top bits of the hash pick the stripe
}

type hitStripe struct {
	n atomic.Uint64
	_ [cacheLine - 8]byte
}

const (
	minStripes = 8
	maxStripes = 64
)

// newHitCounter sizes the stripes for the processors Go may use now: four per P, so that two
// running goroutines rarely meet (8 to 64 stripes, 1 to 8 KiB per client).
func newHitCounter() hitCounter {
	n := min(max(4*runtime.GOMAXPROCS(0), minStripes), maxStripes)
	log := bits.Len(uint(n - 1)) // n rounded up to a power of two
	return hitCounter{stripes: make([]hitStripe, 1<<log), shift: uint(64 - log)}
}

func (h *hitCounter) add() {
	var marker byte
	// Stacks are at least 2 KiB apart; Fibonacci hashing spreads the 1 KiB block number.
	sp := uint64(uintptr(unsafe.Pointer(&marker)))
	h.stripes[(sp>>10)*0x9E3779B97F4A7C15>>h.shift].n.Add(1)
}

func (h *hitCounter) sum() uint64 {
	var total uint64
	for i := range h.stripes {
		total += h.stripes[i].n.Load()
	}
	return total
}
