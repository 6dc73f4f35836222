package cctoken

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Transport returns an http.RoundTripper that authorizes each request with the client's
// token ("Authorization: Bearer …"; for DPoP tokens "Authorization: DPoP …" plus a DPoP proof
// header) and sends it through base (http.DefaultTransport when nil).
//
// On a 401 to the token it sent, it invalidates that token (unless the 401 is a DPoP
// use_dpop_nonce challenge) and retries once when the request body can be replayed (no body,
// or GetBody set, as http.NewRequest does for in-memory bodies): with the server's nonce
// after a nonce challenge, otherwise with a new token.
//
// A redirect hop to another origin (scheme, host, port) than the request's first hop is sent
// as it is, without the token or a DPoP proof: an http.Client calls the Transport again for
// every hop, and the token must not follow a redirect to another server.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c      *Client
	base   http.RoundTripper
	nonces sync.Map // host → the last DPoP-Nonce it sent (RFC 9449 §9)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !sameOriginAsFirstHop(req) {
		return t.base.RoundTrip(req)
	}
	tok, err := t.c.TokenContext(req.Context())
	if err != nil {
		closeBody(req.Body)
		return nil, err
	}
	resp, err := t.send(req, req.Body, tok, t.nonce(req))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	nonce, nonceChallenge := dpopNonceChallenge(resp)
	refused := !tok.isDPoP() || !nonceChallenge
	if refused {
		// The server refused this token, whether or not the request can be sent again (the
		// Python adapters do the same): the next request gets a new one.
		t.c.Invalidate(tok)
	}
	body, ok := replayableBody(req)
	if !ok {
		return resp, nil
	}
	if refused {
		if tok, err = t.c.TokenContext(req.Context()); err != nil {
			closeBody(body)
			closeBody(resp.Body)
			return nil, err
		}
		nonce = t.nonce(req)
	}
	// Drain a little so the connection can be reused, then drop the refused answer.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	closeBody(resp.Body)
	return t.send(req, body, tok, nonce)
}

// send authorizes a copy of req (the caller's request is not modified) and sends it.
func (t *transport) send(req *http.Request, body io.ReadCloser, tok *Token, nonce string) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", tok.AuthorizationHeader())
	if tok.isDPoP() {
		proof, err := t.c.DPoPProof(r.Method, r.URL.String(), tok, nonce)
		if err != nil {
			closeBody(body)
			return nil, err
		}
		r.Header.Set("DPoP", proof)
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil && tok.isDPoP() {
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			t.nonces.Store(req.URL.Host, n)
		}
	}
	return resp, err
}

// sameOriginAsFirstHop reports whether req goes to the origin of the request that started its
// redirect chain (req.Response is set only on hops an http.Client makes after a redirect).
func sameOriginAsFirstHop(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first == req || origin(first.URL) == origin(req.URL)
}

// origin is scheme://host:port, lower case, with the scheme's default port made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func (t *transport) nonce(req *http.Request) string {
	if n, ok := t.nonces.Load(req.URL.Host); ok {
		return n.(string)
	}
	return ""
}

// replayableBody gives a fresh copy of req's body for a retry; false when it cannot be had.
func replayableBody(req *http.Request) (io.ReadCloser, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Body, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	return body, err == nil
}

// dpopNonceChallenge reports a resource server's request to retry with its nonce:
// 401, WWW-Authenticate: DPoP error="use_dpop_nonce", and a DPoP-Nonce header.
func dpopNonceChallenge(resp *http.Response) (string, bool) {
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		return "", false
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if strings.Contains(v, "use_dpop_nonce") {
			return nonce, true
		}
	}
	return "", false
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}
