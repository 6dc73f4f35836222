package cctoken

import (
	"time"

	"golang.org/x/oauth2"
)

// TokenSource adapts the client to golang.org/x/oauth2, so that oauth2.NewClient and
// oauth2.Transport work with it. Each call is a Token call: cached, refreshed ahead of
// expiry. oauth2's transport sets "Authorization: <type> <token>" and does not retry a 401;
// for that, and for DPoP proofs, use Transport.
//
// Like oauth2.ReuseTokenSource, the source hands every caller the same *oauth2.Token until
// the token changes, so a cache hit allocates nothing: treat it as read-only (copy the struct
// before changing it; Token.OAuth2 gives a private copy). Its ExpiresIn is the lifetime as of
// the fetch, as on the wire; Expiry is what counts.
func (c *Client) TokenSource() oauth2.TokenSource { return tokenSource{c} }

type tokenSource struct{ c *Client }

func (s tokenSource) Token() (*oauth2.Token, error) {
	if cur := s.c.fresh(); cur != nil {
		return cur.o2, nil
	}
	t, err := s.c.fetch(0)
	if err != nil {
		return nil, err
	}
	if cur := s.c.cur.Load(); cur != nil && cur.tok == t {
		return cur.o2, nil // the copy this fetch stored: the one later hits share
	}
	return t.OAuth2(), nil
}

// OAuth2 converts the token to a new *oauth2.Token (with "scope" as an extra).
func (t *Token) OAuth2() *oauth2.Token {
	o := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.scheme(), Expiry: t.Expiry}
	if t.Expiry.IsZero() {
		// Single-use: oauth2 reads a zero Expiry as "never expires" and would reuse it.
		o.Expiry = time.Now()
	} else {
		o.ExpiresIn = int64(t.ExpiresIn() / time.Second)
	}
	if t.Scope != "" {
		o = o.WithExtra(map[string]any{"scope": t.Scope})
	}
	return o
}
