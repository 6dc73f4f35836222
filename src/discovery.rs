//! Authorization server metadata: RFC 8414, falling back to OpenID Connect Discovery 1.0.
//! Used once per client, at its first fetch, when it was configured with an `issuer`.

use std::time::Instant;

use serde_json::Value;

use crate::Error;
use crate::config::{AuthMethod, Config, validate_url};
use crate::fetch::{Resolved, read_body, transport_error};
use crate::redact::quote;

/// Fetches the issuer's metadata and picks the token endpoint and authentication method.
pub(crate) fn discover(
    agent: &ureq::Agent,
    issuer: &url::Url,
    cfg: &Config,
    deadline: Instant,
) -> Result<Resolved, Error> {
    let mut last = None;
    for url in metadata_urls(issuer) {
        match get_json(agent, &url, cfg, deadline) {
            Ok(meta) => return resolve(&meta, issuer, cfg),
            // Not served at this location: try the next well-known path.
            Err(e @ Error::Http { status: 404 | 405 | 400 | 403 | 401, .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::InvalidResponse("no metadata document found".into())))
}

/// RFC 8414 §3.1 inserts the well-known segment before the issuer's path; OpenID Discovery
/// appends it after.
fn metadata_urls(issuer: &url::Url) -> [String; 2] {
    let path = issuer.path().trim_end_matches('/');
    let origin = issuer.origin().ascii_serialization();
    [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ]
}

fn get_json(agent: &ureq::Agent, url: &str, cfg: &Config, deadline: Instant) -> Result<Value, Error> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(Error::timeout("call deadline passed before discovery"));
    }
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .config()
        // Like a token request: one exchange gets request_timeout, never more than the call has left.
        .timeout_global(Some(remaining.min(cfg.request_timeout)))
        .build()
        .call()
        .map_err(transport_error)?;
    let status = response.status().as_u16();
    let body = read_body(&mut response)?;
    if status != 200 {
        return Err(Error::Http { status, retry_after: None, body_snippet: format!("metadata at {}", quote(url)) });
    }
    serde_json::from_slice(&body).map_err(|_| Error::InvalidResponse(format!("metadata at {} is not JSON", quote(url))))
}

pub(crate) fn resolve(meta: &Value, issuer: &url::Url, cfg: &Config) -> Result<Resolved, Error> {
    let text = |k: &str| meta.get(k).and_then(Value::as_str);
    // RFC 8414 §3.3: the metadata must name exactly the issuer we asked (trailing slash aside,
    // which URL parsing adds to bare origins).
    let claimed = text("issuer").ok_or_else(|| Error::InvalidResponse("metadata has no `issuer`".into()))?;
    if claimed.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        // Quoted bounded and on one line: the server chose this text.
        return Err(Error::InvalidResponse(format!(
            "metadata issuer {} differs from the configured issuer",
            quote(claimed)
        )));
    }

    // RFC 8414 §2: when the list is absent, client_secret_basic is the default.
    let supported: Vec<&str> = match meta.get("token_endpoint_auth_methods_supported").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).collect(),
        None => vec!["client_secret_basic"],
    };
    let creds = cfg.credentials();
    let auth_method = match cfg.auth_method {
        Some(m) => m,
        None => creds
            .preferences()
            .chain(
                std::iter::once(AuthMethod::None).filter(|_| !creds.secret && !creds.private_key && !creds.certificate),
            )
            .find(|m| supported.contains(&m.as_str()))
            .ok_or_else(|| {
                // The server's list decides this, so it is an answer we cannot use, not a bad
                // configuration; the list is the server's text, quoted bounded.
                Error::InvalidResponse(format!(
                    "the metadata lists {} token endpoint authentication method(s), none of which the given \
                     credentials allow: {}",
                    supported.len(),
                    quote(&supported.join(" "))
                ))
            })?,
    };

    // RFC 8705 §5: with a client certificate, use the mTLS alias of the token endpoint.
    let mtls_alias = meta.pointer("/mtls_endpoint_aliases/token_endpoint").and_then(Value::as_str);
    let endpoint = match mtls_alias {
        Some(alias) if cfg.client_cert.is_some() || auth_method.uses_client_certificate() => alias,
        _ => text("token_endpoint").ok_or_else(|| Error::InvalidResponse("metadata has no `token_endpoint`".into()))?,
    };
    let token_url = validate_url("token_endpoint", endpoint, cfg.allow_insecure_http).map_err(|e| match e {
        // The server named this endpoint: an unusable answer, not a configuration error.
        Error::Config { reason, .. } => {
            Error::InvalidResponse(format!("metadata `token_endpoint` {} is unusable: {reason}", quote(endpoint)))
        }
        other => other,
    })?;
    // The proxy was checked against the issuer; a discovered http:// endpoint gets the same rule.
    if token_url.scheme() == "http" && cfg.proxy.is_some() && !cfg.allow_insecure_http {
        return Err(Error::config(
            "proxy",
            "the discovered token endpoint is http://: refusing to send credentials through the proxy in clear",
        ));
    }
    Ok(Resolved { token_url, auth_method, issuer: Some(claimed.to_string()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_locations() {
        let u = url::Url::parse("https://as.example.com/tenant1").unwrap();
        assert_eq!(
            metadata_urls(&u),
            [
                "https://as.example.com/.well-known/oauth-authorization-server/tenant1".to_string(),
                "https://as.example.com/tenant1/.well-known/openid-configuration".to_string()
            ]
        );
        let bare = url::Url::parse("https://as.example.com").unwrap();
        assert_eq!(metadata_urls(&bare)[0], "https://as.example.com/.well-known/oauth-authorization-server");
    }
}
