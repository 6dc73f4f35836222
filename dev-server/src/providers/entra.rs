//! The Microsoft Entra ID stand-in: `POST /{tenant}/oauth2/v2.0/token` (client credentials
//! with a client secret, a certificate assertion, or a federated assertion), its OpenID
//! Connect discovery document and keys. Error codes and wording follow Microsoft's
//! documentation where it has them; /work/helpers/NOTES-devsrv.md and the comments below say
//! where a code or text comes from observed service answers instead, or is the stand-in's own.
//!
//! Documents:
//! - https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//! - https://learn.microsoft.com/entra/identity-platform/certificate-credentials
//! - https://learn.microsoft.com/entra/workload-id/workload-identity-federation
//! - https://learn.microsoft.com/entra/identity-platform/reference-error-codes

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use tiny_http::Request;

use super::fixtures::ENTRA_SCOPE;
use super::jwt::{self, Jwt};
use super::keys::RsaKey;
use super::util::{entra_iso, entra_timestamp, guid, hex, random_b64};
use super::{Providers, TENANT, first, lock, read_form};
use crate::http::{self, Reply, request_header, with_header};
use crate::state::{IssuedToken, State, expiry, unix_now};

/// RFC 7523 section 2.2 / the certificate-credentials page: the only client_assertion_type.
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The resource behind the registered `.default` scope (the manifest's `scope`).
const RESOURCE: &str = "api://cctoken-demo";
/// expires_in (and ext_expires_in) of Entra's client credentials answers.
const TOKEN_LIFETIME: u64 = 3599;
/// Tolerance for `nbf` / `iat` a little in the future (clocks drift). `exp` gets none: an
/// expired assertion is refused at once, so tests of expiry need no sleeping.
const FUTURE_SKEW: i64 = 60;
/// Longest accepted client assertion lifetime (`exp` after `nbf`, else `iat`). The
/// certificate-credentials page, Claims: "keep it short - 5-10 minutes after nbf at most."
/// Entra itself "doesn't place restrictions on the exp time currently"; the stand-in enforces
/// the documented upper bound so that an assertion older than allowed can be tested.
pub const MAX_ASSERTION_LIFETIME: i64 = 600;
const CERT_DOC: &str = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";
const FEDERATION_DOC: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

pub struct SecretClient {
    pub id: String,
    pub secret: String,
}

pub struct CertClient {
    pub id: String,
    pub cert_der: Vec<u8>,
    pub public_pkcs1_der: Vec<u8>,
    pub x5t: String,
    pub x5t_s256: String,
}

pub struct FederatedClient {
    pub id: String,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

pub struct Entra {
    base_url: String,
    token_url: String,
    issuer: String,
    tenant_key: RsaKey,
    secret_client: SecretClient,
    cert_client: CertClient,
    federated_client: FederatedClient,
    federation_public_pkcs1_der: Vec<u8>,
    federation_kid: String,
    /// Service-principal object id per client (the `oid` / `sub` of its tokens).
    object_ids: HashMap<String, String>,
    /// (client id, jti) of accepted certificate assertions → their `exp`, to refuse replays.
    seen_jti: Mutex<HashMap<(String, String), i64>>,
}

/// A refusal: HTTP status, OAuth error, AADSTS code and its message.
struct Failure {
    status: u16,
    error: &'static str,
    code: u32,
    message: String,
}

fn fail(status: u16, error: &'static str, code: u32, message: impl Into<String>) -> Failure {
    Failure { status, error, code, message: message.into() }
}

/// AADSTS900144 (reference-error-codes; the text is the service's): a missing parameter.
fn missing(name: &str) -> Failure {
    fail(400, "invalid_request", 900144, format!("The request body must contain the following parameter: '{name}'."))
}

/// AADSTS50027 InvalidJwtToken (reference-error-codes: "token format isn't proper").
fn malformed(reason: &str) -> Failure {
    fail(401, "invalid_client", 50027, format!("JWT token is invalid or malformed. [Reason - {reason}]"))
}

/// What authenticated the client, for the token's `azpacr` (0 public, 1 secret, 2 certificate
/// or assertion).
#[derive(Clone, Copy)]
enum Credential {
    Secret,
    Assertion,
}

impl Entra {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        base_url: &str,
        token_url: String,
        issuer: String,
        tenant_key: RsaKey,
        secret_client: SecretClient,
        cert_client: CertClient,
        federated_client: FederatedClient,
        federation_public_pkcs1_der: Vec<u8>,
        federation_kid: String,
    ) -> Self {
        let object_ids = [&secret_client.id, &cert_client.id, &federated_client.id]
            .into_iter()
            .map(|id| (id.clone(), guid()))
            .collect();
        Entra {
            base_url: base_url.to_string(),
            token_url,
            issuer,
            tenant_key,
            secret_client,
            cert_client,
            federated_client,
            federation_public_pkcs1_der,
            federation_kid,
            object_ids,
            seen_jti: Mutex::default(),
        }
    }

    /// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
    pub fn metadata(&self) -> Reply {
        http::json(
            200,
            &json!({
                "token_endpoint": self.token_url,
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": format!("{}/{TENANT}/discovery/v2.0/keys", self.base_url),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "issuer": self.issuer,
                "request_uri_parameter_supported": false,
                "tenant_region_scope": null,
            }),
        )
    }

    /// `GET /{tenant}/discovery/v2.0/keys`: the key that signs the issued access tokens.
    pub fn jwks(&self) -> Reply {
        let mut jwk = self.tenant_key.jwk();
        jwk["x5t"] = Value::from(self.tenant_key.kid.as_str());
        jwk["issuer"] = Value::from(self.issuer.as_str());
        http::json(200, &json!({"keys": [jwk]}))
    }

    /// A token endpoint of a tenant that does not exist (AADSTS90002 InvalidTenantName,
    /// reference-error-codes; the text is the service's).
    pub fn unknown_tenant(&self, tenant: &str) -> Reply {
        self.error(fail(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into \
                 the correct cloud. Check with your subscription administrator, this may happen if there are no active \
                 subscriptions for the tenant."
            ),
        ))
    }

    /// Another method at the token endpoint: AADSTS900561 (reference-error-codes:
    /// "BadRequestInvalidRequest - The endpoint only accepts {valid_verbs} requests. Received a
    /// {invalid_verb} request.").
    pub fn only_post(&self, method: &str) -> Reply {
        let message = format!("The endpoint only accepts POST, OPTIONS requests. Received a {method} request.");
        self.error(fail(400, "invalid_request", 900561, message))
    }

    /// `POST /{tenant}/oauth2/v2.0/token`.
    pub fn token(&self, providers: &Providers, state: &State, request: &mut Request) -> Reply {
        let content_type = request_header(request, "Content-Type").unwrap_or("");
        let is_form = content_type
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        let form = match read_form(request) {
            Ok(form) if is_form => form,
            Ok(_) => Vec::new(), // not a form: as if no parameter were sent
            Err(reply) => return reply,
        };
        if let Some(assertion) = first(&form, "client_assertion") {
            providers.record_assertion("entra", assertion, &form);
        }
        let authorization = request_header(request, "Authorization").map(String::from);
        match self.grant(&form, authorization.as_deref()) {
            Ok((client_id, credential)) => self.issue(state, &client_id, credential),
            Err(failure) => self.error(failure),
        }
    }

    fn grant(&self, form: &[(String, String)], authorization: Option<&str>) -> Result<(String, Credential), Failure> {
        // v2-oauth2-client-creds-grant-flow, "First case: Access token request with a shared
        // secret": grant_type must be client_credentials.
        match first(form, "grant_type") {
            None => return Err(missing("grant_type")),
            Some("client_credentials") => {}
            // AADSTS70003 UnsupportedGrantType (reference-error-codes; the text is the service's).
            Some(other) => {
                return Err(fail(
                    400,
                    "unsupported_grant_type",
                    70003,
                    format!("The app requested an unsupported grant type '{other}'."),
                ));
            }
        }

        // client_secret_basic: id and secret form-encoded, then base64 (RFC 6749 section 2.3.1).
        let basic = match authorization {
            None => None,
            Some(value) => Some(parse_basic(value).ok_or_else(|| missing("client_id"))?),
        };
        let body_id = first(form, "client_id");
        let client_id = match (&basic, body_id) {
            (Some((id, _)), Some(body)) if id != body => {
                // Not documented: the stand-in's own text under AADSTS90014 (MissingRequiredField).
                return Err(fail(
                    400,
                    "invalid_request",
                    90014,
                    "The client_id in the request body differs from the one in the Authorization header.",
                ));
            }
            (Some((id, _)), _) => id.clone(),
            (None, Some(id)) => id.to_string(),
            (None, None) => return Err(missing("client_id")),
        };
        // AADSTS700016 UnauthorizedClient_DoesNotMatchRequest (reference-error-codes).
        if !self.object_ids.contains_key(&client_id) {
            return Err(fail(
                400,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{TENANT}'. This can \
                     happen if the application has not been installed by the administrator of the tenant or consented \
                     to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            ));
        }

        // v2-oauth2-client-creds-grant-flow: "The value passed for the scope parameter in this
        // request should be the resource identifier (application ID URI) of the resource you
        // want, affixed with the .default suffix." One resource per request.
        let scope = first(form, "scope").ok_or_else(|| missing("scope"))?;
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        let resource = match scopes.as_slice() {
            [one] => one.strip_suffix("/.default"),
            _ => None,
        };
        let Some(resource) = resource else {
            // AADSTS70011 InvalidScope (reference-error-codes, its sample answer's text).
            return Err(fail(
                400,
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid."
                ),
            ));
        };
        if resource != RESOURCE {
            // AADSTS500011 InvalidResourceServicePrincipalNotFound (reference-error-codes).
            return Err(fail(
                400,
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {resource} was not found in the tenant named {TENANT}. This can \
                     happen if the application has not been installed by the administrator of the tenant or consented \
                     to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
                ),
            ));
        }

        let secret = match (&basic, first(form, "client_secret")) {
            (Some(_), Some(_)) => {
                // Not documented: two secrets. AADSTS70002 InvalidClient ("Error validating the
                // credentials", reference-error-codes) with the stand-in's own reason.
                return Err(fail(
                    401,
                    "invalid_client",
                    70002,
                    "Error validating credentials. The client secret was sent both in the Authorization header and in the body.",
                ));
            }
            (Some((_, secret)), None) => Some(secret.clone()),
            (None, secret) => secret.map(String::from),
        };
        let assertion = first(form, "client_assertion");
        match (secret, assertion) {
            (Some(_), Some(_)) => Err(fail(
                401,
                "invalid_client",
                70002,
                // Not documented: the stand-in's own reason under AADSTS70002 InvalidClient.
                "Error validating credentials. Send either client_secret or client_assertion, not both.",
            )),
            // AADSTS7000218 (reference-error-codes; the text is the service's).
            (None, None) => Err(fail(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )),
            (Some(secret), None) => {
                // AADSTS7000215 "Invalid client secret is provided." (reference-error-codes;
                // the longer text is the service's). A client without secrets fails the same way.
                if client_id == self.secret_client.id && secret == self.secret_client.secret {
                    Ok((client_id, Credential::Secret))
                } else {
                    Err(fail(
                        401,
                        "invalid_client",
                        7000215,
                        format!(
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client \
                             secret value, not the client secret ID, for a secret added to app '{client_id}'."
                        ),
                    ))
                }
            }
            (None, Some(assertion)) => {
                match first(form, "client_assertion_type") {
                    None => return Err(missing("client_assertion_type")),
                    Some(JWT_BEARER_ASSERTION) => {}
                    Some(other) => {
                        // Not documented: the stand-in's own reason under AADSTS70002.
                        return Err(fail(
                            401,
                            "invalid_client",
                            70002,
                            format!(
                                "Error validating credentials. client_assertion_type '{other}' is not supported; \
                                 expected '{JWT_BEARER_ASSERTION}'."
                            ),
                        ));
                    }
                }
                let jwt = Jwt::parse(assertion).ok_or_else(|| malformed("The assertion is not a JWS compact JWT."))?;
                if client_id == self.cert_client.id {
                    self.certificate_assertion(&jwt, &client_id)?;
                } else if client_id == self.federated_client.id {
                    self.federated_assertion(&jwt)?;
                } else {
                    return Err(key_not_found(&client_id, ""));
                }
                Ok((client_id, Credential::Assertion))
            }
        }
    }

    /// certificate-credentials, "Assertion format": header alg / typ / x5t or x5t#S256,
    /// claims aud / exp / iss / jti / nbf / sub / iat, then the signature.
    fn certificate_assertion(&self, jwt: &Jwt, client_id: &str) -> Result<(), Failure> {
        let cert = &self.cert_client;
        let alg = jwt.header_str("alg").unwrap_or("");
        if alg != "RS256" && alg != "PS256" {
            return Err(malformed(&format!("The signing algorithm '{alg}' is not supported; use RS256 or PS256.")));
        }
        if jwt.header_str("typ").is_none_or(|typ| !typ.eq_ignore_ascii_case("JWT")) {
            return Err(malformed("The header parameter typ must be JWT."));
        }

        // The certificate the header names: every identifier present must be the registered one.
        let x5t_s256 = jwt.header_str("x5t#S256");
        let x5t = jwt.header_str("x5t");
        let x5c =
            jwt.header.get("x5c").and_then(Value::as_array).and_then(|chain| chain.first()).and_then(Value::as_str);
        if x5t_s256.is_none() && x5t.is_none() && x5c.is_none() {
            return Err(key_not_found(client_id, ""));
        }
        if let Some(presented) = x5t_s256.filter(|t| *t != cert.x5t_s256) {
            return Err(key_not_found(client_id, &thumbprint_hex(presented)));
        }
        if let Some(presented) = x5t.filter(|t| *t != cert.x5t) {
            return Err(key_not_found(client_id, &thumbprint_hex(presented)));
        }
        if let Some(leaf) = x5c {
            // RFC 7515 section 4.1.6: base64 (not base64url) DER, leaf first.
            if STANDARD.decode(leaf).ok().as_deref() != Some(cert.cert_der.as_slice()) {
                return Err(key_not_found(client_id, "x5c"));
            }
        }
        if !jwt.verify_rsa(alg, &cert.public_pkcs1_der) {
            // AADSTS700027 (reference-error-codes: "Client assertion failed signature validation.").
            return Err(fail(
                401,
                "invalid_client",
                700027,
                format!(
                    "Client assertion failed signature validation. [Reason - The provided signature value did not match \
                     the expected signature value., Thumbprint of key used by client: '{}']",
                    thumbprint_hex(&cert.x5t).to_uppercase()
                ),
            ));
        }

        // aud: "https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token".
        if !audience_matches(jwt.claims.get("aud"), &self.token_url) {
            // AADSTS700023 with this text is what the service answers (observed, e.g.
            // AzureAD/microsoft-authentication-library-for-dotnet#2746); the reference page
            // does not list this case.
            return Err(fail(
                401,
                "invalid_client",
                700023,
                format!(
                    "Client assertion audience claim does not match Realm issuer. Review the documentation at {CERT_DOC} ."
                ),
            ));
        }
        // iss and sub: "{ClientID}" ... "Use the GUID application ID."
        if jwt.claim_str("iss") != Some(client_id) || jwt.claim_str("sub") != Some(client_id) {
            // AADSTS700021: recalled service text, not found in the documentation searched.
            return Err(fail(
                401,
                "invalid_client",
                700021,
                format!(
                    "Client assertion application identifier doesn't match 'client_id' parameter. Review the \
                     documentation at {CERT_DOC} ."
                ),
            ));
        }
        time_window(jwt, true)?;
        // jti: "a Guid ... The identifier value MUST be assigned in a manner that ensures that
        // there is a negligible probability that the same value will be accidentally assigned to
        // a different data object" (RFC 7519 section 4.1.7: it "can be used to prevent the JWT
        // from being replayed").
        let Some(jti) = jwt.claim_str("jti").filter(|j| !j.is_empty()) else {
            return Err(malformed("The assertion has no jti claim."));
        };
        let now = unix_now() as i64;
        let exp = jwt.claim_time("exp").unwrap_or(now);
        let mut seen = lock(&self.seen_jti);
        seen.retain(|_, expires| *expires >= now);
        if seen.insert((client_id.to_string(), jti.to_string()), exp).is_some() {
            // Not documented: the replay code. AADSTS50013 InvalidAssertion (reference-error-
            // codes: "Assertion is invalid because of various reasons") with the stand-in's text.
            return Err(fail(
                401,
                "invalid_client",
                50013,
                format!("Assertion is invalid: the client assertion with jti '{jti}' was already used (replay)."),
            ));
        }
        Ok(())
    }

    /// workload-identity-federation: the external token must come from the issuer, subject and
    /// audience of a federated identity credential of the app, be signed by a key the issuer
    /// publishes (OIDC discovery → jwks_uri), and be unexpired. No replay check: a platform
    /// token file is reused until it is rotated.
    fn federated_assertion(&self, jwt: &Jwt) -> Result<(), Failure> {
        let fic = &self.federated_client;
        let no_match = |code, what, value: &str| {
            // AADSTS700211 / 700212 / 700213: the service's text (e.g.
            // Azure/azure-workload-identity#1200); the troubleshooting section of the
            // workload-identity-federation docs lists these codes.
            fail(
                401,
                "invalid_client",
                code,
                format!(
                    "No matching federated identity record found for presented assertion {what} '{value}'. Check your \
                     federated identity credential Subject, Audience and Issuer against the presented assertion. \
                     {FEDERATION_DOC}"
                ),
            )
        };
        let iss = jwt.claim_str("iss").unwrap_or("");
        if iss != fic.issuer {
            return Err(no_match(700211, "issuer", iss));
        }
        let signed = jwt.header_str("alg") == Some("RS256")
            && jwt.header_str("kid").is_none_or(|kid| kid == self.federation_kid)
            && jwt.verify_rsa("RS256", &self.federation_public_pkcs1_der);
        if !signed {
            // AADSTS50013 InvalidAssertion (reference-error-codes); the text is the service's
            // for a signature that fails.
            return Err(fail(
                401,
                "invalid_client",
                50013,
                "Assertion failed signature validation. [Reason - The provided signature value did not match the \
                 expected signature value.]",
            ));
        }
        // An expired federated token: AADSTS700024 (the Azure DevOps workload identity
        // troubleshooting table lists it for exactly this). No lifetime cap: platforms issue
        // tokens valid for an hour or more.
        time_window(jwt, false)?;
        let audiences: Vec<&str> = match jwt.claims.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.contains(&fic.audience.as_str()) {
            return Err(no_match(700212, "audience", &audiences.join(",")));
        }
        let sub = jwt.claim_str("sub").unwrap_or("");
        if sub != fic.subject {
            return Err(no_match(700213, "subject", sub));
        }
        Ok(())
    }

    /// A v2.0 app-only access token signed by the tenant key (access-token-claims-reference:
    /// aud, iss, iat, nbf, exp, azp, azpacr, oid, sub, tid, uti, ver; `roles` only when app
    /// roles are granted, and none are here).
    fn issue(&self, state: &State, client_id: &str, credential: Credential) -> Reply {
        let now = unix_now();
        let oid = self.object_ids.get(client_id).cloned().unwrap_or_default();
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": self.tenant_key.kid, "kid": self.tenant_key.kid});
        let claims = json!({
            "aud": RESOURCE,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "aio": random_b64(48),
            "azp": client_id,
            "azpacr": match credential { Credential::Secret => "1", Credential::Assertion => "2" },
            "idtyp": "app",
            "oid": oid,
            "rh": format!("1.{}.", random_b64(32)),
            "sub": oid,
            "tid": TENANT,
            "uti": random_b64(16),
            "ver": "2.0",
        });
        let token = jwt::sign_rs256(&self.tenant_key.signer, &header, &claims);
        let (expires_at, exp_unix) = expiry(Some(TOKEN_LIFETIME));
        state.register_token(
            token.clone(),
            IssuedToken {
                client_id: client_id.to_string(),
                scope: Some(ENTRA_SCOPE.to_string()),
                audience: vec![RESOURCE.to_string()],
                resources: Vec::new(),
                expires_at,
                exp_unix,
                revoked: false,
                cert_sha256: None,
            },
        );
        let body = json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": token,
        });
        entra_headers(http::json(200, &body))
    }

    /// Entra's error body (reference-error-codes, "Handling error codes in your application").
    fn error(&self, failure: Failure) -> Reply {
        let timestamp = entra_timestamp(unix_now() as i64);
        let (trace_id, correlation_id) = (guid(), guid());
        let body = json!({
            "error": failure.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                failure.code, failure.message
            ),
            "error_codes": [failure.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{}/error?code={}", self.base_url, failure.code),
        });
        entra_headers(http::json(failure.status, &body))
    }
}

fn entra_headers(reply: Reply) -> Reply {
    let reply = with_header(reply, "Content-Type", "application/json; charset=utf-8");
    with_header(with_header(reply, "Cache-Control", "no-store, no-cache"), "Pragma", "no-cache")
}

/// AADSTS700027 when the certificate the assertion names is not registered (the service's text,
/// e.g. learn.microsoft.com Q&A 5915574; reference-error-codes lists 700027).
fn key_not_found(client_id: &str, thumbprint: &str) -> Failure {
    let used = if thumbprint.is_empty() {
        String::new()
    } else {
        format!("Thumbprint of key used by client: '{thumbprint}', ")
    };
    fail(
        401,
        "invalid_client",
        700027,
        format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. \
             [Reason - The key was not found., {used}Please visit the Azure Portal, Graph Explorer or directly use MS \
             Graph to see configured keys for app Id '{client_id}'.]"
        ),
    )
}

/// The hex form of a base64url thumbprint header, as Entra quotes it.
fn thumbprint_hex(b64url: &str) -> String {
    URL_SAFE_NO_PAD.decode(b64url.trim_end_matches('=')).map_or_else(|_| b64url.to_string(), |b| hex(&b).to_uppercase())
}

fn audience_matches(aud: Option<&Value>, expected: &str) -> bool {
    match aud {
        Some(Value::String(aud)) => aud == expected,
        Some(Value::Array(auds)) => auds.len() == 1 && auds[0].as_str() == Some(expected),
        _ => false,
    }
}

/// exp / nbf / iat checks, AADSTS700024 (the service's text, e.g. AzureAD/microsoft-
/// authentication-library-for-dotnet#4951). `cap`: also refuse lifetimes over
/// MAX_ASSERTION_LIFETIME (certificate assertions; not federated tokens).
fn time_window(jwt: &Jwt, cap: bool) -> Result<(), Failure> {
    let now = unix_now() as i64;
    let exp = jwt.claim_time("exp");
    let nbf = jwt.claim_time("nbf");
    let iat = jwt.claim_time("iat");
    let out_of_range = |extra: &str| {
        fail(
            401,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, \
                 expiry time of assertion {}.{extra} Review the documentation at {CERT_DOC} .",
                entra_iso(now),
                entra_iso(nbf.unwrap_or(0)),
                entra_iso(exp.unwrap_or(0)),
            ),
        )
    };
    let Some(exp) = exp else { return Err(out_of_range("")) };
    if exp <= now || nbf.is_some_and(|nbf| nbf > now + FUTURE_SKEW) || iat.is_some_and(|iat| iat > now + FUTURE_SKEW) {
        return Err(out_of_range(""));
    }
    let start = nbf.or(iat).unwrap_or(now);
    if cap && exp.saturating_sub(start) > MAX_ASSERTION_LIFETIME {
        return Err(out_of_range(&format!(
            " This stand-in accepts client assertions valid for at most {MAX_ASSERTION_LIFETIME} seconds after nbf (or \
             iat), the documented upper bound (5-10 minutes)."
        )));
    }
    Ok(())
}

/// `Basic base64(urlencode(id):urlencode(secret))`; `None` when malformed.
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let form_decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|s| s.into_owned());
    Some((form_decode(id)?, form_decode(secret)?))
}
