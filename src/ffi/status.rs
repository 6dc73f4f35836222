//! Status codes, version information.

use std::ffi::c_char;

/// Result of every fallible function. Values are explicit, grouped in ranges, and never reused:
/// 0 success; 1–99 misuse of the API; 100–199 configuration; 200–299 transport;
/// 300–399 the token endpoint's answer.
pub type cct_status = u32;

pub const CCT_STATUS_OK: cct_status = 0;
/// A required pointer argument was NULL.
pub const CCT_STATUS_NULL_ARGUMENT: cct_status = 1;
/// A string argument was not valid UTF-8.
pub const CCT_STATUS_INVALID_UTF8: cct_status = 2;
/// An argument was out of range (e.g. an unknown enum value).
pub const CCT_STATUS_INVALID_ARGUMENT: cct_status = 3;
/// cctoken panicked; the call had no effect on its outputs. Please report it.
pub const CCT_STATUS_PANIC: cct_status = 4;
/// The configuration is invalid; the error's message names the option.
pub const CCT_STATUS_CONFIG: cct_status = 100;
/// DNS or TCP connect to the token endpoint failed.
pub const CCT_STATUS_CONNECT: cct_status = 200;
/// A connect, request or call timeout passed.
pub const CCT_STATUS_TIMEOUT: cct_status = 201;
/// TLS handshake failed (certificate, host name, protocol).
pub const CCT_STATUS_TLS: cct_status = 202;
/// The connection broke mid-exchange.
pub const CCT_STATUS_IO: cct_status = 203;
/// A non-success HTTP status without an OAuth error body (see `cct_error_http_status`).
pub const CCT_STATUS_HTTP: cct_status = 300;
/// An RFC 6749 §5.2 error (see `cct_error_oauth_error`).
pub const CCT_STATUS_OAUTH: cct_status = 301;
/// A success status whose body is not a usable token response.
pub const CCT_STATUS_INVALID_RESPONSE: cct_status = 302;

/// Library version, as in Cargo.toml (a test keeps them equal).
pub const CCT_VERSION_MAJOR: u32 = 0;
pub const CCT_VERSION_MINOR: u32 = 1;
pub const CCT_VERSION_PATCH: u32 = 0;
/// Bumped on every incompatible change of this header; bindings refuse another value.
pub const CCT_ABI_VERSION: u32 = 2;

/// A static description of `status` ("unknown status" for values not listed above).
/// Never NULL; do not free. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn cct_status_str(status: cct_status) -> *const c_char {
    let s: &'static std::ffi::CStr = match status {
        CCT_STATUS_OK => c"ok",
        CCT_STATUS_NULL_ARGUMENT => c"NULL argument",
        CCT_STATUS_INVALID_UTF8 => c"invalid UTF-8 in a string argument",
        CCT_STATUS_INVALID_ARGUMENT => c"invalid argument",
        CCT_STATUS_PANIC => c"internal error (panic)",
        CCT_STATUS_CONFIG => c"invalid configuration",
        CCT_STATUS_CONNECT => c"cannot connect to the token endpoint",
        CCT_STATUS_TIMEOUT => c"timeout",
        CCT_STATUS_TLS => c"TLS error",
        CCT_STATUS_IO => c"connection error",
        CCT_STATUS_HTTP => c"HTTP error status from the token endpoint",
        CCT_STATUS_OAUTH => c"OAuth error from the token endpoint",
        CCT_STATUS_INVALID_RESPONSE => c"invalid token response",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// The library version, e.g. "0.1.0". Static; never NULL; do not free. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn cct_version() -> *const c_char {
    const V: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version contains NUL"),
        };
    V.as_ptr()
}

/// `CCT_ABI_VERSION` of the loaded library, for bindings to compare with the header they were
/// written against. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn cct_abi_version() -> u32 {
    CCT_ABI_VERSION
}
