//! `cct_client`, `cct_token` and `cct_metrics`.

use std::ffi::c_char;
use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::{boundary, boundary_value, cct_config, cct_error, cct_status, out_arg, ref_arg, str_arg};
use crate::token::TokenInner;
use crate::{Client, Secret, Token};

/// A client with its token cache. Thread-safe: share one per configuration and call it from
/// any thread. Reference-counted: `cct_client_clone` gives another handle to the same client
/// (same cache); free every handle once with `cct_client_free`, and never while a call through
/// that same handle may still be running or starting.
pub struct cct_client {
    client: Client,
}

/// One access token. Immutable and reference-counted; free with `cct_token_free`. Strings
/// returned by its accessors are borrowed and valid until then.
pub struct cct_token {
    _opaque: [u8; 0],
}

/// A snapshot of a client's counters (`cct_client_metrics`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct cct_metrics {
    /// Calls answered from the cache without waiting.
    pub hits: u64,
    /// Calls that had to fetch or wait for a fetch.
    pub misses: u64,
    /// Token requests started (retries not counted).
    pub fetches: u64,
    /// Fetches that ended in an error.
    pub fetch_failures: u64,
    /// Extra HTTP attempts made by the retry policy.
    pub retries: u64,
    /// Calls that waited for a fetch another caller had started.
    pub coalesced_waiters: u64,
    /// Calls answered with the still-valid token while a refresh had failed.
    pub stale_served: u64,
    /// Duration of the last completed fetch, in microseconds.
    pub last_fetch_latency_us: u64,
    /// Credential failures that started a cool-down.
    pub cooldowns: u64,
    /// Calls answered with the cool-down's error, without a request.
    pub cooldown_rejections: u64,
    /// HTTP attempts (retries included) that got a token.
    pub requests_success: u64,
    /// Failed attempts by error class: connect, timeout, TLS, I/O, HTTP status, OAuth error,
    /// invalid 2xx response, configuration (e.g. an unreadable secret file).
    pub requests_connect: u64,
    pub requests_timeout: u64,
    pub requests_tls: u64,
    pub requests_io: u64,
    pub requests_http: u64,
    pub requests_oauth: u64,
    pub requests_invalid_response: u64,
    pub requests_config: u64,
    /// Fetch durations (retries included), not cumulative: bucket i counts fetches that took
    /// at most 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30 s (i = 0..11) and more than
    /// the bound before; longer fetches are only in `fetch_latency_count`.
    pub fetch_latency_buckets: [u64; 12],
    pub fetch_latency_count: u64,
    pub fetch_latency_sum_us: u64,
    /// Milliseconds until the cached token expires (0 when `token_cached` is 0).
    pub token_expires_in_ms: u64,
    /// 1 when a token is cached, else 0.
    pub token_cached: u64,
}

/// Borrows the client behind a handle for one call. No reference count is touched: the hit
/// path stays free of shared writes, and the caller keeps the handle alive for the call.
unsafe fn client_arg<'a>(c: *const cct_client) -> Result<&'a Client, super::Failure> {
    // SAFETY: NULL or a live client (conventions block).
    Ok(&unsafe { ref_arg(c, "client") }?.client)
}

fn token_ptr(t: Token) -> *mut cct_token {
    Arc::into_raw(t.0) as *mut cct_token
}

/// Borrows the token behind a `cct_token *` without touching its reference count.
unsafe fn token_ref<'a>(t: *const cct_token) -> Option<&'a TokenInner> {
    // SAFETY: NULL or a pointer from `token_ptr`, alive until cct_token_free (conventions).
    unsafe { (t as *const TokenInner).as_ref() }
}

/// Builds a client from `cfg` (which is copied and may be freed afterwards). No network I/O.
/// `*out` receives the client on success; on failure `*err` names the bad option.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_new(
    cfg: *const cct_config,
    out: *mut *mut cct_client,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: NULL or a live config (conventions block).
        let cfg = unsafe { ref_arg(cfg, "cfg") }?;
        out_arg(out, "out")?;
        let client = cfg.builder.clone().build()?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = Box::into_raw(Box::new(cct_client { client })) };
        Ok(())
    })
}

/// Another handle to the same client (same cache and settings), for an owner that frees it
/// independently. `*out` receives it on success. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_clone(
    client: *const cct_client,
    out: *mut *mut cct_client,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?.clone();
        out_arg(out, "out")?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = Box::into_raw(Box::new(cct_client { client: c })) };
        Ok(())
    })
}

/// Frees one client handle; the client ends with its last handle. NULL is a no-op.
///
/// Freeing the last handle cancels the client's work and waits for it: a token request still
/// in flight (left running by a call that timed out, or a refresh-ahead) has its connection shut
/// down, a retry waiting to be sent is dropped, and the background refresher stops. When this
/// returns, no thread of this client runs and none of its requests is in progress, so the
/// library may be unloaded (`dlclose`) once every client is freed. The wait is short: at most a
/// TCP connect in progress (bounded by the connect timeout) or a host-name lookup in progress
/// (bounded by the request timeout). Must not be
/// called while another thread uses the same handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_free(client: *mut cct_client) {
    boundary_value((), || {
        if !client.is_null() {
            // SAFETY: from Box::into_raw in cct_client_new, freed once (conventions block).
            drop(unsafe { Box::from_raw(client) });
        }
    })
}

/// A valid access token: from the cache, or fetched (at most one request per client is in
/// flight; concurrent callers wait for it). Blocks for at most the configured call timeout.
/// `*out` receives a token to free with `cct_token_free`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_get_token(
    client: *const cct_client,
    out: *mut *mut cct_token,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        out_arg(out, "out")?;
        let token = c.token()?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = token_ptr(token) };
        Ok(())
    })
}

/// Like `cct_client_get_token`, waiting at most `timeout_ms` milliseconds
/// (`CCT_STATUS_TIMEOUT` after that). The token request itself stays bounded by the configured
/// call timeout: a shorter wait leaves it running for other callers, a longer one does not
/// extend it. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_get_token_timeout(
    client: *const cct_client,
    timeout_ms: u64,
    out: *mut *mut cct_token,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        out_arg(out, "out")?;
        let token = c.token_timeout(Duration::from_millis(timeout_ms))?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = token_ptr(token) };
        Ok(())
    })
}

/// Drops `token` from the cache if it is still the current one (call after a resource server
/// answered 401 to it). `token` stays valid to read until freed. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_invalidate(
    client: *const cct_client,
    token: *const cct_token,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        if token.is_null() {
            return Err(super::Failure::null("token"));
        }
        // SAFETY: a live token; ManuallyDrop leaves its reference count as it was.
        let t = ManuallyDrop::new(Token(unsafe { Arc::from_raw(token as *const TokenInner) }));
        c.invalidate(&t);
        Ok(())
    })
}

/// Replaces the client secret of a live client (copied; used from the next fetch on; the
/// cached token stays). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_set_client_secret(
    client: *const cct_client,
    secret: *const c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg / str_arg.
        let c = unsafe { client_arg(client) }?;
        let s = unsafe { str_arg(secret, "secret") }?;
        c.set_client_secret(Secret::new(s))?;
        Ok(())
    })
}

/// Copies the client's counters into `*out`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_metrics(
    client: *const cct_client,
    out: *mut cct_metrics,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        out_arg(out, "out")?;
        let m = c.metrics();
        let r = m.requests;
        let us = |d: Duration| d.as_micros().min(u64::MAX as u128) as u64;
        let snapshot = cct_metrics {
            hits: m.hits,
            misses: m.misses,
            fetches: m.fetches,
            fetch_failures: m.fetch_failures,
            retries: m.retries,
            coalesced_waiters: m.coalesced_waiters,
            stale_served: m.stale_served,
            last_fetch_latency_us: us(m.last_fetch_latency),
            cooldowns: m.cooldowns,
            cooldown_rejections: m.cooldown_rejections,
            requests_success: r.success,
            requests_connect: r.connect,
            requests_timeout: r.timeout,
            requests_tls: r.tls,
            requests_io: r.io,
            requests_http: r.http,
            requests_oauth: r.oauth,
            requests_invalid_response: r.invalid_response,
            requests_config: r.config,
            fetch_latency_buckets: m.fetch_latency.buckets,
            fetch_latency_count: m.fetch_latency.count,
            fetch_latency_sum_us: us(m.fetch_latency.sum),
            token_expires_in_ms: m.token_expires_in.map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64),
            token_cached: u64::from(m.token_expires_in.is_some()),
        };
        // SAFETY: checked non-NULL above.
        unsafe { *out = snapshot };
        Ok(())
    })
}

/// The client's metrics in the Prometheus text exposition format (version 0.0.4; serve it as
/// `/metrics` with content type `text/plain; version=0.0.4`), every sample labelled with the
/// client id. `extra_hits` is added to `cctoken_cache_hits_total`: hits a binding answered from
/// its own copy of the token (0 from C). `*out` receives a string to free with
/// `cct_string_free`. Thread-safe; never blocks a token request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_metrics_text(
    client: *const cct_client,
    extra_hits: u64,
    out: *mut *mut c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        out_arg(out, "out")?;
        let ptr = owned_c_string(&c.metrics().prometheus_text(c.client_id(), extra_hits))?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = ptr };
        Ok(())
    })
}

/// A snapshot of a client's shared-store counters (`cct_client_store_metrics`); all zero
/// without a store.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct cct_store_metrics {
    /// Local misses answered by the shared store (no token request).
    pub store_hits: u64,
    /// Local misses that found no usable entry in the store.
    pub store_misses: u64,
    /// Store failures (unreachable, slow, unwritable, corrupt entry), each followed by a direct
    /// fetch.
    pub store_errors: u64,
    /// Fetches that waited for another process holding the store's lease.
    pub store_lease_waits: u64,
}

/// Copies the client's shared-store counters into `*out`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_store_metrics(
    client: *const cct_client,
    out: *mut cct_store_metrics,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        out_arg(out, "out")?;
        let m = c.metrics();
        let snapshot = cct_store_metrics {
            store_hits: m.store_hits,
            store_misses: m.store_misses,
            store_errors: m.store_errors,
            store_lease_waits: m.store_lease_waits,
        };
        // SAFETY: checked non-NULL above.
        unsafe { *out = snapshot };
        Ok(())
    })
}

/// Frees a token. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_free(token: *mut cct_token) {
    boundary_value((), || {
        if !token.is_null() {
            // SAFETY: from Arc::into_raw in token_ptr, freed once (conventions block).
            drop(unsafe { Arc::from_raw(token as *const TokenInner) });
        }
    })
}

/// The access token (NUL-terminated). Borrowed until `cct_token_free`. NULL if `token` is NULL.
/// Never log it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_access_token(token: *const cct_token) -> *const c_char {
    // SAFETY (all token accessors): see token_ref.
    boundary_value(ptr::null(), || {
        unsafe { token_ref(token) }.map_or(ptr::null(), |t| t.access_token.as_c_str().as_ptr())
    })
}

/// The token type, e.g. "Bearer". Borrowed until `cct_token_free`. NULL if `token` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_token_type(token: *const cct_token) -> *const c_char {
    boundary_value(ptr::null(), || {
        unsafe { token_ref(token) }.map_or(ptr::null(), |t| t.token_type.as_c_str().as_ptr())
    })
}

/// The granted scope (space-separated), or NULL when neither the server nor the configuration
/// named one. Borrowed until `cct_token_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_scope(token: *const cct_token) -> *const c_char {
    boundary_value(ptr::null(), || {
        unsafe { token_ref(token) }.and_then(|t| t.scope.as_ref()).map_or(ptr::null(), |s| s.as_c_str().as_ptr())
    })
}

/// Milliseconds until the token expires (0 once expired, for a single-use token, or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_expires_in_ms(token: *const cct_token) -> u64 {
    boundary_value(0, || {
        unsafe { token_ref(token) }.map_or(0, |t| t.expires_in().as_millis().min(u64::MAX as u128) as u64)
    })
}

/// Milliseconds during which the caller may reuse this token without calling
/// `cct_client_get_token` again: until the client's refresh point, 0 once inside the refresh
/// window (or for a single-use token, or NULL). Lets bindings keep a copy of the current token
/// while the library still decides every fetch. Drop the copy after `cct_client_invalidate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_fresh_for_ms(token: *const cct_token) -> u64 {
    boundary_value(0, || {
        unsafe { token_ref(token) }.map_or(0, |t| t.fresh_for().as_millis().min(u64::MAX as u128) as u64)
    })
}

/// Expiry as Unix time in seconds, or 0 for a single-use token (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_token_expires_at_unix(token: *const cct_token) -> i64 {
    boundary_value(0, || {
        unsafe { token_ref(token) }
            .and_then(|t| t.expires_at_wall)
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64)
    })
}

/// Copies `s` into a new NUL-terminated string for the caller (free with `cct_string_free`).
fn owned_c_string(s: &str) -> Result<*mut c_char, super::Failure> {
    std::ffi::CString::new(s)
        .map(std::ffi::CString::into_raw)
        .map_err(|_| super::Failure::invalid("output", "contains NUL"))
}

/// A DPoP proof (RFC 9449) for a resource request: `method` (e.g. "GET") and `url`; `token`
/// (may be NULL) binds it with `ath`; `nonce` (may be NULL) is the resource server's
/// `DPoP-Nonce`. `*out` receives a string to free with `cct_string_free`. Fails with
/// `CCT_STATUS_CONFIG` when DPoP is not enabled. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_dpop_proof(
    client: *const cct_client,
    method: *const c_char,
    url: *const c_char,
    token: *const cct_token,
    nonce: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg / str_arg / token_ref.
        let c = unsafe { client_arg(client) }?;
        let (method, url) = unsafe { (str_arg(method, "method")?, str_arg(url, "url")?) };
        let nonce = if nonce.is_null() { None } else { Some(unsafe { str_arg(nonce, "nonce") }?) };
        out_arg(out, "out")?;
        let token = if token.is_null() {
            None
        } else {
            // SAFETY: a live token; ManuallyDrop leaves its reference count as it was.
            Some(ManuallyDrop::new(Token(unsafe { Arc::from_raw(token as *const TokenInner) })))
        };
        let proof = c.dpop_proof(method, url, token.as_deref(), nonce)?;
        let ptr = owned_c_string(&proof)?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = ptr };
        Ok(())
    })
}

/// The RFC 7638 thumbprint of the client's DPoP key (what `cnf.jkt` of its tokens holds).
/// `*out` receives a string to free with `cct_string_free`; `CCT_STATUS_CONFIG` without DPoP.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_client_dpop_jkt(
    client: *const cct_client,
    out: *mut *mut c_char,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: see client_arg.
        let c = unsafe { client_arg(client) }?;
        out_arg(out, "out")?;
        let jkt = c.dpop_jkt().ok_or_else(|| crate::Error::config("dpop", "DPoP is not enabled on this client"))?;
        let ptr = owned_c_string(&jkt)?;
        // SAFETY: checked non-NULL above.
        unsafe { *out = ptr };
        Ok(())
    })
}

/// Frees a string returned through a `char **out` parameter. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_string_free(s: *mut c_char) {
    boundary_value((), || {
        if !s.is_null() {
            // SAFETY: from CString::into_raw in owned_c_string, freed once (conventions block).
            drop(unsafe { std::ffi::CString::from_raw(s) });
        }
    })
}
