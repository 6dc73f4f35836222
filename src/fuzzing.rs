//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`, never in a release
//! build). Thin wrappers around crate-private parsers, so the fuzzers reach the same code the
//! client runs, without the network. Not a public API: names and shapes may change at any time.

use std::time::Duration;

use crate::config::ClientBuilder;
use crate::response::{Answer, Lifetime};
use crate::{AuthMethod, Error};

/// What a successful token response parsed into.
#[derive(Debug)]
pub struct ParsedToken {
    pub access_token: String,
    pub token_type: String,
    pub scope: Option<String>,
    /// `None` for a single-use token (`expires_in` ≤ 0).
    pub lifetime: Option<Duration>,
    pub extras: usize,
}

/// The token response parser, as `fetch` calls it for one HTTP answer.
pub fn token_response(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<&str>,
    body: &[u8],
    requested_scope: Option<&str>,
    default_lifetime: Duration,
    secrets: &[&str],
) -> Result<ParsedToken, Error> {
    let answer = Answer { status, content_type, retry_after, body };
    let mut echoes = crate::redact::Echoes::new();
    for s in secrets {
        echoes.secret(s);
    }
    let p = crate::response::parse(&answer, requested_scope, default_lifetime, &echoes)?;
    Ok(ParsedToken {
        access_token: p.access_token.as_str().to_string(),
        token_type: p.token_type.as_str().to_string(),
        scope: p.scope.as_ref().map(|s| s.as_str().to_string()),
        lifetime: match p.lifetime {
            Lifetime::For(d) => Some(d),
            Lifetime::SingleUse => None,
        },
        extras: p.extras.len(),
    })
}

/// `Retry-After` as the retry loop reads it.
pub fn retry_after(value: &str) -> Option<Duration> {
    crate::response::parse_retry_after(value)
}

/// The longest lifetime a token may get (longer `expires_in` values are clamped to it).
pub const MAX_LIFETIME: Duration = crate::config::MAX_LIFETIME;

/// Discovery: a metadata document body (as received with HTTP 200) checked against the issuer
/// configured in `builder`, picking the token endpoint and authentication method.
pub fn discovery_metadata(builder: ClientBuilder, body: &[u8]) -> Result<(String, AuthMethod), Error> {
    let cfg = builder.validate()?;
    let crate::config::Endpoint::Issuer(issuer) = &cfg.endpoint else {
        return Err(Error::config("issuer", "the fuzz entry needs an issuer"));
    };
    // As `discovery::get_json` reads a 200 answer.
    let meta: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Error::InvalidResponse("metadata at <fuzz> is not JSON".into()))?;
    let r = crate::discovery::resolve(&meta, issuer, &cfg)?;
    Ok((r.token_url.to_string(), r.auth_method))
}

/// A federated assertion file's contents as the client checks them before sending (`now` in
/// Unix seconds); the JWT is returned on success.
pub fn federated_assertion(contents: &[u8], now: u64) -> Result<String, Error> {
    let path = std::path::Path::new("/fuzz/assertion-file");
    crate::federated::parse_assertion(contents, path, now).map(|jwt| jwt.as_str().to_string())
}
