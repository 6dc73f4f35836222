//! The Google OAuth 2.0 token endpoint for service accounts: the JWT bearer authorization
//! grant (RFC 7523 section 2.1) as
//! https://developers.google.com/identity/protocols/oauth2/service-account documents it
//! ("Preparing to make an authorized API call" → HTTP/REST): header RS256 / JWT, claims iss,
//! scope, aud, exp (at most one hour after iat), iat, optional sub; form grant_type and
//! assertion. Error texts are Google's as its token endpoint sends them (quoted in
//! /work/helpers/NOTES-devsrv.md with where they come from).

use serde_json::{Value, json};
use tiny_http::Request;

use super::jwt::{self, Jwt};
use super::keys::RsaKey;
use super::util::random_b64;
use super::{Providers, first, read_form};
use crate::http::{self, Reply, no_store, with_header};
use crate::state::{IssuedToken, State, expiry, unix_now};

use super::fixtures::GOOGLE_CLIENT_EMAIL;

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_LIFETIME: u64 = 3599;
/// "exp: The expiration time of the assertion ... This value has a maximum of 1 hour after the
/// issued time."
const MAX_LIFETIME: i64 = 3600;
/// How far `iat` may be ahead of this server's clock ("a reasonable timeframe").
const FUTURE_SKEW: i64 = 60;
const SHORT_LIVED: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. \
                           Check your iat and exp values in the JWT claim.";

pub struct Google {
    token_url: String,
    key: RsaKey,
    client_id: String,
}

fn error(error: &str, description: &str) -> Reply {
    answer(http::json(400, &json!({"error": error, "error_description": description})))
}

/// Google's token endpoint answers `application/json; charset=utf-8`, not to be cached.
fn answer(reply: Reply) -> Reply {
    no_store(with_header(reply, "Content-Type", "application/json; charset=utf-8"))
}

impl Google {
    pub fn new(token_url: String, key: RsaKey, client_id: String) -> Self {
        Google { token_url, key, client_id }
    }

    /// `POST /google/token`.
    pub fn token(&self, providers: &Providers, state: &State, request: &mut Request) -> Reply {
        let form = match read_form(request) {
            Ok(form) => form,
            Err(reply) => return reply,
        };
        if let Some(assertion) = first(&form, "assertion") {
            providers.record_assertion("google", assertion, &form);
        }
        match first(&form, "grant_type") {
            Some(JWT_BEARER_GRANT) => {}
            None => return error("invalid_request", "Missing required parameter: grant_type"),
            Some(other) => return error("unsupported_grant_type", &format!("Invalid grant_type: {other}")),
        }
        let Some(assertion) = first(&form, "assertion") else {
            return error("invalid_request", "Missing required parameter: assertion");
        };
        match self.check(assertion) {
            Ok(grant) => self.issue(state, grant),
            Err(reply) => reply,
        }
    }

    fn check(&self, assertion: &str) -> Result<Grant, Reply> {
        // The stand-in's text for an assertion that is not a JWT (not found documented).
        let jwt = Jwt::parse(assertion).ok_or_else(|| error("invalid_grant", "Invalid JWT: malformed assertion."))?;
        // iss: "The email address of the service account."
        if jwt.claim_str("iss") != Some(GOOGLE_CLIENT_EMAIL) {
            return Err(error("invalid_grant", "Invalid grant: account not found"));
        }
        // Header {"alg":"RS256","typ":"JWT"}, signed with the service account's private key;
        // a `kid` names the key (private_key_id), and another key's id cannot verify.
        let signed = jwt.header_str("alg") == Some("RS256")
            && jwt.header_str("kid").is_none_or(|kid| kid == self.key.kid)
            && jwt.verify_rsa("RS256", &self.key.public_pkcs1_der);
        if !signed {
            return Err(error("invalid_grant", "Invalid JWT Signature."));
        }
        // aud: "The value of this claim is always https://oauth2.googleapis.com/token" — here
        // the stand-in's token_uri.
        if jwt.claim_str("aud") != Some(self.token_url.as_str()) {
            return Err(error(
                "invalid_grant",
                &format!("Invalid JWT: Failed audience check. The right audience is {}", self.token_url),
            ));
        }
        let now = unix_now() as i64;
        let (Some(iat), Some(exp)) = (jwt.claim_time("iat"), jwt.claim_time("exp")) else {
            return Err(error("invalid_grant", SHORT_LIVED));
        };
        if exp <= now || iat > now + FUTURE_SKEW || exp - iat > MAX_LIFETIME || exp < iat {
            return Err(error("invalid_grant", SHORT_LIVED));
        }
        // scope: "A space-delimited list of the permissions that the application requests."
        // Without it, an ID token for `target_audience` (the Addendum's ID-token variant).
        let scope = jwt.claim_str("scope").unwrap_or("").trim().to_string();
        let target_audience = jwt.claim_str("target_audience").map(String::from);
        if scope.is_empty() && target_audience.is_none() {
            return Err(error("invalid_scope", "Empty or missing scope not allowed."));
        }
        if scope
            .split_whitespace()
            .any(|s| !s.starts_with("https://www.googleapis.com/auth/") && s != "openid" && s != "email")
        {
            return Err(error("invalid_scope", "Invalid OAuth scope or ID token audience provided."));
        }
        Ok(Grant { scope, target_audience, subject: jwt.claim_str("sub").map(String::from) })
    }

    fn issue(&self, state: &State, grant: Grant) -> Reply {
        let now = unix_now();
        if grant.scope.is_empty() {
            // target_audience: Google answers with an ID token only.
            let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.key.kid});
            let claims = json!({
                "iss": "https://accounts.google.com",
                "aud": grant.target_audience,
                "azp": GOOGLE_CLIENT_EMAIL,
                "email": GOOGLE_CLIENT_EMAIL,
                "email_verified": true,
                "sub": self.client_id,
                "iat": now,
                "exp": now + 3600,
            });
            return answer(http::json(200, &json!({"id_token": jwt::sign_rs256(&self.key.signer, &header, &claims)})));
        }
        let token = format!("ya29.c.{}", random_b64(96));
        let (expires_at, exp_unix) = expiry(Some(TOKEN_LIFETIME));
        state.register_token(
            token.clone(),
            IssuedToken {
                client_id: grant.subject.unwrap_or_else(|| GOOGLE_CLIENT_EMAIL.to_string()),
                scope: Some(grant.scope),
                audience: Vec::new(),
                resources: Vec::new(),
                expires_at,
                exp_unix,
                revoked: false,
                cert_sha256: None,
            },
        );
        let body: Value = json!({"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"});
        answer(http::json(200, &body))
    }
}

struct Grant {
    scope: String,
    target_audience: Option<String>,
    subject: Option<String>,
}
