//! `cct_error`: an owned error object handed out through `cct_error **err` out-parameters.

use std::ffi::{CString, c_char};
use std::ptr;

use super::{Failure, boundary_value, status::*};
use crate::{Error, TransportKind};

/// An error. Owned by the caller once returned; free with `cct_error_free`. Immutable, so the
/// accessors are safe from any thread; strings it returns live as long as the error.
pub struct cct_error {
    pub(crate) status: cct_status,
    message: CString,
    http_status: u16,
    retryable: bool,
    retry_after_ms: i64,
    oauth_error: Option<CString>,
    oauth_description: Option<CString>,
    oauth_uri: Option<CString>,
}

/// Server-provided text may hold a NUL; C strings cannot.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl cct_error {
    pub(crate) fn from_failure(f: Failure) -> cct_error {
        match f {
            Failure::Argument { status, message } => cct_error {
                status,
                message: c_string(&message),
                http_status: 0,
                retryable: false,
                retry_after_ms: -1,
                oauth_error: None,
                oauth_description: None,
                oauth_uri: None,
            },
            Failure::Core(e) => cct_error::from_core(&e),
        }
    }

    fn from_core(e: &Error) -> cct_error {
        let status = match e {
            Error::Config { .. } => CCT_STATUS_CONFIG,
            Error::Transport { kind: TransportKind::Connect, .. } => CCT_STATUS_CONNECT,
            Error::Transport { kind: TransportKind::Timeout, .. } => CCT_STATUS_TIMEOUT,
            Error::Transport { kind: TransportKind::Tls, .. } => CCT_STATUS_TLS,
            Error::Transport { .. } => CCT_STATUS_IO,
            Error::Http { .. } => CCT_STATUS_HTTP,
            Error::OAuth(_) => CCT_STATUS_OAUTH,
            Error::InvalidResponse(_) => CCT_STATUS_INVALID_RESPONSE,
        };
        let oauth = e.oauth();
        cct_error {
            status,
            message: c_string(&e.to_string()),
            http_status: e.http_status().unwrap_or(0),
            retryable: e.is_retryable(),
            retry_after_ms: e.retry_after().map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64),
            oauth_error: oauth.map(|o| c_string(&o.error)),
            oauth_description: oauth.and_then(|o| o.description.as_deref()).map(c_string),
            oauth_uri: oauth.and_then(|o| o.uri.as_deref()).map(c_string),
        }
    }
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// Frees an error. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_free(err: *mut cct_error) {
    boundary_value((), || {
        if !err.is_null() {
            // SAFETY: `err` came from Box::into_raw in `boundary` and is freed once (conventions).
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

/// The status this error was returned with. `CCT_STATUS_NULL_ARGUMENT` if `err` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_status(err: *const cct_error) -> cct_status {
    // SAFETY (all accessors): `err` is NULL or a live error (conventions block).
    boundary_value(CCT_STATUS_PANIC, || unsafe { err.as_ref() }.map_or(CCT_STATUS_NULL_ARGUMENT, |e| e.status))
}

/// A one-line, human-readable message; never contains secrets or tokens. Borrowed from `err`.
/// NULL if `err` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_message(err: *const cct_error) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { err.as_ref() }.map_or(ptr::null(), |e| e.message.as_ptr()))
}

/// The HTTP status the token endpoint answered with, or 0 when there was no HTTP answer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_http_status(err: *const cct_error) -> u16 {
    boundary_value(0, || unsafe { err.as_ref() }.map_or(0, |e| e.http_status))
}

/// Whether retrying later may succeed (transport failures, 408, 425, 429, 5xx).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_retryable(err: *const cct_error) -> bool {
    boundary_value(false, || unsafe { err.as_ref() }.is_some_and(|e| e.retryable))
}

/// The server's `Retry-After` in milliseconds, or -1 when it sent none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_retry_after_ms(err: *const cct_error) -> i64 {
    boundary_value(-1, || unsafe { err.as_ref() }.map_or(-1, |e| e.retry_after_ms))
}

/// The OAuth `error` code (e.g. "invalid_client"), or NULL when the status is not
/// `CCT_STATUS_OAUTH`. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_oauth_error(err: *const cct_error) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { err.as_ref() }.map_or(ptr::null(), |e| opt_ptr(&e.oauth_error)))
}

/// The OAuth `error_description` (redacted), or NULL. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_oauth_description(err: *const cct_error) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { err.as_ref() }.map_or(ptr::null(), |e| opt_ptr(&e.oauth_description)))
}

/// The OAuth `error_uri`, or NULL. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_error_oauth_uri(err: *const cct_error) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { err.as_ref() }.map_or(ptr::null(), |e| opt_ptr(&e.oauth_uri)))
}
