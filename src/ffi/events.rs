//! `cct_event`: the event callback (`cct_config_set_event_callback`) and the accessors of the
//! event it receives.

use std::ffi::{CString, c_char, c_void};
use std::ptr;

use super::{boundary, boundary_value, cct_config, cct_error, cct_status, mut_arg, out_arg};
use crate::{Event, Level};

/// Level of an event (`cct_level`); lower is more severe.
pub type cct_level = u32;
/// The caller gets an error (a token request gave up, a cool-down started).
pub const CCT_LEVEL_ERROR: cct_level = 1;
/// Something failed but is handled (a retry follows, a still-valid token is served).
pub const CCT_LEVEL_WARN: cct_level = 2;
/// A token request outcome, a rotation, discovery.
pub const CCT_LEVEL_INFO: cct_level = 3;
/// Internal decisions (refresh ahead started, secret file re-read).
pub const CCT_LEVEL_DEBUG: cct_level = 4;

/// One event, passed to the event callback. Borrowed: it and every string read from it are
/// valid only until the callback returns (copy what you keep). Never holds a secret or token.
pub struct cct_event {
    time_unix_ms: u64,
    level: cct_level,
    kind: CString,
    message: CString,
    fields: Vec<(CString, CString)>,
    json: CString,
}

/// Strings that reach C: a NUL (which configuration checks already refuse) would cut them.
fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "?")).unwrap_or_default()
}

impl cct_event {
    fn from_event(e: &Event) -> cct_event {
        let level = match e.level {
            Level::Error => CCT_LEVEL_ERROR,
            Level::Warn => CCT_LEVEL_WARN,
            Level::Info => CCT_LEVEL_INFO,
            Level::Debug => CCT_LEVEL_DEBUG,
        };
        cct_event {
            time_unix_ms: e.unix_ms(),
            level,
            kind: c_text(e.kind.as_str()),
            message: c_text(&e.message),
            fields: e.fields.iter().map(|(k, v)| (c_text(k), c_text(&v.to_string()))).collect(),
            json: c_text(&e.to_json().to_string()),
        }
    }
}

/// Receives one event. `user_data` is the pointer given to `cct_config_set_event_callback`.
pub type cct_event_callback = Option<unsafe extern "C" fn(event: *const cct_event, user_data: *mut c_void)>;

/// The callback's `user_data`: the caller promises it may be used from any thread.
struct UserData(*mut c_void);
// SAFETY: cct_config_set_event_callback documents that the callback and its user_data are
// used from any thread; the library never dereferences the pointer.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Calls `callback(event, user_data)` for every event of clients built from this config (NULL
/// `callback` removes it). Events: every token request attempt and its outcome, refresh
/// ahead started, refresh failed while a valid token is served, cool-down entered/ended,
/// secret rotated or re-read, discovery, single-use token, insecure or proxy settings. Read
/// them with the `cct_event_*` accessors; `cct_event_kind` gives a stable name such as
/// "token_request.failed".
///
/// The callback runs on whichever thread did the work (a caller's, a fetch thread, the
/// background refresher), so it and `user_data` must be safe to use from any thread. It is
/// never called on a cache hit and never while the client holds a lock: it may call back into
/// the client (e.g. `cct_client_get_token`), and a slow callback delays no cache hit (only the
/// token request that raised the event). It is never called after the `cct_client_free` of the
/// client's last handle has returned (that call waits for callbacks in progress), so
/// `user_data` may be freed then. Events never contain a secret, token, assertion or key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_config_set_event_callback(
    cfg: *mut cct_config,
    callback: cct_event_callback,
    user_data: *mut c_void,
    err: *mut *mut cct_error,
) -> cct_status {
    boundary(err, || {
        // SAFETY: NULL or a live, single-owner config (conventions block).
        let cfg = unsafe { mut_arg(cfg, "cfg") }?;
        let builder = cfg.builder.clone();
        cfg.builder = match callback {
            None => builder.without_event_sink(),
            Some(callback) => {
                let user_data = UserData(user_data);
                builder.on_event(move |e| {
                    let event = cct_event::from_event(e);
                    // SAFETY: the caller's function, with the caller's pointer (see above).
                    unsafe { callback(&event, user_data.get()) }
                })
            }
        };
        Ok(())
    })
}

/// Borrows an event argument.
unsafe fn event_ref<'a>(ev: *const cct_event) -> Option<&'a cct_event> {
    // SAFETY: NULL or the event passed to a callback still running (its contract).
    unsafe { ev.as_ref() }
}

/// The event's level (`CCT_LEVEL_*`); 0 if `event` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_level(event: *const cct_event) -> cct_level {
    boundary_value(0, || unsafe { event_ref(event) }.map_or(0, |e| e.level))
}

/// When the event happened, in milliseconds since the Unix epoch (0 if `event` is NULL). The
/// callback may run a little later (events raised during a token request are delivered when
/// it ends), so stamp log records with this time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_time_unix_ms(event: *const cct_event) -> u64 {
    boundary_value(0, || unsafe { event_ref(event) }.map_or(0, |e| e.time_unix_ms))
}

/// The event's kind, a stable name such as "token_request.succeeded". NULL if `event` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_kind(event: *const cct_event) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { event_ref(event) }.map_or(ptr::null(), |e| e.kind.as_ptr()))
}

/// One line for humans. NULL if `event` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_message(event: *const cct_event) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { event_ref(event) }.map_or(ptr::null(), |e| e.message.as_ptr()))
}

/// How many structured fields the event has (0 if `event` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_field_count(event: *const cct_event) -> usize {
    boundary_value(0, || unsafe { event_ref(event) }.map_or(0, |e| e.fields.len()))
}

/// Field `index` (0 to count-1): `*name` (e.g. "client_id", "http_status", "will_retry") and
/// `*value` (as text: numbers in decimal, booleans "true"/"false"). Returns false, writing
/// nothing, when `index` is out of range or an argument is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_field(
    event: *const cct_event,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const c_char,
) -> bool {
    boundary_value(false, || {
        let Some((k, v)) = unsafe { event_ref(event) }.and_then(|e| e.fields.get(index)) else {
            return false;
        };
        if out_arg(name, "name").is_err() || out_arg(value, "value").is_err() {
            return false;
        }
        // SAFETY: checked non-NULL above.
        unsafe {
            *name = k.as_ptr();
            *value = v.as_ptr();
        }
        true
    })
}

/// The whole event as one JSON object: {"time_unix_ms", "kind", "level" ("error"|"warn"|"info"|"debug"),
/// "message", "fields": {name: string | number | boolean}}. NULL if `event` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cct_event_json(event: *const cct_event) -> *const c_char {
    boundary_value(ptr::null(), || unsafe { event_ref(event) }.map_or(ptr::null(), |e| e.json.as_ptr()))
}
