package cctoken

import (
	"io"
	"net/http"
	"strings"
	"sync"
)

// Transport returns an http.RoundTripper that authorizes each request with the client's
// token ("Authorization: Bearer …"; for DPoP tokens "Authorization: DPoP …" plus a DPoP proof
// header) and sends it through base (http.DefaultTransport when nil).
//
// On a 401 it retries once, when the request body can be replayed (no body, or GetBody set,
// as http.NewRequest does for in-memory bodies): after a DPoP use_dpop_nonce challenge with
// the server's nonce, otherwise with a new token after invalidating the refused one.
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
	tok, err := t.c.TokenContext(req.Context())
	if err != nil {
		closeBody(req.Body)
		return nil, err
	}
	resp, err := t.send(req, req.Body, tok, t.nonce(req))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	body, ok := replayableBody(req)
	if !ok {
		return resp, nil
	}
	nonce, nonceChallenge := dpopNonceChallenge(resp)
	if !tok.isDPoP() || !nonceChallenge {
		t.c.Invalidate(tok)
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
