//! `cct_config`: the client configuration, filled in with setters and read by `cct_client_new`.

use std::ffi::c_char;
use std::time::Duration;

use super::{Failure, boundary, cct_error, cct_status, mut_arg, out_arg, str_arg};
use crate::{
    AssertionAudience, AuthMethod, ClientBuilder, GrantType, RefreshPolicy, RetryPolicy, Secret, SigningAlg,
    Thumbprint, TrustStore,
};

/// How the client authenticates (`cct_config_set_auth_method`).
pub type cct_auth_method = u32;
/// HTTP Basic, id and secret form-encoded first (RFC 6749 §2.3.1). The default.
pub const CCT_AUTH_CLIENT_SECRET_BASIC: cct_auth_method = 0;
/// HTTP Basic, id and secret sent as they are.
pub const CCT_AUTH_CLIENT_SECRET_BASIC_RAW: cct_auth_method = 1;
/// `client_id` and `client_secret` in the form body.
pub const CCT_AUTH_CLIENT_SECRET_POST: cct_auth_method = 2;
/// `client_id` only (public client).
pub const CCT_AUTH_NONE: cct_auth_method = 3;
/// HS256 JWT assertion signed with the client secret (RFC 7523).
pub const CCT_AUTH_CLIENT_SECRET_JWT: cct_auth_method = 4;
/// JWT assertion signed with the private key (RFC 7523).
pub const CCT_AUTH_PRIVATE_KEY_JWT: cct_auth_method = 5;
/// PKI TLS client certificate (RFC 8705 §2.1).
pub const CCT_AUTH_TLS_CLIENT_AUTH: cct_auth_method = 6;
/// Self-signed TLS client certificate (RFC 8705 §2.2).
pub const CCT_AUTH_SELF_SIGNED_TLS_CLIENT_AUTH: cct_auth_method = 7;

/// JWS algorithm of client assertions (`cct_config_set_signing_alg`).
pub type cct_signing_alg = u32;
pub const CCT_ALG_HS256: cct_signing_alg = 0;
pub const CCT_ALG_RS256: cct_signing_alg = 1;
pub const CCT_ALG_PS256: cct_signing_alg = 2;
pub const CCT_ALG_ES256: cct_signing_alg = 3;
pub const CCT_ALG_EDDSA: cct_signing_alg = 4;

/// The `aud` of client assertions (`cct_config_set_assertion_audience`).
pub type cct_assertion_audience = u32;
/// The token endpoint URL (default).
pub const CCT_AUD_TOKEN_ENDPOINT: cct_assertion_audience = 0;
/// The issuer identifier (needs `cct_config_set_issuer`).
pub const CCT_AUD_ISSUER: cct_assertion_audience = 1;
/// The string passed as `custom`.
pub const CCT_AUD_CUSTOM: cct_assertion_audience = 2;

/// Which certificate authorities the client trusts (`cct_config_set_trust_store`).
pub type cct_trust_store = u32;
/// The operating system's store; `SSL_CERT_FILE` / `SSL_CERT_DIR` honoured; plus the
/// `cct_config_add_root_ca_pem` certificates. The default. With no variable set and an empty
/// system store, the bundled Mozilla roots are used; a set variable that yields no certificate
/// makes `cct_client_new` fail with `CCT_STATUS_CONFIG`.
pub const CCT_TRUST_SYSTEM: cct_trust_store = 0;
/// The Mozilla roots compiled into the library, plus the added certificates.
pub const CCT_TRUST_BUNDLED: cct_trust_store = 1;
/// Only the `cct_config_add_root_ca_pem` certificates (at least one required).
pub const CCT_TRUST_ROOT_CA_ONLY: cct_trust_store = 2;

/// Which certificate thumbprint headers client assertions carry
/// (`cct_config_set_thumbprint`). Default with a certificate: `CCT_THUMBPRINT_X5T`.
pub type cct_thumbprint = u32;
/// Neither `x5t` nor `x5t#S256`.
pub const CCT_THUMBPRINT_NONE: cct_thumbprint = 0;
/// `x5t`: base64url SHA-1 of the DER certificate (Entra ID accepts it with RS256 and PS256).
pub const CCT_THUMBPRINT_X5T: cct_thumbprint = 1;
/// `x5t#S256`: base64url SHA-256 of the DER certificate.
pub const CCT_THUMBPRINT_X5T_S256: cct_thumbprint = 2;
/// Both headers.
pub const CCT_THUMBPRINT_BOTH: cct_thumbprint = 3;

/// The grant of token requests (`cct_config_set_grant_type`).
pub type cct_grant_type = u32;
/// `client_credentials` (RFC 6749 §4.4). The default.
pub const CCT_GRANT_CLIENT_CREDENTIALS: cct_grant_type = 0;
/// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1), signed with the private key.
pub const CCT_GRANT_JWT_BEARER: cct_grant_type = 1;

/// A client configuration. Single-owner and not thread-safe: fill it in from one thread.
/// `cct_client_new` copies it, so it may be reused for several clients or freed right after.
/// Free with `cct_config_free`. Every value is copied by the setter that receives it; every
/// option is validated by `cct_client_new`, whose error names the option at fault.
pub struct cct_config {
    pub(crate) builder: ClientBuilder,
}

/// Runs a builder update on `cfg` behind the panic boundary.
fn update(
    cfg: *mut cct_config,
    err: *mut *mut cct_error,
    f: impl FnOnce(ClientBuilder) -> Result<ClientBuilder, Failure>,
) -> cct_status {
    boundary(err, || {
        // SAFETY: NULL or a live, single-owner config (conventions block).
        let cfg = unsafe { mut_arg(cfg, "cfg") }?;
        // A failing setter leaves the config as it was.
        cfg.builder = f(cfg.builder.clone())?;
        Ok(())
    })
}

/// Sets a string option: checks the argument, then applies `set`.
fn update_str(
    cfg: *mut cct_config,
    value: *const c_char,
    name: &str,
    err: *mut *mut cct_error,
    set: impl FnOnce(ClientBuilder, &str) -> ClientBuilder,
) -> cct_status {
    update(cfg, err, |b| {
        // SAFETY: NULL or a NUL-terminated string (conventions block).
        let v = unsafe { str_arg(value, name) }?;
        Ok(set(b, v))
    })
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Creates an empty configuration with the defaults. `*out` receives it on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_new(out: *mut *mut cct_config, err: *mut *mut cct_error) -> cct_status {
    boundary(err, || {
        out_arg(out, "out")?;
        let cfg = Box::new(cct_config { builder: ClientBuilder::default() });
        // SAFETY: checked non-NULL above.
        unsafe { *out = Box::into_raw(cfg) };
        Ok(())
    })
}

/// Frees a configuration. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_free(cfg: *mut cct_config) {
    super::boundary_value((), || {
        if !cfg.is_null() {
            // SAFETY: from Box::into_raw in cct_config_new, freed once (conventions block).
            drop(unsafe { Box::from_raw(cfg) });
        }
    })
}

/// Token endpoint URL (required). HTTPS, or http:// on a loopback host.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_token_url(
    cfg: *mut cct_config,
    url: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, url, "url", err, |b, v| b.token_url(v))
}

/// Client identifier (required).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_client_id(
    cfg: *mut cct_config,
    client_id: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, client_id, "client_id", err, |b, v| b.client_id(v))
}

/// Client secret. Copied into memory that is zeroed when freed; the caller may wipe its copy.
/// Setting both this and `cct_config_set_client_secret_file` makes `cct_client_new` fail with
/// `CCT_STATUS_CONFIG` naming both (as in Python and Go: neither silently wins).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_client_secret(
    cfg: *mut cct_config,
    secret: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, secret, "secret", err, |b, v| b.client_secret(Secret::new(v)))
}

/// Reads the client secret from `path` (one trailing newline removed); with `reread`, again
/// before every token request, so a rotated file is picked up. The path must name a regular
/// file of at most 64 KiB (a FIFO, device or directory is refused without blocking). Setting
/// both this and `cct_config_set_client_secret` makes `cct_client_new` fail (see there).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_client_secret_file(
    cfg: *mut cct_config,
    path: *const c_char,
    reread: bool,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, path, "path", err, |b, v| b.client_secret_file(v, reread))
}

/// One of the `CCT_AUTH_*` values; anything else gives `CCT_STATUS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_auth_method(
    cfg: *mut cct_config,
    method: cct_auth_method,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        let m = match method {
            CCT_AUTH_CLIENT_SECRET_BASIC => AuthMethod::ClientSecretBasic,
            CCT_AUTH_CLIENT_SECRET_BASIC_RAW => AuthMethod::ClientSecretBasicRaw,
            CCT_AUTH_CLIENT_SECRET_POST => AuthMethod::ClientSecretPost,
            CCT_AUTH_NONE => AuthMethod::None,
            CCT_AUTH_CLIENT_SECRET_JWT => AuthMethod::ClientSecretJwt,
            CCT_AUTH_PRIVATE_KEY_JWT => AuthMethod::PrivateKeyJwt,
            CCT_AUTH_TLS_CLIENT_AUTH => AuthMethod::TlsClientAuth,
            CCT_AUTH_SELF_SIGNED_TLS_CLIENT_AUTH => AuthMethod::SelfSignedTlsClientAuth,
            other => {
                return Err(Failure::invalid("method", format!("unknown auth method {other}")));
            }
        };
        Ok(b.auth_method(m))
    })
}

/// Adds one requested scope (repeatable; sent space-joined).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_add_scope(
    cfg: *mut cct_config,
    scope: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, scope, "scope", err, |b, v| b.scope(v))
}

/// The `audience` parameter.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_audience(
    cfg: *mut cct_config,
    audience: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, audience, "audience", err, |b, v| b.audience(v))
}

/// Adds an RFC 8707 `resource` indicator (repeatable; an absolute URI).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_add_resource(
    cfg: *mut cct_config,
    resource: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, resource, "resource", err, |b, v| b.resource(v))
}

/// Adds an extra form parameter (repeatable). `grant_type`, `client_id`, `client_secret`,
/// `scope` and the assertion parameters are refused by `cct_client_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_add_extra_param(
    cfg: *mut cct_config,
    name: *const c_char,
    value: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        // SAFETY: NULL or NUL-terminated strings (conventions block).
        let (n, v) = unsafe { (str_arg(name, "name")?, str_arg(value, "value")?) };
        Ok(b.extra_param(n, v))
    })
}

/// DNS + TCP + TLS connect limit. Default 5000 ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_connect_timeout_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.connect_timeout(millis(ms))))
}

/// Limit for one HTTP exchange. Default 10000 ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_request_timeout_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.request_timeout(millis(ms))))
}

/// Limit for one `cct_client_get_token` call, retries and waiting included. Default 30000 ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_call_timeout_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.call_timeout(millis(ms))))
}

/// Lifetime assumed when the response has no `expires_in` (and no JWT `exp`). Default 300000 ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_default_lifetime_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.default_lifetime(millis(ms))))
}

/// Refresh-ahead window: the last max(`ratio` × lifetime, `min_window_ms`) of a token's life,
/// capped at half of it; `jitter` (0–1) spreads the start over that fraction of the window.
/// Defaults 0.1, 60000, 0.25.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_refresh_policy(
    cfg: *mut cct_config,
    ratio: f64,
    min_window_ms: u64,
    jitter: f64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.refresh_policy(RefreshPolicy { ratio, min_window: millis(min_window_ms), jitter })))
}

/// Retries of transient failures: at most `max_attempts` requests, full-jitter exponential
/// backoff from `base_delay_ms` up to `max_delay_ms`. Defaults 3, 200, 5000.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_retry_policy(
    cfg: *mut cct_config,
    max_attempts: u32,
    base_delay_ms: u64,
    max_delay_ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        Ok(b.retry_policy(RetryPolicy {
            max_attempts,
            base_delay: millis(base_delay_ms),
            max_delay: millis(max_delay_ms),
        }))
    })
}

/// How long a permanent failure (any non-retryable error: bad credentials, invalid_request, a 404,
/// a TLS failure, ...) is repeated without asking the server; a new secret, or a changed secret
/// file, ends it early. Default 5000 ms; 0 disables.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_failure_cooldown_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.failure_cooldown(millis(ms))))
}

/// Trusts the PEM certificates in `pem[0..len]` too (repeatable): in addition to the trust store,
/// or alone with `CCT_TRUST_ROOT_CA_ONLY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_add_root_ca_pem(
    cfg: *mut cct_config,
    pem: *const u8,
    len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        if pem.is_null() {
            return Err(Failure::Argument {
                status: super::CCT_STATUS_NULL_ARGUMENT,
                message: "argument `pem` is NULL".into(),
            });
        }
        // SAFETY: non-NULL, and the caller promises `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(pem, len) };
        Ok(b.root_ca_pem(bytes.to_vec()))
    })
}

/// One of the `CCT_TRUST_*` values; anything else gives `CCT_STATUS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_trust_store(
    cfg: *mut cct_config,
    store: cct_trust_store,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        let store = match store {
            CCT_TRUST_SYSTEM => TrustStore::System,
            CCT_TRUST_BUNDLED => TrustStore::Bundled,
            CCT_TRUST_ROOT_CA_ONLY => TrustStore::RootCaOnly,
            other => return Err(Failure::invalid("store", format!("unknown trust store {other}"))),
        };
        Ok(b.trust_store(store))
    })
}

/// The proxy: `"env"` (the default: `HTTPS_PROXY`, `NO_PROXY`, ... read by `cct_client_new`),
/// `"none"`, or a URL `http://[user:password@]host:port`. The string is copied. An http:// token
/// URL through a proxy is refused unless `cct_config_set_allow_insecure_http`; the proxy's
/// password never appears in errors.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_proxy(
    cfg: *mut cct_config,
    proxy: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        // SAFETY: NULL or a NUL-terminated string (conventions block).
        let v = unsafe { str_arg(proxy, "proxy") }?;
        Ok(b.proxy(v.parse().map_err(Failure::from)?))
    })
}

/// The User-Agent header. Default "cctoken/<version>".
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_user_agent(
    cfg: *mut cct_config,
    user_agent: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, user_agent, "user_agent", err, |b, v| b.user_agent(v))
}

/// Allows http:// token URLs on non-loopback hosts (test networks only). Default false.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_allow_insecure_http(
    cfg: *mut cct_config,
    allow: bool,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.allow_insecure_http(allow)))
}

/// Starts a thread per client that refreshes ahead of expiry even when nobody calls. Default false.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_background_refresh(
    cfg: *mut cct_config,
    enable: bool,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.background_refresh(enable)))
}

/// Borrows `len` bytes at `p` (a PEM buffer); NULL is an error even when `len` is 0.
unsafe fn bytes_arg<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return Err(Failure::Argument {
            status: super::CCT_STATUS_NULL_ARGUMENT,
            message: format!("argument `{name}` is NULL"),
        });
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A PKCS#12 password: NULL is the empty password (a file exported without one).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string (conventions block).
unsafe fn password_arg(p: *const c_char) -> Result<Secret, Failure> {
    if p.is_null() {
        return Ok(Secret::new(""));
    }
    // SAFETY: as above.
    Ok(Secret::new(unsafe { str_arg(p, "password") }?))
}

/// Discovers the token endpoint from this issuer's RFC 8414 / OpenID metadata at the first
/// fetch (instead of `cct_config_set_token_url`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_issuer(
    cfg: *mut cct_config,
    issuer: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, issuer, "issuer", err, |b, v| b.issuer(v))
}

/// Private key for `private_key_jwt`, PEM in `pem[0..len]` (PKCS#8 RSA/P-256/Ed25519 or
/// PKCS#1 RSA). Parsed now; a bad key is reported by `cct_client_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_private_key_pem(
    cfg: *mut cct_config,
    pem: *const u8,
    len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    // SAFETY: see bytes_arg.
    update(cfg, err, |b| Ok(b.private_key_pem(unsafe { bytes_arg(pem, len, "pem") }?)))
}

/// Private key for `private_key_jwt` as a private JWK (RSA, EC P-256 or OKP Ed25519).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_private_key_jwk(
    cfg: *mut cct_config,
    jwk: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, jwk, "jwk", err, |b, v| b.private_key_jwk(v))
}

/// One of the `CCT_ALG_*` values. Default: HS256 for `client_secret_jwt`, the key's natural
/// algorithm for `private_key_jwt` (RS256, ES256, EdDSA).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_signing_alg(
    cfg: *mut cct_config,
    alg: cct_signing_alg,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        let a = match alg {
            CCT_ALG_HS256 => SigningAlg::HS256,
            CCT_ALG_RS256 => SigningAlg::RS256,
            CCT_ALG_PS256 => SigningAlg::PS256,
            CCT_ALG_ES256 => SigningAlg::ES256,
            CCT_ALG_EDDSA => SigningAlg::EdDSA,
            other => return Err(Failure::invalid("alg", format!("unknown signing algorithm {other}"))),
        };
        Ok(b.signing_alg(a))
    })
}

/// The `kid` header of client assertions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_key_id(
    cfg: *mut cct_config,
    kid: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, kid, "kid", err, |b, v| b.key_id(v))
}

/// The `aud` of client assertions: one of `CCT_AUD_*`; `custom` is read (and must not be NULL)
/// only for `CCT_AUD_CUSTOM`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_assertion_audience(
    cfg: *mut cct_config,
    audience: cct_assertion_audience,
    custom: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        let aud = match audience {
            CCT_AUD_TOKEN_ENDPOINT => AssertionAudience::TokenEndpoint,
            CCT_AUD_ISSUER => AssertionAudience::Issuer,
            // SAFETY: NULL or a NUL-terminated string (conventions block).
            CCT_AUD_CUSTOM => AssertionAudience::Custom(unsafe { str_arg(custom, "custom") }?.to_string()),
            other => return Err(Failure::invalid("audience", format!("unknown assertion audience {other}"))),
        };
        Ok(b.assertion_audience(aud))
    })
}

/// Lifetime of client assertions. Default 60000 ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_assertion_lifetime_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.assertion_lifetime(millis(ms))))
}

/// TLS client certificate chain (PEM, leaf first) and its private key (PEM), for
/// `tls_client_auth`, `self_signed_tls_client_auth` or certificate-bound tokens (RFC 8705).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_client_certificate_pem(
    cfg: *mut cct_config,
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        // SAFETY: see bytes_arg.
        let (cert, key) =
            unsafe { (bytes_arg(cert_pem, cert_len, "cert_pem")?, bytes_arg(key_pem, key_len, "key_pem")?) };
        Ok(b.client_certificate_pem(cert, key))
    })
}

/// Sender-constrained tokens with DPoP (RFC 9449), with a P-256 key generated per client
/// unless `cct_config_set_dpop_key_pem` gives one. Default false.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_dpop(
    cfg: *mut cct_config,
    enable: bool,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.dpop(enable)))
}

/// The DPoP key (PKCS#8 PEM, P-256 or Ed25519); enables DPoP.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_dpop_key_pem(
    cfg: *mut cct_config,
    pem: *const u8,
    len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    // SAFETY: see bytes_arg.
    update(cfg, err, |b| Ok(b.dpop_key_pem(unsafe { bytes_arg(pem, len, "pem") }?)))
}

/// Shares tokens with the other processes of this host through directory `path` (created 0700
/// if missing; `cct_client_new` refuses one owned by another user or writable by others).
/// Excludes `cct_config_set_cache_redis_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_cache_dir(
    cfg: *mut cct_config,
    path: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, path, "path", err, |b, v| b.cache_dir(v))
}

/// Shares tokens across machines through Redis: `redis://[user:password@]host:port[/db]` or
/// `rediss://` (TLS). The URL is copied; its password never appears in an error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_cache_redis_url(
    cfg: *mut cct_config,
    url: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, url, "url", err, |b, v| b.redis_url(v))
}

/// The CA certificate(s), PEM in `pem[0..len]`, that a `rediss://` server must chain to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_cache_redis_ca_pem(
    cfg: *mut cct_config,
    pem: *const u8,
    len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    // SAFETY: see bytes_arg.
    update(cfg, err, |b| Ok(b.redis_ca_pem(unsafe { bytes_arg(pem, len, "pem") }?)))
}

/// Bound on each shared-store operation, in ms (default 200); a slower store counts as failed
/// and the client fetches on its own.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_cache_store_timeout_ms(
    cfg: *mut cct_config,
    ms: u64,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.store_timeout(millis(ms))))
}

/// Certificate of the `private_key_jwt` key, PEM chain in `pem[0..len]` (leaf first), named in
/// assertion headers by its thumbprint (`cct_config_set_thumbprint`), as Microsoft Entra ID
/// certificate credentials need. Copied; parsed and checked against the private key by
/// `cct_client_new`, which fails with `CCT_STATUS_CONFIG` naming `assertion_certificate` when
/// the PEM holds no certificate or the certificate is for another key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_assertion_certificate_pem(
    cfg: *mut cct_config,
    pem: *const u8,
    len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    // SAFETY: see bytes_arg.
    update(cfg, err, |b| Ok(b.assertion_certificate_pem(unsafe { bytes_arg(pem, len, "pem") }?)))
}

/// Private key and certificate chain of `private_key_jwt` from the PKCS#12 (PFX) file at
/// `path`, as Azure hands them out; `password` may be NULL for a file without one. Both strings
/// are copied (the password into memory zeroed when freed). The file is read by
/// `cct_client_new`; a missing file or a wrong password makes it fail with
/// `CCT_STATUS_CONFIG` naming `pkcs12` (never the password). Excludes
/// `cct_config_set_private_key_pem` / `_jwk` and `cct_config_set_assertion_certificate_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_pkcs12_file(
    cfg: *mut cct_config,
    path: *const c_char,
    password: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        // SAFETY: NULL or NUL-terminated strings (conventions block); the password may be NULL.
        let path = unsafe { str_arg(path, "path") }?;
        Ok(b.pkcs12_file(path, unsafe { password_arg(password) }?))
    })
}

/// Like `cct_config_set_pkcs12_file`, from the file's bytes in `der[0..len]` (copied into
/// memory zeroed when freed); `password` may be NULL. Parsed by `cct_client_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_pkcs12_der(
    cfg: *mut cct_config,
    der: *const u8,
    len: usize,
    password: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        // SAFETY: see bytes_arg; NULL or a NUL-terminated string (conventions block).
        let der = unsafe { bytes_arg(der, len, "der") }?;
        Ok(b.pkcs12_der(der, unsafe { password_arg(password) }?))
    })
}

/// One of the `CCT_THUMBPRINT_*` values; anything else gives `CCT_STATUS_INVALID_ARGUMENT`
/// here. Any value but `CCT_THUMBPRINT_NONE` without a certificate makes `cct_client_new` fail
/// with `CCT_STATUS_CONFIG` naming `thumbprint`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_thumbprint(
    cfg: *mut cct_config,
    thumbprint: cct_thumbprint,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        let t = match thumbprint {
            CCT_THUMBPRINT_NONE => Thumbprint::None,
            CCT_THUMBPRINT_X5T => Thumbprint::Sha1,
            CCT_THUMBPRINT_X5T_S256 => Thumbprint::Sha256,
            CCT_THUMBPRINT_BOTH => Thumbprint::Both,
            other => return Err(Failure::invalid("thumbprint", format!("unknown thumbprint {other}"))),
        };
        Ok(b.thumbprint(t))
    })
}

/// Adds the certificate chain as the `x5c` header of client assertions. Default false; true
/// without a certificate makes `cct_client_new` fail with `CCT_STATUS_CONFIG` naming `x5c`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_x5c(
    cfg: *mut cct_config,
    enable: bool,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| Ok(b.x5c(enable)))
}

/// A federated client assertion (workload identity): the JWT the platform writes to `path`
/// (copied) is read again before every token request and sent as `client_assertion`; the
/// method reported is `private_key_jwt`. Not read by `cct_client_new`: a missing, empty,
/// malformed or expired file makes `cct_client_get_token` fail with `CCT_STATUS_CONFIG` naming
/// `client_assertion_file` and the path, never the contents. `cct_client_new` fails with
/// `CCT_STATUS_CONFIG` when it is combined with a secret, a private key, or a shared store
/// (`cct_config_set_cache_dir`, `cct_config_set_cache_redis_url`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_client_assertion_file(
    cfg: *mut cct_config,
    path: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, path, "path", err, |b, v| b.client_assertion_file(v))
}

/// One of the `CCT_GRANT_*` values; anything else gives `CCT_STATUS_INVALID_ARGUMENT` here.
/// `CCT_GRANT_JWT_BEARER` needs a private key (or a service account), else `cct_client_new`
/// fails with `CCT_STATUS_CONFIG`; the client is authenticated only if a secret is set too.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_grant_type(
    cfg: *mut cct_config,
    grant: cct_grant_type,
    err: *mut *mut cct_error,
) -> cct_status {
    update(cfg, err, |b| {
        let g = match grant {
            CCT_GRANT_CLIENT_CREDENTIALS => GrantType::ClientCredentials,
            CCT_GRANT_JWT_BEARER => GrantType::JwtBearer,
            other => return Err(Failure::invalid("grant", format!("unknown grant type {other}"))),
        };
        Ok(b.grant_type(g))
    })
}

/// The `sub` claim of the jwt-bearer grant (the user to act for, e.g. Google domain-wide
/// delegation). Copied. With another grant, `cct_client_new` fails with `CCT_STATUS_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_subject(
    cfg: *mut cct_config,
    sub: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, sub, "sub", err, |b, v| b.subject(v))
}

/// A Google service-account key file at `path` (copied), read by `cct_client_new`: sets the
/// jwt-bearer grant, the client id (`client_email`), the private key, the `kid`
/// (`private_key_id`, unless `cct_config_set_key_id`) and the token URL (`token_uri`, unless
/// `cct_config_set_token_url` / `cct_config_set_issuer`). A missing file or field makes
/// `cct_client_new` fail with `CCT_STATUS_CONFIG` naming `service_account`, the field and the
/// path, never the key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_service_account_file(
    cfg: *mut cct_config,
    path: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, path, "path", err, |b, v| b.service_account_file(v))
}

/// Like `cct_config_set_service_account_file`, from the JSON text (copied into memory zeroed
/// when freed; the caller may wipe its copy). Parsed by `cct_client_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_service_account_json(
    cfg: *mut cct_config,
    json: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    update_str(cfg, json, "json", err, |b, v| b.service_account_json(v))
}
