//! POST /token: the client credentials grant (RFC 6749 section 4.4), with faults applied.

use std::thread;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use percent_encoding::percent_decode_str;
use rand::RngCore;
use serde_json::{Map, Value, json};
use tiny_http::{Request, StatusCode};

use crate::fault::{BodyKind, EchoKind, Fault, TokenFormat};
use crate::http::{self, Outcome, Reply, no_store, oauth_error, request_header, with_header};
use crate::state::{
    AuthMethod, BasicDecoding, ClientConfig, IssuedToken, LastHeaders, LastTokenRequest, MetadataDocuments, PeerCert,
    State, Stats, expiry, unix_now,
};

/// Size of the padding field of the `oversized` body.
const OVERSIZED_PADDING: usize = 2 * 1024 * 1024;
/// Content-Length announced by `close_mid_body`, and how much of it is actually sent.
const CLOSE_MID_BODY_ANNOUNCED: usize = 1000;
const CLOSE_MID_BODY_SENT: usize = 40;
const PARAMS_SENT_ONCE: [&str; 4] = ["grant_type", "scope", "client_id", "client_secret"];

pub fn handle(state: &State, request: &mut Request) -> Outcome {
    let body = match http::read_body(request) {
        Ok(body) => body,
        Err(reply) => return reply.into(),
    };
    let form = Form(http::parse_form(&body));
    let basic = BasicHeader::parse(request_header(request, "Authorization"));
    let decoding = state.settings().basic_decoding;
    state.set_last_token_request(record(state, request, &form, &basic, decoding));

    // Without a queued fault, the default (empty) fault changes nothing.
    let fault = state.take_fault().unwrap_or_default();
    if fault.latency_ms > 0 {
        thread::sleep(Duration::from_millis(fault.latency_ms));
    }

    let outcome = if let Some(kind) = fault.echo {
        echo(kind, fault.status.unwrap_or(400), request, &form, &basic, &body).into()
    } else if fault.skips_auth() {
        unauthenticated_fault(state, &fault)
    } else {
        match grant(state, request, &form, &basic, decoding) {
            Ok(grant) => answer(state, &grant, &fault),
            Err(reply) => reply.into(),
        }
    };
    match (outcome, &fault.retry_after) {
        (Outcome::Reply(reply), Some(value)) => with_header(reply, "Retry-After", value).into(),
        (outcome, _) => outcome,
    }
}

/// The decoded form body, with the lookups the endpoint needs.
struct Form(Vec<(String, String)>);

impl Form {
    fn first(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }
}

/// What the Authorization header of a /token request holds.
enum BasicHeader {
    Absent,
    /// Credentials split at the first `:` of the base64-decoded text, not yet form-decoded.
    Credentials {
        id: String,
        secret: String,
    },
    /// Basic, but not base64, not UTF-8 or without `:`: the client fails authentication.
    Malformed,
    /// Another scheme (Bearer, ...): no way to authenticate a client at the token endpoint.
    OtherScheme,
}

impl BasicHeader {
    fn parse(value: Option<&str>) -> Self {
        let Some(value) = value else { return BasicHeader::Absent };
        let value = value.trim();
        let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return BasicHeader::OtherScheme;
        }
        let decoded = STANDARD.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok());
        match decoded.as_deref().and_then(|text| text.split_once(':')) {
            Some((id, secret)) => BasicHeader::Credentials { id: id.into(), secret: secret.into() },
            None => BasicHeader::Malformed,
        }
    }

    /// Id and secret as the server compares them under `decoding`.
    fn decoded(&self, decoding: BasicDecoding) -> Option<(String, String)> {
        let BasicHeader::Credentials { id, secret } = self else { return None };
        match decoding {
            BasicDecoding::Raw => Some((id.clone(), secret.clone())),
            BasicDecoding::Form => Some((form_decode(id)?, form_decode(secret)?)),
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` value: `+` is a space, `%XX` an escaped byte.
fn form_decode(value: &str) -> Option<String> {
    percent_decode_str(&value.replace('+', " ")).decode_utf8().ok().map(|s| s.into_owned())
}

fn secret_matches(state: &State, id: &str, secret: &str) -> bool {
    state.client(id).is_some_and(|c| c.secret.as_deref() == Some(secret))
}

/// RFC 8414 metadata (served at `/.well-known/oauth-authorization-server` and, as OpenID
/// Connect Discovery, at `/.well-known/openid-configuration`; settings can remove either). The
/// issuer is the server's base URL; in HTTPS mode the certificate methods are listed and the
/// token endpoint has an RFC 8705 mTLS alias, `/mtls/token`.
pub fn metadata(state: &State, openid: bool) -> Reply {
    Stats::bump(&state.stats.metadata_requests);
    let settings = state.settings();
    let served = match settings.metadata {
        MetadataDocuments::Both => true,
        MetadataDocuments::Oauth => !openid,
        MetadataDocuments::Openid => openid,
        MetadataDocuments::None => false,
    };
    if !served {
        return http::json(404, &json!({"error": "not_found"}));
    }
    let base = &state.base_url;
    let mut methods = vec!["client_secret_basic", "client_secret_post", "none"];
    let mut meta = serde_json::json!({
        "issuer": settings.metadata_issuer.as_deref().unwrap_or(base),
        "token_endpoint": format!("{base}/token"),
        "introspection_endpoint": format!("{base}/introspect"),
        "grant_types_supported": ["client_credentials"],
    });
    if state.is_https() {
        methods.extend(["tls_client_auth", "self_signed_tls_client_auth"]);
        meta["mtls_endpoint_aliases"] = serde_json::json!({"token_endpoint": format!("{base}/mtls/token")});
    }
    meta["token_endpoint_auth_methods_supported"] = methods.into();
    http::json(200, &meta)
}

/// Builds the /_dev/last-token-request record; secrets and the Authorization value stay out.
fn record(
    state: &State,
    request: &Request,
    form: &Form,
    basic: &BasicHeader,
    decoding: BasicDecoding,
) -> LastTokenRequest {
    let mut params = Map::new();
    for (name, value) in &form.0 {
        if name == "client_secret" {
            params.insert(name.clone(), Value::from("[present]"));
        } else if let Value::Array(values) = params.entry(name.clone()).or_insert_with(|| Value::Array(Vec::new())) {
            values.push(Value::from(value.as_str()));
        }
    }
    let check = |d| basic.decoded(d).is_some_and(|(id, secret)| secret_matches(state, &id, &secret));
    let (auth_method, client_id) = match basic {
        BasicHeader::Credentials { id, .. } => {
            (Some("basic"), Some(basic.decoded(decoding).map_or_else(|| id.clone(), |(id, _)| id)))
        }
        BasicHeader::Malformed => (Some("basic"), None),
        BasicHeader::OtherScheme => (None, None),
        BasicHeader::Absent if form.first("client_secret").is_some() => {
            (Some("post"), form.first("client_id").map(String::from))
        }
        BasicHeader::Absent => match form.first("client_id") {
            Some(id) => (Some("none"), Some(id.to_string())),
            None => (None, None),
        },
    };
    let header = |name| request_header(request, name).map(String::from);
    LastTokenRequest {
        auth_method,
        client_id,
        params,
        headers: LastHeaders {
            accept: header("Accept"),
            user_agent: header("User-Agent"),
            content_type: header("Content-Type"),
        },
        basic_raw_ok: check(BasicDecoding::Raw),
        basic_form_ok: check(BasicDecoding::Form),
    }
}

/// An authenticated, valid token request.
struct Grant<'a> {
    client: &'a ClientConfig,
    /// The granted scope, space-separated; `None` when there is none to report.
    scope: Option<String>,
    audience: Vec<String>,
    resources: Vec<String>,
    /// The client certificate's thumbprint when it authenticated with one (RFC 8705 binding).
    cert_sha256: Option<String>,
}

fn invalid_request(description: &str) -> Reply {
    oauth_error(400, "invalid_request", description)
}

fn invalid_client() -> Reply {
    let reply = oauth_error(401, "invalid_client", "client authentication failed");
    with_header(reply, "WWW-Authenticate", r#"Basic realm="cctoken-dev-server""#)
}

/// Checks the request, authenticates the client and decides the scope.
fn grant<'a>(
    state: &'a State,
    request: &Request,
    form: &Form,
    basic: &BasicHeader,
    decoding: BasicDecoding,
) -> Result<Grant<'a>, Reply> {
    let content_type = request_header(request, "Content-Type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    if let Some(name) = PARAMS_SENT_ONCE.iter().find(|name| form.count(name) > 1) {
        return Err(invalid_request(&format!("parameter {name} is repeated")));
    }
    match form.first("grant_type") {
        None => return Err(invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth_error(400, "unsupported_grant_type", "only client_credentials is supported"));
        }
    }

    let peer = state.peer_cert(request.remote_addr());
    let (client, cert_sha256) = match certificate_client(state, form, basic, peer)? {
        Some(found) => found,
        None => (authenticate(state, form, basic, decoding)?, None),
    };

    let requested: Vec<&str> = form.first("scope").unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
    let allowed = |scope: &&str| client.scopes.is_empty() || client.scopes.iter().any(|a| a == scope);
    if let Some(denied) = requested.iter().find(|s| !allowed(s)) {
        return Err(oauth_error(400, "invalid_scope", &format!("scope {denied:?} is not allowed for this client")));
    }
    let scope = if !requested.is_empty() {
        Some(requested.join(" "))
    } else if !client.scopes.is_empty() {
        Some(client.scopes.join(" "))
    } else {
        None
    };

    Ok(Grant { client, scope, audience: form.all("audience"), resources: form.all("resource"), cert_sha256 })
}

/// RFC 8705: a client registered for certificate authentication names itself with `client_id`
/// and proves itself with the TLS client certificate alone. `Ok(None)`: not such a client.
fn certificate_client<'a>(
    state: &'a State,
    form: &Form,
    basic: &BasicHeader,
    peer: Option<PeerCert>,
) -> Result<Option<(&'a ClientConfig, Option<String>)>, Reply> {
    let Some(client) = form.first("client_id").and_then(|id| state.client(id)) else { return Ok(None) };
    if !matches!(client.auth, AuthMethod::Tls | AuthMethod::SelfSignedTls) {
        return Ok(None);
    }
    if !matches!(basic, BasicHeader::Absent) || form.first("client_secret").is_some() {
        return Err(invalid_client());
    }
    // tls_client_auth: issued by our CA; self_signed: the registered certificate. Both are the
    // certificate generated for this client.
    let registered = state.client_cert_sha256.get(&client.id);
    let ok = peer
        .as_ref()
        .is_some_and(|p| Some(&p.sha256) == registered && (client.auth == AuthMethod::SelfSignedTls || p.chains_to_ca));
    if ok { Ok(Some((client, peer.map(|p| p.sha256)))) } else { Err(invalid_client()) }
}

fn authenticate<'a>(
    state: &'a State,
    form: &Form,
    basic: &BasicHeader,
    decoding: BasicDecoding,
) -> Result<&'a ClientConfig, Reply> {
    let body_id = form.first("client_id");
    let body_secret = form.first("client_secret");

    let (method, id, secret) = match basic {
        BasicHeader::Malformed | BasicHeader::OtherScheme => return Err(invalid_client()),
        BasicHeader::Credentials { .. } => {
            if body_secret.is_some() {
                return Err(invalid_request("client credentials sent both in Authorization and in the body"));
            }
            let Some((id, secret)) = basic.decoded(decoding) else { return Err(invalid_client()) };
            // A client_id in the body next to Basic is tolerated only when it names the same client.
            if body_id.is_some_and(|body_id| body_id != id) {
                return Err(invalid_request("client_id in the body differs from the Authorization header"));
            }
            (AuthMethod::Basic, id, Some(secret))
        }
        BasicHeader::Absent => match (body_id, body_secret) {
            (Some(id), Some(secret)) => (AuthMethod::Post, id.to_string(), Some(secret.to_string())),
            (Some(id), None) => (AuthMethod::None, id.to_string(), None),
            (None, _) => return Err(invalid_client()),
        },
    };

    let client = state.client(&id).ok_or_else(invalid_client)?;
    let method_allowed = match client.auth {
        AuthMethod::Any => matches!(method, AuthMethod::Basic | AuthMethod::Post),
        configured => configured == method,
    };
    if method_allowed && client.secret == secret { Ok(client) } else { Err(invalid_client()) }
}

fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn opaque_token() -> String {
    format!("dev-{}", random_b64(32))
}

/// A JWT-shaped token: it parses as a JWT, but its signature is random bytes.
fn jwt_token(subject: &str, lifetime: u64) -> String {
    let now = unix_now();
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let claims = json!({"exp": now.saturating_add(lifetime), "iat": now, "sub": subject, "jti": random_b64(16)});
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{}", encode(&header), encode(&claims), random_b64(32))
}

/// The number of seconds an `expires_in` value stands for, when it is a number or a numeric string.
/// Negative values count as 0; fractions are truncated; huge values saturate.
fn lifetime_secs(value: &Value) -> Option<u64> {
    let from_f64 = |f: f64| if f.is_nan() { None } else { Some(f.max(0.0) as u64) };
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|_| 0)).or_else(|| n.as_f64().and_then(from_f64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| s.parse::<f64>().ok().and_then(from_f64))
        }
        _ => None,
    }
}

/// The answer for an authenticated request: a token, possibly reshaped by the fault.
fn answer(state: &State, grant: &Grant, fault: &Fault) -> Outcome {
    if let Some(error) = &fault.error {
        // A 200 that carries an error instead of a token (some servers do this).
        return fault_error(200, error, fault).into();
    }

    let client_lifetime = grant.client.lifetime;
    let expires_in = fault.expires_in.clone().unwrap_or_else(|| Value::from(client_lifetime));
    // What the server itself believes about expiry: the announced number when there is one.
    let announced = if fault.omit_expires_in { None } else { lifetime_secs(&expires_in) };
    let (token, lifetime) = match fault.access_token_format {
        TokenFormat::Opaque => (opaque_token(), announced),
        TokenFormat::Jwt => {
            // The JWT's own exp is what a client falls back to, so it must be in the future.
            let lifetime = announced.filter(|&s| s > 0).unwrap_or(client_lifetime);
            (jwt_token(&grant.client.id, lifetime), Some(lifetime))
        }
    };
    let (expires_at, exp_unix) = expiry(lifetime);
    state.register_token(
        token.clone(),
        IssuedToken {
            client_id: grant.client.id.clone(),
            scope: grant.scope.clone(),
            audience: grant.audience.clone(),
            resources: grant.resources.clone(),
            expires_at,
            exp_unix,
            revoked: false,
            cert_sha256: grant.cert_sha256.clone(),
        },
    );
    Stats::bump(&state.stats.token_successes);

    let token_type = fault.token_type.clone().unwrap_or_else(|| "Bearer".into());
    let scope = grant.scope.clone().filter(|_| !fault.omit_scope);

    if fault.body == Some(BodyKind::Form) {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("access_token", &token);
        if !fault.omit_token_type {
            form.append_pair("token_type", fault.token_type.as_deref().unwrap_or("bearer"));
        }
        if !fault.omit_expires_in {
            form.append_pair("expires_in", &json_to_form_value(&expires_in));
        }
        if let Some(scope) = &scope {
            form.append_pair("scope", scope);
        }
        let body = form.finish().into_bytes();
        return no_store(http::raw(200, Some("application/x-www-form-urlencoded"), body)).into();
    }

    let mut body = Map::new();
    body.insert("access_token".into(), Value::from(token));
    if !fault.omit_token_type {
        body.insert("token_type".into(), Value::from(token_type));
    }
    if !fault.omit_expires_in {
        body.insert("expires_in".into(), expires_in);
    }
    if let Some(scope) = scope {
        body.insert("scope".into(), Value::from(scope));
    }
    body.extend(fault.extra.clone());
    if fault.body == Some(BodyKind::Oversized) {
        body.insert("padding".into(), Value::from("x".repeat(OVERSIZED_PADDING)));
    }
    no_store(http::json(200, &body)).into()
}

/// The RFC 6749 section 5.2 body a fault asks for (`error_description` only when given).
fn fault_error(status: u16, error: &str, fault: &Fault) -> Reply {
    let mut body = Map::new();
    body.insert("error".into(), Value::from(error));
    if let Some(description) = &fault.error_description {
        body.insert("error_description".into(), Value::from(description.as_str()));
    }
    no_store(http::json(status, &body))
}

fn json_to_form_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Faults that answer without authenticating: redirects, error statuses and broken bodies.
fn unauthenticated_fault(state: &State, fault: &Fault) -> Outcome {
    if fault.redirect {
        let location = format!("{}/_dev/redirect-target", state.base_url);
        return with_header(http::raw(307, None, Vec::new()), "Location", &location).into();
    }
    let status = fault.status.unwrap_or(200);
    let reply = match fault.body {
        Some(BodyKind::Html) => {
            // What a reverse proxy in front of a dead authorization server tends to answer.
            let status = fault.status.unwrap_or(502);
            let reason = StatusCode(status).default_reason_phrase();
            let page = format!(
                "<html><head><title>{status} {reason}</title></head>\
                     <body><h1>{status} {reason}</h1><hr><center>dev-proxy</center></body></html>\n"
            );
            http::raw(status, Some("text/html"), page.into_bytes())
        }
        Some(BodyKind::Malformed) => http::raw(status, Some("application/json"), br#"{"access_token": "x""#.to_vec()),
        Some(BodyKind::Truncated) => {
            let full = json!({"access_token": opaque_token(), "token_type": "Bearer", "expires_in": 3600});
            let mut body = full.to_string().into_bytes();
            body.truncate(body.len() / 2);
            http::raw(status, Some("application/json"), body)
        }
        Some(BodyKind::Empty) => http::raw(status, Some("application/json"), Vec::new()),
        Some(BodyKind::CloseMidBody) => {
            let full = json!({"access_token": opaque_token(), "token_type": "Bearer", "expires_in": 3600});
            let mut partial = full.to_string().into_bytes();
            partial.truncate(CLOSE_MID_BODY_SENT);
            return Outcome::CloseMidBody { partial, announced_length: CLOSE_MID_BODY_ANNOUNCED };
        }
        // Success-shaped bodies never skip authentication (see Fault::skips_auth).
        Some(BodyKind::Oversized | BodyKind::Form) | None => match &fault.error {
            Some(error) => fault_error(status, error, fault),
            None => http::raw(status, None, Vec::new()),
        },
    };
    reply.into()
}

/// The `echo` fault: an error answer that quotes the credentials of the request.
fn echo(kind: EchoKind, status: u16, request: &Request, form: &Form, basic: &BasicHeader, body: &[u8]) -> Reply {
    let secret = match basic {
        BasicHeader::Credentials { secret, .. } => form_decode(secret).unwrap_or_else(|| secret.clone()),
        _ => form.first("client_secret").unwrap_or_default().to_string(),
    };
    let authorization = request_header(request, "Authorization").unwrap_or_default();
    let b64 = authorization.split_once(' ').map_or("", |(_, v)| v.trim());
    let assertion = form.first("client_assertion").unwrap_or_default();
    let text = |t: String| http::raw(status, Some("text/plain"), t.into_bytes());
    match kind {
        EchoKind::Verbatim => text(format!("rejected secret: {secret} (assertion {assertion})")),
        EchoKind::Html => {
            let escaped: String = secret
                .chars()
                .map(|c| match c {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '"' => "&quot;".to_string(),
                    '\'' => "&#39;".to_string(),
                    c => c.to_string(),
                })
                .collect();
            // Wrapped in the middle, the way HTML generators fold long lines.
            let middle = escaped.char_indices().nth(escaped.chars().count() / 2).map_or(escaped.len(), |(i, _)| i);
            let (head, tail) = escaped.split_at(middle);
            let page = format!("<html><body><p>Secret {head}\n   {tail} is wrong</p></body></html>");
            http::raw(status, Some("text/html"), page.into_bytes())
        }
        EchoKind::JsonEscaped => {
            let escaped: String = secret.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
            http::raw(status, Some("application/json"), format!(r#"{{"message":"bad {escaped}"}}"#).into_bytes())
        }
        EchoKind::Percent => text(format!("could not parse {}", String::from_utf8_lossy(body))),
        EchoKind::BasicUnpadded => text(format!("bad header Basic {}", b64.trim_end_matches('='))),
        EchoKind::BasicTruncated => text(format!("bad header Basic {}...", &b64[..b64.len() * 2 / 3])),
        EchoKind::SecretTruncated => {
            let half: String = secret.chars().take(secret.chars().count().div_ceil(2)).collect();
            text(format!("secret starting {half}... is wrong"))
        }
        EchoKind::Oauth => oauth_error(
            status,
            "invalid_client",
            &format!("secret {secret} and assertion {assertion} and header {authorization} rejected"),
        ),
        EchoKind::Assertion => text(format!("bad assertion {assertion}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_split_at_first_colon_then_form_decoded() {
        // id "a b", secret "p+/=%:! x" form-encoded: "a+b" and "p%2B%2F%3D%25%3A%21+x".
        let encoded = STANDARD.encode("a+b:p%2B%2F%3D%25%3A%21+x");
        let header = BasicHeader::parse(Some(&format!("Basic {encoded}")));
        assert_eq!(header.decoded(BasicDecoding::Form), Some(("a b".into(), "p+/=%:! x".into())));
        assert_eq!(header.decoded(BasicDecoding::Raw), Some(("a+b".into(), "p%2B%2F%3D%25%3A%21+x".into())));
        assert!(matches!(BasicHeader::parse(Some("Bearer x")), BasicHeader::OtherScheme));
        assert!(matches!(BasicHeader::parse(Some("Basic !!!")), BasicHeader::Malformed));
        assert!(matches!(BasicHeader::parse(Some("Basic")), BasicHeader::Malformed));
        let no_colon = format!("basic {}", STANDARD.encode("svc"));
        assert!(matches!(BasicHeader::parse(Some(&no_colon)), BasicHeader::Malformed));
        assert!(matches!(BasicHeader::parse(None), BasicHeader::Absent));
    }

    #[test]
    fn expires_in_values() {
        assert_eq!(lifetime_secs(&json!(3600)), Some(3600));
        assert_eq!(lifetime_secs(&json!("3600")), Some(3600));
        assert_eq!(lifetime_secs(&json!(2.5)), Some(2));
        assert_eq!(lifetime_secs(&json!(-5)), Some(0));
        assert_eq!(lifetime_secs(&json!(1e30)), Some(u64::MAX));
        assert_eq!(lifetime_secs(&json!(u64::MAX)), Some(u64::MAX));
        assert_eq!(lifetime_secs(&json!(null)), None);
        assert_eq!(lifetime_secs(&json!("soon")), None);
    }
}
