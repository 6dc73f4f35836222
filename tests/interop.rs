//! Interop with a real authorization server: oidc-provider (pinned in
//! tests/interop/package-lock.json), run by `tests/interop/server.mjs` over HTTPS with a CA made
//! at start. Every client authentication method, discovery, DPoP, resource indicators and
//! refresh-ahead are exercised through the Rust API, and every token is checked by the server's
//! own introspection endpoint.
//!
//! Needs `npm ci --prefix tests/interop` once (`make interop-deps`); fails, never skips, without it.
//!
//! What oidc-provider 9.13 does differently from what one might expect (asserted below):
//! - a client without the client_credentials grant gets `invalid_request` ("requested grant type
//!   is not allowed for this client"), not `unauthorized_client`;
//! - `invalid_scope` only for scopes the server knows but the client may not have; unknown scopes
//!   are dropped silently, and when nothing is left the response has no `scope`;
//! - one `resource` per client-credentials request (two: `invalid_target`);
//! - JWT-format access tokens cannot be introspected (`unsupported_token_type`).

mod common;
#[path = "interop/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use cctoken::{AssertionAudience, AuthMethod, Client, Error, SigningAlg, Token};
use harness::{InteropServer, server};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers

fn scope_set(s: &str) -> BTreeSet<&str> {
    s.split_whitespace().collect()
}

/// Checks a token against the server's introspection: active, issued to `client_id` for `aud`
/// with `scope`, of the token's type, expiring when cctoken thinks it does. Returns the answer.
fn introspect_ok(srv: &InteropServer, token: &Token, client_id: &str, scope: &str, aud: &str) -> Value {
    let i = srv.introspect(token.access_token());
    assert_eq!(i["active"], true, "introspection: {i}");
    assert_eq!(i["client_id"], client_id, "introspection: {i}");
    assert_eq!(i["iss"], srv.issuer(), "introspection: {i}");
    assert_eq!(i["aud"], aud, "introspection: {i}");
    assert_eq!(scope_set(i["scope"].as_str().unwrap_or_default()), scope_set(scope), "introspection: {i}");
    assert_eq!(scope_set(token.scope().unwrap_or_default()), scope_set(scope), "cctoken's view of the granted scope");
    assert_eq!(i["token_type"], token.token_type(), "introspection: {i}");
    // cctoken's expiry (counted from when the request was sent) within a second or two of the
    // server's `exp`.
    let exp = i["exp"].as_u64().expect("exp");
    let ours = token.expires_at_system().expect("expiry").duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    assert!(ours.abs_diff(exp) <= 2, "cctoken expiry {ours} vs server exp {exp}");
    i
}

/// Fails if `text` contains any of `secrets`, raw or form-encoded. The secret is not printed.
fn assert_no_leak(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        assert!(!text.contains(s) && !text.contains(&encoded), "{what} leaks a secret or token (not printed here)");
    }
}

/// Both ways an error is usually logged.
fn formatted(e: &Error) -> String {
    format!("{e} / {e:?}")
}

fn oauth_error(e: &Error) -> &cctoken::OAuthError {
    e.oauth().unwrap_or_else(|| panic!("expected an OAuth error response, got: {e}"))
}

/// Fetches twice: the second answer must come from the cache.
fn token_twice(client: &Client) -> Token {
    let first = client.token().unwrap_or_else(|e| panic!("token for {}: {e}", client.client_id()));
    let again = client.token().expect("cached token");
    assert!(again.access_token() == first.access_token(), "second call served from the cache");
    let m = client.metrics();
    assert_eq!((m.fetches, m.hits), (1, 1), "one fetch, one hit: {m:?}");
    first
}

fn default_aud(srv: &InteropServer) -> &str {
    srv.resource("default").1
}

/// A full secret-based round trip for `name` with `method`.
fn secret_round_trip(name: &str, method: AuthMethod) {
    let srv = server();
    let secret = srv.field(name, "client_secret");
    let client = srv.secret_builder(name).auth_method(method).scopes(["read", "write"]).build().expect("config");
    let token = token_twice(&client);
    assert_eq!(token.token_type(), "Bearer");
    introspect_ok(srv, &token, name, "read write", default_aud(srv));
    assert_no_leak("Client Debug", &format!("{client:?}"), &[secret]);
    assert_no_leak("Token Debug", &format!("{token:?}"), &[secret, token.access_token()]);
}

fn private_key_jwt(name: &str, alg: SigningAlg) {
    let srv = server();
    let pem = srv.field(name, "private_key_pem");
    let jwk = srv.client(name)["private_key_jwk"].to_string();
    let kid = srv.field(name, "kid");
    assert_eq!(srv.field(name, "alg"), alg.as_str());
    for (form, builder) in
        [("PEM", srv.builder(name).private_key_pem(pem)), ("JWK", srv.builder(name).private_key_jwk(&jwk))]
    {
        let client = builder
            .key_id(kid)
            .signing_alg(alg)
            .auth_method(AuthMethod::PrivateKeyJwt)
            .scope("read")
            .build()
            .unwrap_or_else(|e| panic!("{name} {form}: {e}"));
        let token = token_twice(&client);
        introspect_ok(srv, &token, name, "read", default_aud(srv));
        assert_no_leak("Client Debug", &format!("{client:?}"), &[pem, token.access_token()]);
    }
}

fn mtls(name: &str, method: AuthMethod) {
    let srv = server();
    let client = srv
        .builder(name)
        .client_certificate_pem(srv.field(name, "cert_pem"), srv.field(name, "key_pem"))
        .auth_method(method)
        .scope("write")
        .build()
        .expect("config");
    let token = token_twice(&client);
    let i = introspect_ok(srv, &token, name, "write", default_aud(srv));
    // Certificate-bound (RFC 8705 §3): the server saw the certificate cctoken presented.
    assert_eq!(i["cnf"]["x5t#S256"], srv.field(name, "cert_x5t_s256"), "introspection: {i}");
}

// ---------------------------------------------------------------------------------------------
// One test per client authentication method

#[test]
fn client_secret_basic() {
    // The secret holds `+/=%:! ` and a space: oidc-provider form-decodes Basic credentials
    // (RFC 6749 §2.3.1), so this fails if cctoken does not form-encode them.
    secret_round_trip("basic", AuthMethod::ClientSecretBasic);
}

#[test]
fn client_secret_basic_raw_is_refused_by_a_form_decoding_server() {
    // The same secret sent without RFC 6749 §2.3.1 form-encoding: oidc-provider cannot decode it.
    // This shows `client_secret_basic` above really depends on the encoding.
    let srv = server();
    let secret = srv.field("basic", "client_secret");
    let client = srv.secret_builder("basic").auth_method(AuthMethod::ClientSecretBasicRaw).build().expect("config");
    let err = client.token().expect_err("raw Basic");
    let o = oauth_error(&err);
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_request", 400), "{err}");
    assert_eq!(
        o.description.as_deref(),
        Some("client_id and client_secret in the authorization header are not properly encoded")
    );
    assert_no_leak("error", &formatted(&err), &[secret]);
}

#[test]
fn client_secret_post() {
    secret_round_trip("post", AuthMethod::ClientSecretPost);
}

#[test]
fn client_secret_jwt_hs256() {
    let srv = server();
    let client = srv
        .secret_builder("secret-jwt")
        .auth_method(AuthMethod::ClientSecretJwt)
        .signing_alg(SigningAlg::HS256)
        .scopes(["read", "write"])
        .build()
        .expect("config");
    let token = token_twice(&client);
    introspect_ok(srv, &token, "secret-jwt", "read write", default_aud(srv));
}

#[test]
fn private_key_jwt_rs256() {
    private_key_jwt("pkjwt-rs256", SigningAlg::RS256);
}

#[test]
fn private_key_jwt_ps256() {
    private_key_jwt("pkjwt-ps256", SigningAlg::PS256);
}

#[test]
fn private_key_jwt_es256() {
    private_key_jwt("pkjwt-es256", SigningAlg::ES256);
}

#[test]
fn private_key_jwt_eddsa() {
    private_key_jwt("pkjwt-eddsa", SigningAlg::EdDSA);
}

#[test]
fn private_key_jwt_other_alg_than_registered_is_invalid_client() {
    // pkjwt-rs256 is registered with token_endpoint_auth_signing_alg RS256; a PS256 assertion
    // with the same key is refused.
    let srv = server();
    let client = srv
        .builder("pkjwt-rs256")
        .private_key_pem(srv.field("pkjwt-rs256", "private_key_pem"))
        .key_id(srv.field("pkjwt-rs256", "kid"))
        .signing_alg(SigningAlg::PS256)
        .build()
        .expect("config");
    let err = client.token().expect_err("alg mismatch");
    let o = oauth_error(&err);
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_client", 401), "{err}");
}

#[test]
fn tls_client_auth() {
    mtls("tls", AuthMethod::TlsClientAuth);
}

#[test]
fn self_signed_tls_client_auth() {
    mtls("self-signed-tls", AuthMethod::SelfSignedTlsClientAuth);
}

#[test]
fn self_signed_tls_client_auth_with_unregistered_certificate_is_invalid_client() {
    let srv = server();
    let client = srv
        .builder("self-signed-tls")
        .client_certificate_pem(srv.field("tls", "cert_pem"), srv.field("tls", "key_pem"))
        .auth_method(AuthMethod::SelfSignedTlsClientAuth)
        .build()
        .expect("config");
    let err = client.token().expect_err("another client's certificate");
    let o = oauth_error(&err);
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_client", 401), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Discovery

#[test]
fn discovery_via_issuer_picks_the_auth_method() {
    let srv = server();
    let base = |name: &str| {
        Client::builder()
            .issuer(srv.issuer())
            .client_id(srv.field(name, "client_id"))
            .root_ca_pem(srv.ca_pem().as_bytes().to_vec())
            .scope("read")
    };

    // A secret: client_secret_basic, the first secret method the server lists.
    let client = base("basic").client_secret(cctoken::Secret::new(srv.field("basic", "client_secret"))).build();
    let token = client.expect("config").token().expect("token via discovery, secret");
    introspect_ok(srv, &token, "basic", "read", default_aud(srv));

    // A private key: private_key_jwt, with the issuer as the assertion audience.
    let client = base("pkjwt-es256")
        .private_key_pem(srv.field("pkjwt-es256", "private_key_pem"))
        .key_id(srv.field("pkjwt-es256", "kid"))
        .assertion_audience(AssertionAudience::Issuer)
        .build();
    let token = client.expect("config").token().expect("token via discovery, private key");
    introspect_ok(srv, &token, "pkjwt-es256", "read", default_aud(srv));

    // Only a CA-issued certificate: tls_client_auth.
    let client = base("tls").client_certificate_pem(srv.field("tls", "cert_pem"), srv.field("tls", "key_pem")).build();
    let token = client.expect("config").token().expect("token via discovery, certificate");
    introspect_ok(srv, &token, "tls", "read", default_aud(srv));
}

// ---------------------------------------------------------------------------------------------
// DPoP (RFC 9449)

#[test]
fn dpop_bound_token() {
    let srv = server();
    let client = srv.secret_builder("basic").dpop(true).scope("read").build().expect("config");
    let token = client.token().expect("DPoP token");
    assert_eq!(token.token_type(), "DPoP");
    let i = introspect_ok(srv, &token, "basic", "read", default_aud(srv));
    assert_eq!(i["cnf"]["jkt"].as_str(), client.dpop_jkt().as_deref(), "introspection: {i}");
}

#[test]
fn dpop_nonce_challenge_is_answered() {
    // The server demands a nonce from `dpop-nonce`: the first request gets use_dpop_nonce and a
    // DPoP-Nonce header, cctoken resends once with the nonce.
    let srv = server();
    let id = "dpop-nonce";
    let client = srv.secret_builder(id).dpop(true).scopes(["read", "write"]).build().expect("config");
    let token = client.token().expect("DPoP token after the nonce challenge");
    assert_eq!(token.token_type(), "DPoP");
    let i = introspect_ok(srv, &token, id, "read write", default_aud(srv));
    assert_eq!(i["cnf"]["jkt"].as_str(), client.dpop_jkt().as_deref());
    assert_eq!(srv.token_errors(id, "use_dpop_nonce"), 1, "one nonce challenge; server log:\n{}", srv.log());
    assert_eq!(srv.token_requests(id), 1);
    assert_eq!(client.metrics().fetches, 1, "the nonce retry is part of one fetch");

    // The client is registered with dpop_bound_access_tokens: no proof, no token.
    let plain = srv.secret_builder(id).build().expect("config");
    let err = plain.token().expect_err("DPoP required");
    let o = oauth_error(&err);
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_grant", 400), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Resource indicators (RFC 8707)

#[test]
fn resource_indicators_are_cached_separately() {
    let srv = server();
    let id = "resources";
    let (res_a, aud_a) = srv.resource("a");
    let (res_b, aud_b) = srv.resource("b");
    let a = srv.secret_builder(id).resource(res_a).scope("read").build().expect("config");
    let b = srv.secret_builder(id).resource(res_b).scope("read").build().expect("config");
    assert_ne!(a.cache_key(), b.cache_key());
    let ta = token_twice(&a);
    let tb = token_twice(&b);
    assert!(ta.access_token() != tb.access_token(), "one token per resource");
    introspect_ok(srv, &ta, id, "read", aud_a);
    introspect_ok(srv, &tb, id, "read", aud_b);
    assert_eq!(srv.token_requests(id), 2, "two resources, two requests, then cache hits");

    // oidc-provider takes one resource per client-credentials request, and only known ones.
    let both = srv.secret_builder(id).resource(res_a).resource(res_b).build().expect("config");
    let err = both.token().expect_err("two resources");
    assert_eq!((oauth_error(&err).error.as_str(), oauth_error(&err).http_status), ("invalid_target", 400));
    let unknown = srv.secret_builder(id).resource("https://unknown.interop.test/").build().expect("config");
    let err = unknown.token().expect_err("unknown resource");
    assert_eq!((oauth_error(&err).error.as_str(), oauth_error(&err).http_status), ("invalid_target", 400));
}

#[test]
fn jwt_access_token_for_a_jwt_resource() {
    let srv = server();
    let (res, aud) = srv.resource("jwt");
    let client = srv.secret_builder("basic").resource(res).scope("write").build().expect("config");
    let token = client.token().expect("JWT access token");
    let payload = token.access_token().split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&B64URL.decode(payload).expect("base64url")).expect("JSON claims");
    assert_eq!(claims["aud"], aud, "claims: {claims}");
    assert_eq!(claims["client_id"], "basic");
    assert_eq!(claims["scope"], "write");
    assert_eq!(claims["iss"], srv.issuer());
    let exp = claims["exp"].as_u64().expect("exp");
    let ours = token.expires_at_system().expect("expiry").duration_since(UNIX_EPOCH).expect("epoch").as_secs();
    assert!(ours.abs_diff(exp) <= 2, "cctoken expiry {ours} vs JWT exp {exp}");
    // oidc-provider does not introspect structured tokens.
    let (status, body) = srv.introspect_raw(token.access_token());
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_token_type")), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Expiry and refresh-ahead

#[test]
fn short_lived_tokens_are_refreshed_ahead_of_expiry() {
    let srv = server();
    let id = "short-lived";
    let lifetime = srv.client(id)["token_lifetime"].as_u64().expect("token_lifetime");
    let client = srv.secret_builder(id).scope("read").build().expect("config");
    let first = client.token().expect("first token");
    let i = introspect_ok(srv, &first, id, "read", default_aud(srv));
    assert_eq!(i["exp"].as_u64().unwrap() - i["iat"].as_u64().unwrap(), lifetime);

    // Poll until a new token appears; every answer must still be valid when handed out, and the
    // new one must arrive before the first expires (refresh-ahead, not refresh-after).
    let limit = Instant::now() + Duration::from_secs(lifetime * 3);
    let second = loop {
        assert!(Instant::now() < limit, "no refresh within {:?}", Duration::from_secs(lifetime * 3));
        let t = client.token().expect("token while polling");
        assert!(!t.is_expired(), "an expired token was served");
        if t.access_token() != first.access_token() {
            break t;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!first.is_expired(), "the refresh came only after the first token expired");
    introspect_ok(srv, &second, id, "read", default_aud(srv));
    assert!(client.metrics().fetches >= 2);

    // Past the first token's expiry the server agrees that it is dead.
    let exp = i["exp"].as_u64().unwrap();
    let limit = Instant::now() + Duration::from_secs(lifetime + 3);
    while SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() <= exp {
        assert!(Instant::now() < limit, "the first token's exp {exp} never passed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(first.is_expired());
    assert_eq!(srv.introspect(first.access_token())["active"], false);
}

// ---------------------------------------------------------------------------------------------
// Error paths

#[test]
fn wrong_secret_is_invalid_client_and_never_leaks() {
    let srv = server();
    let right = srv.field("basic", "client_secret");
    let wrong = "wrong+/=%:! secret-value";
    for method in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost] {
        let id = if method == AuthMethod::ClientSecretBasic { "basic" } else { "post" };
        let client =
            srv.builder(id).client_secret(cctoken::Secret::new(wrong)).auth_method(method).build().expect("config");
        let err = client.token().expect_err("wrong secret");
        let o = oauth_error(&err);
        assert_eq!(o.error, "invalid_client", "{err}");
        assert_eq!(o.http_status, 401);
        assert_eq!(o.description.as_deref(), Some("client authentication failed"));
        assert_eq!(err.http_status(), Some(401));
        assert!(!err.is_retryable());
        assert_no_leak("error", &formatted(&err), &[wrong, right]);
        // Within the failure cool-down the same error comes back without a request.
        let again = client.token().expect_err("cool-down");
        assert_eq!(oauth_error(&again).error, "invalid_client");
        assert_eq!(client.metrics().fetches, 1, "cool-down: no second request");
    }

    // An unknown client is invalid_client too.
    let client = srv
        .builder("basic")
        .client_id("no-such-client")
        .client_secret(cctoken::Secret::new(wrong))
        .build()
        .expect("config");
    let err = client.token().expect_err("unknown client");
    assert_eq!((oauth_error(&err).error.as_str(), oauth_error(&err).http_status), ("invalid_client", 401));
    assert_no_leak("error", &formatted(&err), &[wrong]);
}

#[test]
fn scope_the_client_may_not_have_is_invalid_scope() {
    let srv = server();
    let secret = srv.field("basic", "client_secret");
    // `admin` is a scope the server knows, but `basic` is only allowed `read write`.
    let client = srv.secret_builder("basic").scopes(["read", "admin"]).build().expect("config");
    let err = client.token().expect_err("admin is not allowed");
    let o = oauth_error(&err);
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_scope", 400), "{err}");
    assert_eq!(o.description.as_deref(), Some("requested scope is not allowed"));
    assert_no_leak("error", &formatted(&err), &[secret]);

    // A client allowed `admin` gets it.
    let client = srv.secret_builder("all-scopes").scopes(["read", "admin"]).build().expect("config");
    let token = client.token().expect("admin allowed");
    introspect_ok(srv, &token, "all-scopes", "read admin", default_aud(srv));
}

#[test]
fn unknown_scopes_are_dropped_by_oidc_provider() {
    let srv = server();
    // oidc-provider drops scopes it does not know instead of answering invalid_scope, and says so
    // with the `scope` it returns.
    let client = srv.secret_builder("basic").scopes(["read", "no-such-scope"]).build().expect("config");
    let token = client.token().expect("unknown scope dropped");
    introspect_ok(srv, &token, "basic", "read", default_aud(srv));

    // When nothing is left, the response carries no `scope` at all, which RFC 6749 §5.1 reads
    // as "what was requested": cctoken then reports the requested scope, while introspection
    // shows none. Asserted so a change on either side is noticed.
    let client = srv.secret_builder("basic").scope("no-such-scope").build().expect("config");
    let token = client.token().expect("nothing granted, still a token");
    assert_eq!(token.scope(), Some("no-such-scope"));
    let i = srv.introspect(token.access_token());
    assert_eq!(i["active"], true);
    assert!(i.get("scope").is_none(), "introspection: {i}");
}

#[test]
fn client_without_the_grant_gets_invalid_request() {
    // oidc-provider answers `invalid_request` ("requested grant type is not allowed for this
    // client"), not RFC 6749 §5.2's `unauthorized_client`.
    let srv = server();
    let secret = srv.field("no-cc-grant", "client_secret");
    let client = srv.secret_builder("no-cc-grant").scope("read").build().expect("config");
    let err = client.token().expect_err("grant not allowed");
    let o = oauth_error(&err);
    assert_eq!((o.error.as_str(), o.http_status), ("invalid_request", 400), "{err}");
    assert_eq!(o.description.as_deref(), Some("requested grant type is not allowed for this client"));
    assert!(!err.is_retryable());
    assert_no_leak("error", &formatted(&err), &[secret]);
}
