package cctoken_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// headerRecorder is a server on 127.0.0.1 that records the credentials each request carried.
type headerRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newHeaderRecorder(t *testing.T) *headerRecorder {
	h := &headerRecorder{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, http.Header{"Authorization": r.Header.Values("Authorization"), "Dpop": r.Header.Values("DPoP")})
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *headerRecorder) requests() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.seen...)
}

// redirector answers /to-other with a redirect to target and /to-self with one to its own /ok.
func redirector(t *testing.T, target string) *headerRecorder {
	h := &headerRecorder{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, http.Header{"Authorization": r.Header.Values("Authorization"), "Dpop": r.Header.Values("DPoP")})
		h.mu.Unlock()
		switch r.URL.Path {
		case "/to-other":
			http.Redirect(w, r, target+"/landed", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// Issue 8: the Transport re-added the token on every redirect hop, so a resource server could
// send it (and a DPoP proof) to any host by redirecting there.
func TestTransportNeverAuthorizesARedirectToAnotherOrigin(t *testing.T) {
	for _, dpop := range []bool{false, true} {
		name := map[bool]string{false: "bearer", true: "dpop"}[dpop]
		t.Run(name, func(t *testing.T) {
			resetServer(t)
			cfg := svcConfig()
			if dpop {
				fault(t, `{"token_type": "DPoP"}`)
				cfg.DPoP = true
			}
			c := newClient(t, cfg)
			tok, err := c.Token()
			if err != nil {
				t.Fatal(err)
			}
			other := newHeaderRecorder(t) // another port on 127.0.0.1: another origin
			a := redirector(t, other.URL)
			hc := &http.Client{Transport: c.Transport(nil)}

			if code := get(t, hc, a.URL+"/to-other"); code != http.StatusOK {
				t.Fatalf("GET = %d", code)
			}
			got := other.requests()
			if len(got) != 1 {
				t.Fatalf("the other origin saw %d requests, want 1", len(got))
			}
			if len(got[0]["Authorization"]) != 0 || len(got[0]["Dpop"]) != 0 {
				t.Fatal("the token or a DPoP proof followed the redirect to another origin")
			}
			if first := a.requests()[0]; len(first["Authorization"]) != 1 || first.Get("Authorization") != tok.AuthorizationHeader() {
				t.Fatal("the first hop was not authorized")
			}
			if dpop && len(a.requests()[0]["Dpop"]) != 1 {
				t.Fatal("the first hop had no DPoP proof")
			}

			// A redirect within the origin keeps the authorization.
			if code := get(t, hc, a.URL+"/to-self"); code != http.StatusOK {
				t.Fatalf("GET = %d", code)
			}
			all := a.requests()
			if last := all[len(all)-1]; last.Get("Authorization") != tok.AuthorizationHeader() {
				t.Fatal("a same-origin redirect hop was not authorized")
			}
		})
	}
}

// Issue 8: on a 401 to a request whose body cannot be sent again, Go skipped Invalidate while
// Python invalidated; both invalidate now (and neither retries).
func TestTransportInvalidatesOn401EvenWithoutReplay(t *testing.T) {
	resetServer(t)
	c := newClient(t, svcConfig())
	before, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	rs := newRefusingServer(t)
	hc := &http.Client{Transport: c.Transport(nil)}
	req, _ := http.NewRequest("POST", rs.URL, io.NopCloser(strings.NewReader("once"))) // no GetBody
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || rs.requests.Load() != 1 {
		t.Fatalf("status %d after %d requests, want 401 after 1 (no replay)", resp.StatusCode, rs.requests.Load())
	}
	after, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	if after.AccessToken == before.AccessToken {
		t.Fatal("the refused token is still cached: the 401 did not invalidate it")
	}
}
