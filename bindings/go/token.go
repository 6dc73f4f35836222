package cctoken

// #include "cctoken.h"
import "C"

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Token is an access token. Its fields are plain Go copies; formatting a Token (%v, %+v,
// %#v, %s, %q, String) never shows AccessToken. Do not log AccessToken yourself.
type Token struct {
	AccessToken string
	TokenType   string    // e.g. "Bearer" or "DPoP"
	Expiry      time.Time // zero for a single-use token; carries a monotonic reading
	Scope       string    // the granted scope (space-separated), "" when unknown

	h *tokenHandle // the library's token, for Invalidate and DPoP proofs
}

// tokenHandle owns one cct_token reference and frees it when no Token refers to it any more.
// Copies of a Token share it.
type tokenHandle struct {
	p *C.cct_token
}

// newToken copies t's fields into a Token that takes over t. fresh is how long the library
// lets the binding reuse it without asking (its refresh point).
func newToken(t *C.cct_token) (tok *Token, fresh time.Duration) {
	now := time.Now()
	h := &tokenHandle{p: t}
	runtime.AddCleanup(h, func(p *C.cct_token) { C.cct_token_free(p) }, t)
	tok = &Token{
		AccessToken: C.GoString(C.cct_token_access_token(t)),
		TokenType:   C.GoString(C.cct_token_token_type(t)),
		Scope:       C.GoString(C.cct_token_scope(t)),
		h:           h,
	}
	if C.cct_token_expires_at_unix(t) != 0 {
		tok.Expiry = now.Add(time.Duration(C.cct_token_expires_in_ms(t)) * time.Millisecond)
	}
	fresh = time.Duration(C.cct_token_fresh_for_ms(t)) * time.Millisecond
	runtime.KeepAlive(h)
	return tok, fresh
}

// ExpiresIn is the time left until Expiry; 0 once expired and for a single-use token.
func (t *Token) ExpiresIn() time.Duration {
	if t == nil || t.Expiry.IsZero() {
		return 0
	}
	return max(time.Until(t.Expiry), 0)
}

// AuthorizationHeader is the Authorization header value for this token, e.g. "Bearer abc".
func (t *Token) AuthorizationHeader() string {
	return t.scheme() + " " + t.AccessToken
}

// scheme normalises the case of the well-known token types, as resource servers expect it.
func (t *Token) scheme() string {
	switch {
	case t.isDPoP():
		return "DPoP"
	case strings.EqualFold(t.TokenType, "bearer") || t.TokenType == "":
		return "Bearer"
	}
	return t.TokenType
}

func (t *Token) isDPoP() bool { return strings.EqualFold(t.TokenType, "dpop") }

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("cctoken.Token{AccessToken:[redacted], TokenType:%s, Expiry:%s, Scope:%q}",
		t.TokenType, t.expiryText(), t.Scope)
}

// GoString is %#v, without the secret.
func (t Token) GoString() string {
	return fmt.Sprintf("cctoken.Token{AccessToken:%q, TokenType:%q, Expiry:%s, Scope:%q}",
		"[redacted]", t.TokenType, t.expiryText(), t.Scope)
}

// Format keeps every verb from printing the access token.
func (t Token) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, t.GoString())
	case verb == 'q':
		io.WriteString(f, strconv.Quote(t.String()))
	default:
		io.WriteString(f, t.String())
	}
}

func (t Token) expiryText() string {
	if t.Expiry.IsZero() {
		return "none"
	}
	return t.Expiry.UTC().Format(time.RFC3339)
}
