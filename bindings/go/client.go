package cctoken

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #include <stdlib.h>
// #include "cctoken.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/oauth2"
)

// Client gets access tokens for one configuration and caches them. It is safe for concurrent
// use; create one per configuration and share it. Close it when done (a finalizer closes a
// forgotten one).
type Client struct {
	// The fast path: the current token, reused without crossing into C until the library's
	// refresh point for it. The library still decides every fetch. A hit only reads these two
	// fields (and writes its own stripe of hits, elsewhere); the padding keeps the fields that
	// calls into the library write (state, mu, gen) off their cache line.
	cur  atomic.Pointer[cachedToken]
	hits hitCounter
	_    [cacheLine - 8 - unsafe.Sizeof(hitCounter{})]byte

	ptr *C.cct_client // set by New, freed once by free

	// state counts the calls inside the library (in steps of 2) and holds the closed bit, so
	// that Close never frees the handle under a running call: the last one out frees it.
	state atomic.Uint64

	mu  sync.Mutex    // orders storing cur against Invalidate and Close
	gen atomic.Uint64 // bumped by Invalidate: fetches started before it do not store

	callTimeout time.Duration
	final       atomic.Pointer[Metrics] // the library's counters when the handle was freed
	events      cgo.Handle              // Config.Logger for the event callback; 0 without one
}

// cachedToken is the binding's copy of the current token. It is never modified once stored,
// so every caller may share it.
type cachedToken struct {
	tok        *Token
	o2         *oauth2.Token // the same token for TokenSource, built once
	freshUntil time.Time     // the library's refresh point; carries a monotonic reading
}

const closedBit = 1

var abiCheck = sync.OnceValue(func() error {
	if got := uint32(C.cct_abi_version()); got != C.CCT_ABI_VERSION {
		return &Error{Status: StatusConfig, Message: fmt.Sprintf(
			"libcctoken has ABI version %d but this binding was built for %d: rebuild the library (make stage) "+
				"or use the binding from the same release", got, C.CCT_ABI_VERSION)}
	}
	return nil
})

// Version is the version of the linked library, e.g. "0.1.0".
func Version() string { return C.GoString(C.cct_version()) }

// New builds a client. It does no network I/O: the first token is fetched by the first
// Token call. A bad configuration gives an *Error matching ErrConfig that names the option.
func New(cfg Config) (*Client, error) {
	if err := abiCheck(); err != nil {
		return nil, err
	}
	cc, err := cfg.toC()
	if err != nil {
		return nil, err
	}
	defer C.cct_config_free(cc)
	var events cgo.Handle
	if cfg.Logger != nil {
		if events, err = setEventHandle(cc, cfg.Logger); err != nil {
			return nil, err
		}
	}
	var p *C.cct_client
	var cerr *C.cct_error
	if st := C.cct_client_new(cc, &p, &cerr); st != C.CCT_STATUS_OK {
		if events != 0 {
			events.Delete()
		}
		return nil, errorFrom(st, cerr)
	}
	c := &Client{ptr: p, callTimeout: cfg.CallTimeout, hits: newHitCounter(), events: events}
	if c.callTimeout <= 0 {
		c.callTimeout = defaultCallTimeout
	}
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Close releases the client. It is idempotent and safe to call concurrently with other
// calls: those already inside the library finish first (Close does not wait for them), later
// ones return ErrClosed. It always returns nil.
func (c *Client) Close() error {
	for {
		s := c.state.Load()
		if s&closedBit != 0 {
			return nil
		}
		if c.state.CompareAndSwap(s, s|closedBit) {
			if s == 0 {
				c.free()
			}
			break
		}
	}
	// Under mu: a fetch finishing now cannot store its token after this (remember checks the
	// closed bit under mu), so no hit answers once Close has returned.
	c.mu.Lock()
	c.cur.Store(nil)
	c.mu.Unlock()
	runtime.SetFinalizer(c, nil)
	return nil
}

// acquire registers a call into the library; false once the client is closed.
func (c *Client) acquire() bool {
	for {
		s := c.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+2) {
			return true
		}
	}
}

// release ends a call; the last call out of a closed client frees it.
func (c *Client) release() {
	if c.state.Add(^uint64(1)) == closedBit { // -2
		c.free()
	}
}

func (c *Client) free() {
	if final, ok := readMetrics(c.ptr); ok {
		c.final.Store(&final)
	}
	C.cct_client_free(c.ptr)
	// cct_client_free has returned: the library calls the event callback no more.
	if c.events != 0 {
		c.events.Delete()
	}
}

// Token returns a valid access token: the cached one, or a new one (one request per client
// at a time; concurrent callers share it). It blocks for at most Config.CallTimeout.
func (c *Client) Token() (*Token, error) {
	if cur := c.fresh(); cur != nil {
		return cur.tok, nil
	}
	return c.fetch(0)
}

// TokenContext is Token bounded by ctx. A deadline limits the library's wait (it never
// extends CallTimeout); when ctx is cancelled first, TokenContext returns ctx.Err() at once
// while the library finishes the request in the background, for the next caller.
func (c *Client) TokenContext(ctx context.Context) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cur := c.fresh(); cur != nil {
		return cur.tok, nil
	}
	var timeout time.Duration
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	if ctx.Done() == nil {
		tok, err := c.fetch(timeout)
		return tok, contextTimeout(ctx, deadline, hasDeadline, err)
	}
	type result struct {
		tok *Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := c.fetch(timeout)
		done <- result{tok, err}
	}()
	select {
	case r := <-done:
		return r.tok, contextTimeout(ctx, deadline, hasDeadline, r.err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// contextTimeout makes a library timeout that ctx's deadline caused match the context error
// too. The library waits exactly until that deadline, while the context's own timer may fire
// a little later: a deadline already past counts even when ctx.Err() is still nil.
func contextTimeout(ctx context.Context, deadline time.Time, hasDeadline bool, err error) error {
	var e *Error
	if err == nil || !errors.As(err, &e) || e.Status != StatusTimeout {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		e.cause = ctxErr
	} else if hasDeadline && !time.Now().Before(deadline) {
		e.cause = context.DeadlineExceeded
	}
	return err
}

// fresh answers from the binding's copy of the current token, without cgo, and counts the
// hit; nil when the library must be asked (also once the client is closed: Close clears the
// copy, and fetch reports ErrClosed).
//
// One clock read per hit: time.Until of a time with a monotonic reading reads only the
// monotonic clock (time.Now reads the wall clock too, which costs as much again). Nothing
// cheaper is safe here: a clock cached by a timer or a goroutine could be arbitrarily late
// after the process was stopped or starved, and serve a token past its expiry.
func (c *Client) fresh() *cachedToken {
	cur := c.cur.Load()
	if cur == nil || time.Until(cur.freshUntil) <= 0 {
		return nil
	}
	c.hits.add()
	return cur
}

// fetch asks the library, waiting at most timeout (capped at the call timeout; 0 = that).
func (c *Client) fetch(timeout time.Duration) (*Token, error) {
	if !c.acquire() {
		return nil, ErrClosed
	}
	defer c.release()
	gen := c.gen.Load()
	var t *C.cct_token
	var cerr *C.cct_error
	var st C.cct_status
	if timeout > 0 && timeout < c.callTimeout {
		st = C.cct_client_get_token_timeout(c.ptr, durationMillis(timeout), &t, &cerr)
	} else {
		st = C.cct_client_get_token(c.ptr, &t, &cerr)
	}
	runtime.KeepAlive(c)
	if st != C.CCT_STATUS_OK {
		return nil, errorFrom(st, cerr)
	}
	tok, fresh := newToken(t)
	if fresh > 0 {
		c.remember(gen, &cachedToken{tok: tok, o2: tok.OAuth2(), freshUntil: time.Now().Add(fresh)})
	}
	return tok, nil
}

// remember keeps next as the fast-path copy unless an Invalidate happened since the fetch
// began (gen) or a fresher copy is already there.
func (c *Client) remember(gen uint64, next *cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen || c.state.Load()&closedBit != 0 {
		return
	}
	if cur := c.cur.Load(); cur == nil || next.freshUntil.After(cur.freshUntil) {
		c.cur.Store(next)
	}
}

// Invalidate tells the client that tok was refused (a resource server answered 401), so
// that the next call gets a new token. Tokens already replaced are left alone, so many
// callers failing with the same token cause one fetch.
func (c *Client) Invalidate(tok *Token) {
	if tok == nil {
		return
	}
	h := tok.h
	if cur := c.cur.Load(); h == nil && cur != nil && cur.tok.AccessToken == tok.AccessToken {
		h = cur.tok.h // a copy made by the caller: match the current token by value
	}
	if h != nil && c.acquire() {
		C.cct_client_invalidate(c.ptr, h.p, nil)
		runtime.KeepAlive(h)
		runtime.KeepAlive(c)
		c.release()
	}
	// After the library dropped it: a fetch that began earlier must not bring it back.
	c.mu.Lock()
	c.gen.Add(1)
	c.cur.Store(nil)
	c.mu.Unlock()
}

// SetClientSecret replaces the secret of a live client (for rotation). The next token
// request uses it; the cached token stays until refreshed.
func (c *Client) SetClientSecret(secret string) error {
	s, free, err := cString("ClientSecret", secret)
	if err != nil {
		return err
	}
	defer free()
	if !c.acquire() {
		return ErrClosed
	}
	defer c.release()
	var cerr *C.cct_error
	st := C.cct_client_set_client_secret(c.ptr, s, &cerr)
	runtime.KeepAlive(c)
	if st != C.CCT_STATUS_OK {
		return errorFrom(st, cerr)
	}
	return nil
}
