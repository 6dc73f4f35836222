package cctoken

import (
	"time"

	"golang.org/x/oauth2"
)

// TokenSource adapts the client to golang.org/x/oauth2, so that oauth2.NewClient and
// oauth2.Transport work with it. Each call is a Token call: cached, refreshed ahead of
// expiry. oauth2's transport sets "Authorization: <type> <token>" and does not retry a 401;
// for that, and for DPoP proofs, use Transport.
func (c *Client) TokenSource() oauth2.TokenSource { return tokenSource{c} }

type tokenSource struct{ c *Client }

func (s tokenSource) Token() (*oauth2.Token, error) {
	t, err := s.c.Token()
	if err != nil {
		return nil, err
	}
	return t.OAuth2(), nil
}

// OAuth2 converts the token to an *oauth2.Token (with "scope" as an extra).
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
