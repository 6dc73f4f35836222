//! Token response parsing: RFC 6749 §5.1 / §5.2, lenient where real servers are sloppy,
//! strict where safety needs it. Pure functions of (status, headers, body): no I/O here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::Error;
use crate::config::MAX_LIFETIME;
use crate::error::OAuthError;
use crate::redact::Echoes;
use crate::token::NulText;

/// How long an issued token may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// Valid for this long from the moment the request was sent.
    For(Duration),
    /// `expires_in` was zero or negative: hand it to the callers waiting for this fetch, never
    /// cache it.
    SingleUse,
}

/// A successful token response.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub access_token: NulText,
    pub token_type: NulText,
    pub scope: Option<NulText>,
    pub lifetime: Lifetime,
    pub extras: Map<String, Value>,
}

/// What the parser needs to know about the request and the HTTP answer.
pub(crate) struct Answer<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub retry_after: Option<&'a str>,
    pub body: &'a [u8],
}

/// Everything secret that server text might echo back, kept out of error messages.
pub(crate) type Redactions<'a> = &'a Echoes;

/// How much of a non-OAuth error body, and of an OAuth `error_description`/`error_uri`, an
/// error quotes. Server text is not ours to log at length.
const SNIPPET_CHARS: usize = 120;
const DESCRIPTION_CHARS: usize = 200;

/// RFC 6749/6750/9449/8707 error codes: constants, so quoted as they are.
const KNOWN_ERRORS: [&str; 16] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
    "slow_down",
    "invalid_target",
    "invalid_token",
    "insufficient_scope",
    "use_dpop_nonce",
    "invalid_dpop_proof",
    "unsupported_token_type",
];

pub(crate) fn parse(
    answer: &Answer<'_>,
    requested_scope: Option<&str>,
    default_lifetime: Duration,
    secrets: Redactions<'_>,
) -> Result<Parsed, Error> {
    let status = answer.status;
    let success = (200..300).contains(&status);
    let retry_after = answer.retry_after.and_then(parse_retry_after);

    let Some(fields) = decode_body(answer) else {
        if success {
            return Err(Error::InvalidResponse(format!(
                "body is not a JSON object or form ({} bytes, content type {})",
                answer.body.len(),
                answer.content_type.unwrap_or("none")
            )));
        }
        return Err(Error::Http { status, retry_after, body_snippet: snippet(answer.body, secrets) });
    };

    if let Some(code) = fields.get("error").and_then(Value::as_str) {
        let text = |k: &str| fields.get(k).and_then(Value::as_str).map(|s| secrets.scrub(s, DESCRIPTION_CHARS));
        let error = match KNOWN_ERRORS.iter().find(|known| **known == code) {
            Some(known) => (*known).to_string(),
            None => secrets.scrub(code, 64),
        };
        return Err(Error::OAuth(Box::new(OAuthError {
            error,
            description: text("error_description"),
            uri: text("error_uri"),
            http_status: status,
            retry_after,
        })));
    }
    if !success {
        return Err(Error::Http { status, retry_after, body_snippet: snippet(answer.body, secrets) });
    }
    parse_success(fields, requested_scope, default_lifetime)
}

fn decode_body(answer: &Answer<'_>) -> Option<Map<String, Value>> {
    let is_form = answer
        .content_type
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if is_form {
        // Some older servers (GitHub's classic endpoint, early Facebook) answer in form encoding.
        let map: Map<String, Value> =
            form_urlencoded::parse(answer.body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
        return (!map.is_empty()).then_some(map);
    }
    match serde_json::from_slice::<Value>(answer.body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn parse_success(
    mut fields: Map<String, Value>,
    requested_scope: Option<&str>,
    default_lifetime: Duration,
) -> Result<Parsed, Error> {
    let access_token = match fields.remove("access_token") {
        Some(Value::String(s)) if !s.is_empty() => Zeroizing::new(s),
        Some(Value::String(_)) => {
            return Err(Error::InvalidResponse("`access_token` is empty".into()));
        }
        Some(_) => {
            return Err(Error::InvalidResponse("`access_token` is not a string".into()));
        }
        None => {
            return Err(Error::InvalidResponse("no `access_token` in the response".into()));
        }
    };
    if access_token.chars().any(|c| c.is_control() || c == ' ') {
        // It goes into an HTTP header: refuse what would break or inject into it.
        return Err(Error::InvalidResponse("`access_token` contains spaces or control characters".into()));
    }
    let access_token =
        NulText::new(&access_token).ok_or_else(|| Error::InvalidResponse("NUL in access_token".into()))?;

    let token_type = match fields.remove("token_type") {
        Some(Value::String(t)) if !t.is_empty() && !t.chars().any(|c| c.is_control() || c == ' ') => {
            normalize_token_type(&t)
        }
        Some(_) => {
            return Err(Error::InvalidResponse("`token_type` is not a single word".into()));
        }
        None => "Bearer".to_string(),
    };
    let token_type = NulText::new(&token_type).ok_or_else(|| Error::InvalidResponse("NUL in token_type".into()))?;

    let lifetime = match fields.remove("expires_in").as_ref().and_then(seconds) {
        Some(secs) => lifetime_from_seconds(secs),
        None => jwt_lifetime(access_token.as_str()).unwrap_or(Lifetime::For(default_lifetime)),
    };

    // A missing, empty or unprintable scope means "as requested" (RFC 6749 §5.1).
    let scope = match fields.remove("scope") {
        Some(Value::String(s)) if !s.trim().is_empty() && !s.chars().any(char::is_control) => Some(s),
        _ => requested_scope.filter(|s| !s.is_empty()).map(str::to_string),
    };
    let scope = scope.as_deref().and_then(NulText::new);

    Ok(Parsed { access_token, token_type, scope, lifetime, extras: fields })
}

fn normalize_token_type(t: &str) -> String {
    if t.eq_ignore_ascii_case("bearer") {
        "Bearer".into()
    } else if t.eq_ignore_ascii_case("dpop") {
        "DPoP".into()
    } else {
        t.to_string()
    }
}

/// `expires_in` as a number of seconds: integer, float, or either inside a string.
/// Anything else (bool, object, unparsable string, NaN) counts as missing.
fn seconds(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (!n.is_nan()).then_some(n)
}

fn lifetime_from_seconds(secs: f64) -> Lifetime {
    if secs <= 0.0 {
        Lifetime::SingleUse
    } else if secs >= MAX_LIFETIME.as_secs_f64() {
        Lifetime::For(MAX_LIFETIME)
    } else {
        Lifetime::For(Duration::from_secs_f64(secs))
    }
}

/// The lifetime from a JWT access token's `exp`. Decoded for nothing but that: the signature is
/// not checked and no other claim is used.
fn jwt_lifetime(token: &str) -> Option<Lifetime> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp").and_then(seconds)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    Some(lifetime_from_seconds(exp - now))
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), clamped to
/// [`MAX_RETRY_AFTER`]: the value comes from the server, and a huge one (`u64::MAX` seconds,
/// the year 9999) must not overflow a deadline computed from it.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a very long time", not "no header".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX).min(MAX_RETRY_AFTER.as_secs()))
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// The longest `Retry-After` kept: longer than any call may wait, so it still means "give up".
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// A short, single-line excerpt of an error body for the error message, scrubbed of
/// credentials before anything else (see `crate::redact`). A body that mentions an access
/// token is not quoted at all.
fn snippet(body: &[u8], secrets: Redactions<'_>) -> String {
    let text = Zeroizing::new(String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned());
    if text.contains("access_token") {
        return "[body withheld: it mentions an access token]".into();
    }
    secrets.scrub_page(&text, SNIPPET_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Result<Parsed, Error> {
        let a =
            Answer { status: 200, content_type: Some("application/json"), retry_after: None, body: body.as_bytes() };
        parse(&a, Some("read"), Duration::from_secs(300), &echoes("s3Cr3t!"))
    }

    fn echoes(secret: &str) -> Echoes {
        let mut e = Echoes::new();
        e.secret(secret);
        e
    }

    fn secs(p: &Parsed) -> u64 {
        match p.lifetime {
            Lifetime::For(d) => d.as_secs(),
            Lifetime::SingleUse => 0,
        }
    }

    #[test]
    fn expires_in_integer_string_float() {
        assert_eq!(secs(&ok(r#"{"access_token":"a","expires_in":3600}"#).unwrap()), 3600);
        assert_eq!(secs(&ok(r#"{"access_token":"a","expires_in":"3600"}"#).unwrap()), 3600);
        assert_eq!(secs(&ok(r#"{"access_token":"a","expires_in":" 60 "}"#).unwrap()), 60);
        assert_eq!(secs(&ok(r#"{"access_token":"a","expires_in":59.9}"#).unwrap()), 59);
    }

    #[test]
    fn expires_in_missing_uses_default_or_jwt_exp() {
        assert_eq!(secs(&ok(r#"{"access_token":"a"}"#).unwrap()), 300);
        assert_eq!(secs(&ok(r#"{"access_token":"a","expires_in":"soon"}"#).unwrap()), 300);
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 1000;
        let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.sig", b64(r#"{"alg":"none"}"#.into()), b64(format!(r#"{{"exp":{exp}}}"#)));
        let got = secs(&ok(&format!(r#"{{"access_token":"{jwt}"}}"#)).unwrap());
        assert!((990..=1000).contains(&got), "{got}");
    }

    #[test]
    fn expires_in_zero_negative_huge() {
        assert_eq!(ok(r#"{"access_token":"a","expires_in":0}"#).unwrap().lifetime, Lifetime::SingleUse);
        assert_eq!(ok(r#"{"access_token":"a","expires_in":-5}"#).unwrap().lifetime, Lifetime::SingleUse);
        assert_eq!(ok(r#"{"access_token":"a","expires_in":1e300}"#).unwrap().lifetime, Lifetime::For(MAX_LIFETIME));
        assert_eq!(
            ok(r#"{"access_token":"a","expires_in":18446744073709551615}"#).unwrap().lifetime,
            Lifetime::For(MAX_LIFETIME)
        );
    }

    #[test]
    fn token_type_any_case_and_missing() {
        assert_eq!(ok(r#"{"access_token":"a","token_type":"bearer"}"#).unwrap().token_type.as_str(), "Bearer");
        assert_eq!(ok(r#"{"access_token":"a","token_type":"BEARER"}"#).unwrap().token_type.as_str(), "Bearer");
        assert_eq!(ok(r#"{"access_token":"a"}"#).unwrap().token_type.as_str(), "Bearer");
        assert_eq!(ok(r#"{"access_token":"a","token_type":"dpop"}"#).unwrap().token_type.as_str(), "DPoP");
    }

    #[test]
    fn scope_returned_else_requested_and_extras_kept() {
        let p = ok(r#"{"access_token":"a","scope":"read write","ext":1}"#).unwrap();
        assert_eq!(p.scope.as_ref().map(NulText::as_str), Some("read write"));
        assert_eq!(p.extras.get("ext"), Some(&Value::from(1)));
        assert_eq!(ok(r#"{"access_token":"a"}"#).unwrap().scope.as_ref().map(NulText::as_str), Some("read"));
    }

    #[test]
    fn access_token_strictness() {
        assert!(matches!(ok(r#"{"token_type":"Bearer"}"#), Err(Error::InvalidResponse(_))));
        assert!(matches!(ok(r#"{"access_token":""}"#), Err(Error::InvalidResponse(_))));
        assert!(matches!(ok(r#"{"access_token":42}"#), Err(Error::InvalidResponse(_))));
        assert!(matches!(ok("{\"access_token\":\"a\\r\\nX: y\"}"), Err(Error::InvalidResponse(_))));
        assert!(matches!(ok(r#"{"access_token":"a""#), Err(Error::InvalidResponse(_))));
        assert!(matches!(ok("[1]"), Err(Error::InvalidResponse(_))));
    }

    #[test]
    fn oauth_error_on_200_and_4xx_redacted() {
        let e = ok(r#"{"error":"invalid_client","error_description":"bad secret s3Cr3t!"}"#).unwrap_err();
        let o = e.oauth().unwrap();
        assert_eq!((o.error.as_str(), o.http_status), ("invalid_client", 200));
        assert_eq!(o.description.as_deref(), Some("bad secret [redacted]"));
        let a = Answer { status: 429, content_type: None, retry_after: Some("7"), body: br#"{"error":"slow_down"}"# };
        let e = parse(&a, None, Duration::from_secs(1), &Echoes::new()).unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
    }

    #[test]
    fn html_error_page_gives_short_snippet() {
        let body = format!("<html>\n<body>502 Bad Gateway s3Cr3t! {}</body></html>", "x".repeat(500));
        let a = Answer { status: 502, content_type: Some("text/html"), retry_after: None, body: body.as_bytes() };
        let e = parse(&a, None, Duration::from_secs(1), &echoes("s3Cr3t!")).unwrap_err();
        let Error::Http { status: 502, body_snippet, .. } = &e else { panic!("{e:?}") };
        assert!(body_snippet.starts_with("<html> <body>502 Bad Gateway [redacted]"));
        assert!(body_snippet.chars().count() <= SNIPPET_CHARS + 1);
    }

    #[test]
    fn form_encoded_body() {
        let a = Answer {
            status: 200,
            content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
            retry_after: None,
            body: b"access_token=abc&token_type=bearer&expires_in=120",
        };
        let p = parse(&a, None, Duration::from_secs(1), &Echoes::new()).unwrap();
        assert_eq!((p.access_token.as_str(), p.token_type.as_str(), secs(&p)), ("abc", "Bearer", 120));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28), "{d:?}");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
