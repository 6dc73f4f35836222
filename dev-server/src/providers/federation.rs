//! The workload-identity federation issuer: an OpenID Connect discovery document, its JWKS,
//! and `GET /_dev/federated-token`, which mints the kind of short-lived JWT a platform writes
//! to a file (a Kubernetes projected service-account token, a GitHub Actions OIDC token).

use serde_json::json;

use super::fixtures::{FEDERATED_AUDIENCE, FEDERATED_SUBJECT};
use super::keys::RsaKey;
use super::{jwt, query, util};
use crate::http::{self, Reply};
use crate::state::unix_now;

/// Default lifetime of a minted token: one hour, like a projected service-account token.
const DEFAULT_TTL: i64 = 3600;

pub struct Federation {
    issuer: String,
    key: RsaKey,
}

impl Federation {
    pub fn new(issuer: String, key: RsaKey) -> Self {
        Federation { issuer, key }
    }

    pub fn metadata(&self) -> Reply {
        http::json(
            200,
            &json!({
                "issuer": self.issuer,
                "jwks_uri": format!("{}/jwks", self.issuer),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }),
        )
    }

    pub fn jwks(&self) -> Reply {
        http::json(200, &json!({"keys": [self.key.jwk()]}))
    }

    /// `?ttl=SECONDS[&sub=..][&aud=..]`: a signed JWT as text/plain. A negative ttl gives a
    /// token that expired that many seconds ago.
    pub fn mint(&self, url: &str) -> Reply {
        let params = query(url);
        let ttl = match params.get("ttl").map(|t| t.parse::<i64>()) {
            None => DEFAULT_TTL,
            Some(Ok(ttl)) if ttl.unsigned_abs() <= 10 * 365 * 86_400 => ttl,
            Some(_) => {
                let body = json!({"error": "invalid_request", "error_description": "ttl must be whole seconds"});
                return http::json(400, &body);
            }
        };
        let now = unix_now() as i64;
        let exp = now + ttl;
        // An expired token was issued an hour before it expired; a live one now.
        let iat = if ttl > 0 { now } else { exp - DEFAULT_TTL };
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.key.kid});
        let claims = json!({
            "iss": self.issuer,
            "sub": params.get("sub").map_or(FEDERATED_SUBJECT, String::as_str),
            "aud": params.get("aud").map_or(FEDERATED_AUDIENCE, String::as_str),
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "jti": util::guid(),
        });
        http::raw(200, Some("text/plain"), jwt::sign_rs256(&self.key.signer, &header, &claims).into_bytes())
    }
}
