package cctoken

// #include "cctoken.h"
import "C"

import "runtime"

// DPoPProof makes a DPoP proof (RFC 9449) for a resource request: method (e.g. "GET") and
// url (query and fragment are left out of it). A non-nil tok binds the proof to that token
// ("ath"); nonce, when not empty, is the resource server's DPoP-Nonce. Fails with ErrConfig
// when DPoP is not enabled. Transport does all of this for you.
func (c *Client) DPoPProof(method, url string, tok *Token, nonce string) (string, error) {
	m, freeMethod, err := cString("method", method)
	if err != nil {
		return "", err
	}
	defer freeMethod()
	u, freeURL, err := cString("url", url)
	if err != nil {
		return "", err
	}
	defer freeURL()
	var n *C.char
	if nonce != "" {
		var freeNonce func()
		if n, freeNonce, err = cString("nonce", nonce); err != nil {
			return "", err
		}
		defer freeNonce()
	}
	var t *C.cct_token
	if tok != nil {
		if tok.h == nil {
			return "", &Error{Status: StatusInvalidArgument, Message: "DPoPProof: the token was not issued by a cctoken client"}
		}
		t = tok.h.p
	}
	if !c.acquire() {
		return "", ErrClosed
	}
	defer c.release()
	var out *C.char
	var cerr *C.cct_error
	st := C.cct_client_dpop_proof(c.ptr, m, u, t, n, &out, &cerr)
	runtime.KeepAlive(tok)
	runtime.KeepAlive(c)
	return takeString(st, out, cerr)
}

// DPoPJKT is the RFC 7638 thumbprint of the client's DPoP key (what cnf.jkt of its tokens
// holds). Fails with ErrConfig when DPoP is not enabled.
func (c *Client) DPoPJKT() (string, error) {
	if !c.acquire() {
		return "", ErrClosed
	}
	defer c.release()
	var out *C.char
	var cerr *C.cct_error
	st := C.cct_client_dpop_jkt(c.ptr, &out, &cerr)
	runtime.KeepAlive(c)
	return takeString(st, out, cerr)
}

// takeString copies and frees a string the library returned through an out-parameter.
func takeString(st C.cct_status, out *C.char, cerr *C.cct_error) (string, error) {
	if st != C.CCT_STATUS_OK {
		return "", errorFrom(st, cerr)
	}
	defer C.cct_string_free(out)
	return C.GoString(out), nil
}
