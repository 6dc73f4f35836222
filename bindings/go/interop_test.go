package cctoken_test

// Interop with a real authorization server, oidc-provider (tests/interop, pinned in its
// package-lock.json), through the Go binding: every token is checked by the server's own
// introspection endpoint. Needs `npm ci --prefix tests/interop` (`make interop-deps`); fails,
// never skips, without it. The Rust suite (tests/interop.rs) covers the same server in depth;
// these tests prove the Go surface (Config fields, *Error, TokenSource, DPoPProof) on it.
//
// The tests run in parallel with each other. Request counts are asserted as differences, and
// only for clients no other test uses (dpop-nonce, resources).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
	"golang.org/x/oauth2"
)

func TestInteropClientSecret(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	for _, tt := range []struct {
		name   string
		method cctoken.AuthMethod
	}{
		// The secrets hold `+/=%:! ` and a space: only RFC 6749 §2.3.1 form-encoded Basic works.
		{"basic", cctoken.ClientSecretBasic},
		{"post", cctoken.ClientSecretPost},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srv.secretConfig(t, tt.name)
			cfg.AuthMethod = tt.method
			cfg.Scopes = []string{"read", "write"}
			c := newClient(t, cfg)
			tok := tokenTwice(t, c)
			if tok.TokenType != "Bearer" {
				t.Fatalf("TokenType = %q, want Bearer", tok.TokenType)
			}
			srv.introspectOK(t, tok, tt.name, "read write", srv.Resources["default"].Audience)
			for _, shown := range []string{fmt.Sprintf("%v|%+v|%#v", tok, tok, tok), fmt.Sprintf("%v|%#v", cfg, cfg)} {
				if strings.Contains(shown, tok.AccessToken) || strings.Contains(shown, cfg.ClientSecret) {
					t.Fatal("formatting the token or the config shows a secret")
				}
			}
		})
	}
}

func TestInteropClientSecretJWT(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	cfg := srv.secretConfig(t, "secret-jwt")
	cfg.AuthMethod = cctoken.ClientSecretJWT
	cfg.SigningAlg = cctoken.HS256
	cfg.Scopes = []string{"read", "write"}
	tok := tokenTwice(t, newClient(t, cfg))
	srv.introspectOK(t, tok, "secret-jwt", "read write", srv.Resources["default"].Audience)
}

func TestInteropPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	for _, tt := range []struct {
		name string
		alg  cctoken.SigningAlg
	}{
		{"pkjwt-es256", cctoken.ES256},
		{"pkjwt-rs256", cctoken.RS256},
		{"pkjwt-ps256", cctoken.PS256},
		{"pkjwt-eddsa", cctoken.EdDSA},
	} {
		reg := srv.client(t, tt.name)
		if reg.Alg != tt.alg.String() {
			t.Fatalf("%s is registered for %s, not %s", tt.name, reg.Alg, tt.alg)
		}
		for _, form := range []string{"PEM", "JWK"} {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				cfg := srv.config(t, tt.name)
				cfg.AuthMethod = cctoken.PrivateKeyJWT
				cfg.SigningAlg = tt.alg
				cfg.KeyID = reg.Kid
				cfg.Scopes = []string{"read"}
				if form == "PEM" {
					cfg.PrivateKeyPEM = []byte(reg.PrivateKeyPEM)
				} else {
					cfg.PrivateKeyJWK = string(reg.PrivateKeyJWK)
				}
				tok := tokenTwice(t, newClient(t, cfg))
				srv.introspectOK(t, tok, tt.name, "read", srv.Resources["default"].Audience)
			})
		}
	}

	// Another algorithm than the registered one is refused.
	t.Run("alg mismatch", func(t *testing.T) {
		reg := srv.client(t, "pkjwt-rs256")
		cfg := srv.config(t, "pkjwt-rs256")
		cfg.PrivateKeyPEM, cfg.KeyID, cfg.SigningAlg = []byte(reg.PrivateKeyPEM), reg.Kid, cctoken.PS256
		_, err := newClient(t, cfg).Token()
		if e := oauthErr(t, err); e.OAuthError != "invalid_client" || e.HTTPStatus != 401 {
			t.Fatalf("err = %v (HTTP %d), want invalid_client (401)", err, e.HTTPStatus)
		}
	})
}

func TestInteropMutualTLS(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	for _, tt := range []struct {
		name   string
		method cctoken.AuthMethod
	}{
		{"tls", cctoken.TLSClientAuth},
		{"self-signed-tls", cctoken.SelfSignedTLSClientAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := srv.client(t, tt.name)
			cfg := srv.config(t, tt.name)
			cfg.AuthMethod = tt.method
			cfg.ClientCertPEM, cfg.ClientKeyPEM = []byte(reg.CertPEM), []byte(reg.KeyPEM)
			cfg.Scopes = []string{"write"}
			tok := tokenTwice(t, newClient(t, cfg))
			i := srv.introspectOK(t, tok, tt.name, "write", srv.Resources["default"].Audience)
			// Certificate-bound (RFC 8705 §3): the server saw the certificate the binding sent.
			if got := cnf(i)["x5t#S256"]; got != reg.CertX5tS256 || reg.CertX5tS256 == "" {
				t.Fatalf("cnf.x5t#S256 = %v, want %q", got, reg.CertX5tS256)
			}
		})
	}
}

func TestInteropDPoPNonce(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	const id = "dpop-nonce" // used by this test only: its counts are ours
	before := srv.stats(t)

	cfg := srv.secretConfig(t, id)
	cfg.DPoP = true
	cfg.Scopes = []string{"read", "write"}
	c := newClient(t, cfg)
	tok := tokenTwice(t, c) // the nonce retry is part of the one fetch
	if tok.TokenType != "DPoP" {
		t.Fatalf("TokenType = %q, want DPoP", tok.TokenType)
	}
	i := srv.introspectOK(t, tok, id, "read write", srv.Resources["default"].Audience)
	jkt, err := c.DPoPJKT()
	if err != nil {
		t.Fatal(err)
	}
	if got := cnf(i)["jkt"]; got != jkt {
		t.Fatalf("cnf.jkt = %v, want the binding's key thumbprint %q", got, jkt)
	}
	after := srv.stats(t)
	if n := after.TokenErrors[id]["use_dpop_nonce"] - before.TokenErrors[id]["use_dpop_nonce"]; n != 1 {
		t.Fatalf("use_dpop_nonce challenges = %d, want exactly 1; server log:\n%s", n, srv.log)
	}
	if n := after.TokenRequests[id] - before.TokenRequests[id]; n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}

	// A proof for a resource request with that token (RFC 9449 §4.2, §7.1).
	const resource = "https://api.interop.test/default/things"
	proof, err := c.DPoPProof("POST", resource+"?page=2#top", tok, "rs-nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	header, claims := verifyDPoPProof(t, proof, jkt)
	if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" {
		t.Fatalf("proof header %v", header)
	}
	if claims["htm"] != "POST" || claims["htu"] != resource || claims["ath"] != ath(tok.AccessToken) || claims["nonce"] != "rs-nonce-1" {
		t.Fatalf("proof claims htm=%v htu=%v nonce=%v, ath matches: %v", claims["htm"], claims["htu"], claims["nonce"], claims["ath"] == ath(tok.AccessToken))
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Fatal("proof without jti")
	}
	if iat, _ := claims["iat"].(float64); time.Since(time.Unix(int64(iat), 0)).Abs() > time.Minute {
		t.Fatalf("proof iat %v is not now", claims["iat"])
	}
	// Without a token and a nonce: neither ath nor nonce.
	bare, err := c.DPoPProof("GET", resource, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, claims := verifyDPoPProof(t, bare, jkt); claims["htm"] != "GET" || claims["ath"] != nil || claims["nonce"] != nil {
		t.Fatalf("bare proof claims %v", claims)
	}

	// The client is registered with dpop_bound_access_tokens: no proof, no token.
	_, err = newClient(t, srv.secretConfig(t, id)).Token()
	if e := oauthErr(t, err); e.OAuthError != "invalid_grant" || e.HTTPStatus != 400 || !errors.Is(err, cctoken.ErrInvalidGrant) {
		t.Fatalf("without DPoP: %v (HTTP %d), want invalid_grant (400)", err, e.HTTPStatus)
	}
}

// verifyDPoPProof checks a proof's ES256 signature with the key in its header, and that key's
// RFC 7638 thumbprint against jkt; returns the header and the claims.
func verifyDPoPProof(t *testing.T, proof, jkt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		t.Fatalf("the proof is not a compact JWS (%d parts)", len(parts))
	}
	part := func(i int, into any) {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err == nil {
			err = json.Unmarshal(raw, into)
		}
		if err != nil {
			t.Fatalf("proof part %d: %v", i, err)
		}
	}
	part(0, &header)
	part(1, &claims)
	var jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
		D   string `json:"d"`
	}
	raw, _ := json.Marshal(header["jwk"])
	if err := json.Unmarshal(raw, &jwk); err != nil || jwk.Kty != "EC" || jwk.Crv != "P-256" {
		t.Fatalf("proof header jwk: %s (%v)", raw, err)
	}
	if jwk.D != "" {
		t.Fatal("the proof header carries the private key")
	}
	// RFC 7638: the required members in lexicographic order, no white space.
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + jwk.X + `","y":"` + jwk.Y + `"}`))
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != jkt {
		t.Fatalf("the proof's key has thumbprint %s, DPoPJKT says %s", got, jkt)
	}
	x, errX := base64.RawURLEncoding.DecodeString(jwk.X)
	y, errY := base64.RawURLEncoding.DecodeString(jwk.Y)
	sig, errS := base64.RawURLEncoding.DecodeString(parts[2])
	if errX != nil || errY != nil || errS != nil || len(sig) != 64 {
		t.Fatalf("proof key or signature malformed (signature %d bytes)", len(sig))
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the proof's signature does not verify with the key in its header")
	}
	return header, claims
}

func TestInteropDiscovery(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	aud := srv.Resources["default"].Audience
	base := func(name string) cctoken.Config {
		// Issuer only: the token endpoint and the auth method come from the server's metadata.
		return cctoken.Config{Issuer: srv.Issuer, ClientID: srv.client(t, name).ClientID,
			RootCAPEM: []byte(srv.CAPEM), Scopes: []string{"read"}, CallTimeout: 15 * time.Second}
	}

	t.Run("secret", func(t *testing.T) {
		cfg := base("basic")
		cfg.ClientSecret = srv.client(t, "basic").ClientSecret
		tok := tokenTwice(t, newClient(t, cfg))
		srv.introspectOK(t, tok, "basic", "read", aud)
	})
	t.Run("private key, issuer as assertion audience", func(t *testing.T) {
		reg := srv.client(t, "pkjwt-es256")
		cfg := base("pkjwt-es256")
		cfg.PrivateKeyPEM, cfg.KeyID, cfg.AssertionAudience = []byte(reg.PrivateKeyPEM), reg.Kid, cctoken.AudienceIssuer
		tok := tokenTwice(t, newClient(t, cfg))
		srv.introspectOK(t, tok, "pkjwt-es256", "read", aud)
	})
	t.Run("certificate", func(t *testing.T) {
		reg := srv.client(t, "tls")
		cfg := base("tls")
		cfg.ClientCertPEM, cfg.ClientKeyPEM = []byte(reg.CertPEM), []byte(reg.KeyPEM)
		tok := tokenTwice(t, newClient(t, cfg))
		i := srv.introspectOK(t, tok, "tls", "read", aud)
		if cnf(i)["x5t#S256"] != reg.CertX5tS256 {
			t.Fatalf("cnf.x5t#S256 = %v, want %q", cnf(i)["x5t#S256"], reg.CertX5tS256)
		}
	})
}

func TestInteropResourceIndicators(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	const id = "resources" // used by this test only: its counts are ours
	before := srv.stats(t).TokenRequests[id]

	tokens := map[string]*cctoken.Token{}
	for _, name := range []string{"a", "b"} {
		res, aud := srv.resource(t, name)
		cfg := srv.secretConfig(t, id)
		cfg.Resources = []string{res}
		cfg.Scopes = []string{"read"}
		tok := tokenTwice(t, newClient(t, cfg))
		srv.introspectOK(t, tok, id, "read", aud)
		tokens[name] = tok
	}
	if tokens["a"].AccessToken == tokens["b"].AccessToken {
		t.Fatal("one token for two resources")
	}
	if n := srv.stats(t).TokenRequests[id] - before; n != 2 {
		t.Fatalf("token requests = %d, want 2 (one per resource, then cache hits)", n)
	}

	// oidc-provider takes one known resource per client-credentials request.
	resA, _ := srv.resource(t, "a")
	resB, _ := srv.resource(t, "b")
	for _, resources := range [][]string{{resA, resB}, {"https://unknown.interop.test/"}} {
		cfg := srv.secretConfig(t, id)
		cfg.Resources = resources
		_, err := newClient(t, cfg).Token()
		if e := oauthErr(t, err); !errors.Is(err, cctoken.ErrInvalidTarget) || e.HTTPStatus != 400 {
			t.Fatalf("resources %v: %v (HTTP %d), want invalid_target (400)", resources, err, e.HTTPStatus)
		}
	}
}

// TestInteropOAuth2TokenSource: oauth2.NewClient with the binding's TokenSource calls a
// resource server that accepts a request only when the server's introspection does.
func TestInteropOAuth2TokenSource(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)
	cfg := srv.secretConfig(t, "basic")
	cfg.Scopes = []string{"read"}
	c := newClient(t, cfg)
	ts := c.TokenSource()

	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Valid() || tok.Type() != "Bearer" || tok.Extra("scope") != "read" || tok.ExpiresIn <= 0 {
		t.Fatalf("oauth2 token: valid=%v type=%q scope=%v expires_in=%d", tok.Valid(), tok.Type(), tok.Extra("scope"), tok.ExpiresIn)
	}
	exp, _ := srv.introspect(t, tok.AccessToken)["exp"].(float64)
	if d := tok.Expiry.Unix() - int64(exp); d < -2 || d > 2 {
		t.Fatalf("oauth2 Expiry %d vs the server's exp %d", tok.Expiry.Unix(), int64(exp))
	}

	aud := srv.Resources["default"].Audience
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		status, i, err := srv.introspectRaw(bearer)
		if err != nil || status != http.StatusOK || i["active"] != true || i["client_id"] != "basic" || i["aud"] != aud {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rs.Close()

	hc := oauth2.NewClient(context.Background(), ts)
	for range 3 {
		if code := get(t, hc, rs.URL+"/things"); code != http.StatusNoContent {
			t.Fatalf("GET through oauth2.NewClient = %d, want 204 (token accepted by introspection)", code)
		}
	}
	if m := c.Metrics(); m.Fetches != 1 {
		t.Fatalf("metrics %+v, want 1 fetch for every call", m)
	}
	// oauth2.ReuseTokenSource over ours (what oauth2 helpers do) still works.
	if reused, err := oauth2.ReuseTokenSource(nil, ts).Token(); err != nil || reused.AccessToken != tok.AccessToken {
		t.Fatalf("ReuseTokenSource: %v (same token: %v)", err, reused != nil && reused.AccessToken == tok.AccessToken)
	}
}

func TestInteropErrors(t *testing.T) {
	t.Parallel()
	srv := interopSrv(t)

	t.Run("wrong secret", func(t *testing.T) {
		const wrong = "wrong+/=%:! secret-value"
		right := srv.client(t, "basic").ClientSecret
		for _, tt := range []struct {
			name   string
			method cctoken.AuthMethod
		}{{"basic", cctoken.ClientSecretBasic}, {"post", cctoken.ClientSecretPost}} {
			cfg := srv.config(t, tt.name)
			cfg.ClientSecret, cfg.AuthMethod = wrong, tt.method
			c := newClient(t, cfg)
			_, err := c.Token()
			e := oauthErr(t, err)
			if e.OAuthError != "invalid_client" || e.HTTPStatus != 401 || e.Retryable || e.Status != cctoken.StatusOAuth ||
				e.Description != "client authentication failed" {
				t.Fatalf("%s: error fields %+v", tt.name, *e)
			}
			if !errors.Is(err, cctoken.ErrInvalidClient) || !errors.Is(err, cctoken.ErrOAuth) ||
				errors.Is(err, cctoken.ErrTransport) || errors.Is(err, cctoken.ErrInvalidRequest) {
				t.Fatalf("%s: errors.Is mismatch for %v", tt.name, err)
			}
			assertNoSecret(t, err, wrong, url.QueryEscape(wrong), right, url.QueryEscape(right))
			// Within the failure cool-down the same error comes back without a request.
			if _, err := c.Token(); !errors.Is(err, cctoken.ErrInvalidClient) {
				t.Fatalf("%s: second call: %v", tt.name, err)
			}
			if m := c.Metrics(); m.Fetches != 1 {
				t.Fatalf("%s: metrics %+v, want 1 fetch (cool-down)", tt.name, m)
			}
		}
	})

	t.Run("scope not allowed", func(t *testing.T) {
		// `admin` is a scope the server knows, but `basic` may only have read and write.
		cfg := srv.secretConfig(t, "basic")
		cfg.Scopes = []string{"read", "admin"}
		_, err := newClient(t, cfg).Token()
		e := oauthErr(t, err)
		if !errors.Is(err, cctoken.ErrInvalidScope) || e.HTTPStatus != 400 || e.Retryable ||
			e.Description != "requested scope is not allowed" {
			t.Fatalf("err = %v, fields %+v, want invalid_scope (400)", err, *e)
		}
		assertNoSecret(t, err, cfg.ClientSecret)

		// A client allowed `admin` gets it.
		cfg = srv.secretConfig(t, "all-scopes")
		cfg.Scopes = []string{"read", "admin"}
		tok := tokenTwice(t, newClient(t, cfg))
		srv.introspectOK(t, tok, "all-scopes", "read admin", srv.Resources["default"].Audience)
	})

	t.Run("grant not allowed", func(t *testing.T) {
		// oidc-provider answers invalid_request ("requested grant type is not allowed for this
		// client"), not RFC 6749 §5.2's unauthorized_client.
		cfg := srv.secretConfig(t, "no-cc-grant")
		cfg.Scopes = []string{"read"}
		_, err := newClient(t, cfg).Token()
		e := oauthErr(t, err)
		if !errors.Is(err, cctoken.ErrInvalidRequest) || errors.Is(err, cctoken.ErrUnauthorizedClient) ||
			e.HTTPStatus != 400 || e.Retryable || e.Description != "requested grant type is not allowed for this client" {
			t.Fatalf("err = %v, fields %+v, want invalid_request (400)", err, *e)
		}
		assertNoSecret(t, err, cfg.ClientSecret)
	})
}

// oauthErr asserts that err is a *cctoken.Error carrying an OAuth error response.
func oauthErr(t testing.TB, err error) *cctoken.Error {
	t.Helper()
	var e *cctoken.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *cctoken.Error", err, err)
	}
	if e.Status != cctoken.StatusOAuth || !errors.Is(err, cctoken.ErrOAuth) {
		t.Fatalf("err = %v (status %v), want an OAuth error response", err, e.Status)
	}
	return e
}
