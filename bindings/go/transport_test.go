package cctoken_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	cctoken "github.com/cctoken/cctoken/bindings/go"
	"golang.org/x/oauth2"
)

func get(t *testing.T, hc *http.Client, url string) int {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestTokenSourceWithOAuth2Client(t *testing.T) {
	c := newClient(t, svcConfig())
	hc := oauth2.NewClient(context.Background(), c.TokenSource())
	if code := get(t, hc, resourceURL); code != http.StatusOK {
		t.Fatalf("GET /resource = %d, want 200", code)
	}

	tok, err := c.TokenSource().Token()
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Valid() || tok.Type() != "Bearer" || tok.Extra("scope") != "read" || tok.ExpiresIn <= 0 {
		t.Fatalf("oauth2 token: valid=%v type=%q scope=%v expires_in=%d", tok.Valid(), tok.Type(), tok.Extra("scope"), tok.ExpiresIn)
	}

	// A hit shares the one *oauth2.Token built for the current token (as ReuseTokenSource
	// does) and allocates nothing.
	ts := c.TokenSource()
	if again, err := ts.Token(); err != nil || again != tok {
		t.Fatalf("second TokenSource call: %v, same *oauth2.Token: %v", err, again == tok)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = ts.Token() }); allocs != 0 {
		t.Fatalf("a TokenSource hit allocates %v times", allocs)
	}
	// Token.OAuth2 is a private copy.
	if cur, _ := c.Token(); cur.OAuth2() == tok {
		t.Fatal("Token.OAuth2 returned the shared *oauth2.Token")
	}
	c.Invalidate(&cctoken.Token{AccessToken: tok.AccessToken})
	if next, err := ts.Token(); err != nil || next == tok || next.AccessToken == tok.AccessToken {
		t.Fatalf("after Invalidate: %v, a new token: %v", err, next != nil && next.AccessToken != tok.AccessToken)
	}
	c.Close()
	if _, err := ts.Token(); !errors.Is(err, cctoken.ErrClosed) {
		t.Fatalf("TokenSource after Close: %v, want ErrClosed", err)
	}

	cfg := svcConfig()
	cfg.ClientSecret = "wrong-secret-Vb2"
	_, err = newClient(t, cfg).TokenSource().Token()
	if !errors.Is(err, cctoken.ErrInvalidClient) {
		t.Fatalf("err = %v, want invalid_client through the TokenSource", err)
	}
}

func TestTransportRetriesOnceAfter401(t *testing.T) {
	resetServer(t)
	c := newClient(t, svcConfig())
	hc := &http.Client{Transport: c.Transport(nil)}
	if code := get(t, hc, resourceURL); code != http.StatusOK {
		t.Fatalf("GET /resource = %d, want 200", code)
	}

	dev(t, "POST", "/_dev/revoke", "") // the cached token is now refused
	if code := get(t, hc, resourceURL); code != http.StatusOK {
		t.Fatalf("GET /resource after revoke = %d, want 200", code)
	}
	if s := stats(t); s.TokenRequests != 2 || s.ResourceRequests != 3 {
		t.Fatalf("stats = %+v, want 2 token requests (one after the 401) and 3 resource requests", s)
	}
}

// refusingServer answers 401 to everything and records what it received.
type refusingServer struct {
	*httptest.Server
	requests atomic.Int32
	bodies   chan string
}

func newRefusingServer(t *testing.T) *refusingServer {
	s := &refusingServer{bodies: make(chan string, 8)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		b, _ := io.ReadAll(r.Body)
		s.bodies <- string(b)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestTransportRetriesOnlyOnceAndOnlyReplayableBodies(t *testing.T) {
	c := newClient(t, svcConfig())
	hc := &http.Client{Transport: c.Transport(nil)}
	if _, err := c.Token(); err != nil {
		t.Fatal(err)
	}

	t.Run("replayable", func(t *testing.T) {
		rs := newRefusingServer(t)
		resetServer(t)
		req, _ := http.NewRequest("POST", rs.URL, bytes.NewReader([]byte("payload"))) // sets GetBody
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || rs.requests.Load() != 2 {
			t.Fatalf("status %d after %d requests, want 401 after exactly 2", resp.StatusCode, rs.requests.Load())
		}
		if a, b := <-rs.bodies, <-rs.bodies; a != "payload" || b != "payload" {
			t.Fatalf("bodies %q, %q", a, b)
		}
		if n := stats(t).TokenRequests; n != 1 {
			t.Fatalf("token requests = %d, want 1 (the retry's new token)", n)
		}
	})

	t.Run("not replayable", func(t *testing.T) {
		rs := newRefusingServer(t)
		req, _ := http.NewRequest("POST", rs.URL, io.NopCloser(strings.NewReader("once"))) // no GetBody
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || rs.requests.Load() != 1 {
			t.Fatalf("status %d after %d requests, want 401 after 1", resp.StatusCode, rs.requests.Load())
		}
	})

	t.Run("token error", func(t *testing.T) {
		cfg := svcConfig()
		cfg.ClientSecret = "wrong-secret-Tt5"
		bad := &http.Client{Transport: newClient(t, cfg).Transport(nil)}
		_, err := bad.Get(resourceURL)
		if !errors.Is(err, cctoken.ErrInvalidClient) {
			t.Fatalf("err = %v, want invalid_client", err)
		}
		assertNoSecret(t, err, "wrong-secret-Tt5")
	})
}

// decodeClaims decodes a JWT's payload (no verification: the tests only read it).
func decodeClaims(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWS compact serialization (%d parts)", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(raw, &claims)
}

func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	claims, err := decodeClaims(jwt)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}

func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestDPoP(t *testing.T) {
	resetServer(t)
	fault(t, `{"token_type": "DPoP"}`) // the dev server issues a DPoP-typed token this once
	cfg := svcConfig()
	cfg.DPoP = true
	c := newClient(t, cfg)

	jkt, err := c.DPoPJKT()
	if err != nil || len(jkt) != 43 { // base64url of a SHA-256
		t.Fatalf("DPoPJKT() = %q, %v", jkt, err)
	}
	tok, err := c.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("TokenType = %q, want DPoP", tok.TokenType)
	}

	proof, err := c.DPoPProof("GET", "https://rs.example/data?q=1", tok, "n-0")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwtClaims(t, proof)
	if claims["htm"] != "GET" || claims["htu"] != "https://rs.example/data" || claims["nonce"] != "n-0" || claims["ath"] != ath(tok.AccessToken) {
		t.Fatalf("proof claims %v", claims)
	}
	if _, err := c.DPoPProof("GET", "https://rs.example/", &cctoken.Token{AccessToken: "x"}, ""); !errors.Is(err, cctoken.ErrInvalidArgument) {
		t.Fatalf("proof for a foreign token: %v, want ErrInvalidArgument", err)
	}

	// A resource server that wants a nonce first (RFC 9449 §9).
	var requests atomic.Int32
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		proof := r.Header.Get("DPoP")
		if r.Header.Get("Authorization") != "DPoP "+tok.AccessToken || proof == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		claims, err := decodeClaims(proof)
		if err != nil || claims["htm"] != r.Method || claims["ath"] != ath(tok.AccessToken) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("DPoP-Nonce", "n-1")
		if claims["nonce"] != "n-1" {
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rs.Close()

	hc := &http.Client{Transport: c.Transport(nil)}
	if code := get(t, hc, rs.URL+"/data"); code != http.StatusOK || requests.Load() != 2 {
		t.Fatalf("GET = %d after %d requests, want 200 after 2 (nonce retry)", code, requests.Load())
	}
	// The nonce is remembered for the next request to that server.
	if code := get(t, hc, rs.URL+"/data"); code != http.StatusOK || requests.Load() != 3 {
		t.Fatalf("GET = %d after %d requests, want 200 at once", code, requests.Load())
	}
	if n := stats(t).TokenRequests; n != 1 {
		t.Fatalf("token requests = %d, want 1 (a nonce retry keeps the token)", n)
	}

	plain := newClient(t, svcConfig())
	if _, err := plain.DPoPProof("GET", "https://rs.example/", nil, ""); !errors.Is(err, cctoken.ErrConfig) {
		t.Fatalf("DPoPProof without DPoP: %v, want ErrConfig", err)
	}
	if _, err := plain.DPoPJKT(); !errors.Is(err, cctoken.ErrConfig) {
		t.Fatalf("DPoPJKT without DPoP: %v, want ErrConfig", err)
	}
}
