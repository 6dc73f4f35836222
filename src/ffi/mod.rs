//! The C ABI (`include/cctoken.h`, generated from this module by cbindgen).
//!
//! This is the only place with raw pointers. Every exported function runs its body through
//! [`boundary`] (or [`boundary_value`] for plain accessors), which catches panics; arguments
//! are checked by the `*_arg` helpers below before use. The conventions every function
//! follows are written once at the top of the header (see `cbindgen.toml`).

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // the safety contract is in the header's conventions block

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

mod client;
mod config;
mod error;
mod events;
mod status;

pub use client::*;
pub use config::*;
pub use error::*;
pub use events::*;
pub use status::*;

/// Why an FFI call failed: a bad argument, or an error from the core.
pub(crate) enum Failure {
    Argument { status: cct_status, message: String },
    Core(crate::Error),
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Failure::Core(e)
    }
}

impl Failure {
    fn null(name: &str) -> Failure {
        Failure::Argument { status: CCT_STATUS_NULL_ARGUMENT, message: format!("argument `{name}` is NULL") }
    }

    pub(crate) fn invalid(name: &str, why: impl std::fmt::Display) -> Failure {
        Failure::Argument { status: CCT_STATUS_INVALID_ARGUMENT, message: format!("argument `{name}`: {why}") }
    }
}

/// Runs `body` behind the panic boundary. On failure (or panic) the status is returned and,
/// when `err` is not NULL, an owned `cct_error` is written to `*err`.
pub(crate) fn boundary(err: *mut *mut cct_error, body: impl FnOnce() -> Result<(), Failure>) -> cct_status {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return CCT_STATUS_OK,
        Ok(Err(f)) => f,
        Err(_) => Failure::Argument {
            status: CCT_STATUS_PANIC,
            message: "internal error: cctoken panicked (please report this)".into(),
        },
    };
    let e = cct_error::from_failure(failure);
    let status = e.status;
    if !err.is_null() {
        // SAFETY: `err` is non-NULL and, per the conventions, points to writable storage.
        unsafe { *err = Box::into_raw(Box::new(e)) };
    }
    status
}

/// The panic boundary for functions that return a value rather than a status: a panic yields
/// `fallback` (NULL, 0 or false, as each function documents).
pub(crate) fn boundary_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// A borrowed C string argument: NULL and invalid UTF-8 are errors.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string (conventions block).
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|_| Failure::Argument {
        status: CCT_STATUS_INVALID_UTF8,
        message: format!("argument `{name}` is not valid UTF-8"),
    })
}

/// A shared borrow of a handle argument.
pub(crate) unsafe fn ref_arg<'a, T>(p: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller passes a live handle or NULL (conventions block).
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// An exclusive borrow of a single-owner handle argument.
pub(crate) unsafe fn mut_arg<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: single-owner handles are not shared between threads (conventions block).
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Checks an output pointer before any work is done, so outputs are written only on success.
pub(crate) fn out_arg<T>(p: *mut T, name: &str) -> Result<(), Failure> {
    if p.is_null() { Err(Failure::null(name)) } else { Ok(()) }
}
