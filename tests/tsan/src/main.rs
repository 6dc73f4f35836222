//! Mixed Rust / C ABI stress for ThreadSanitizer, against `cctoken-dev-server` on loopback:
//! tokens, short-timeout tokens, invalidation, secret rotation (wrong and right secret, which
//! also runs the cool-down), client clone/free through the C ABI, and the background
//! refresher (2 s tokens, so refreshes happen all the time). Run by `make tsan`; any TSan
//! report fails it (halt_on_error). Usage: cctoken-tsan [SECONDS] (default 20).

use std::ffi::{CStr, c_char};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cctoken::ffi::*;

const CLIENT_ID: &str = "svc-tsan";
const SECRET: &CStr = c"tsan-Secret-1";
const WRONG: &CStr = c"tsan-wrong-secret";

/// A `cct_client *`; the C ABI documents clients as thread-safe.
#[derive(Clone, Copy)]
struct Handle(*mut cct_client);
// SAFETY: every cct_client_* call is thread-safe (include/cctoken.h).
unsafe impl Send for Handle {}

impl Handle {
    /// The pointer (a method, so closures capture the whole `Send` handle, not the raw field).
    fn ptr(self) -> *mut cct_client {
        self.0
    }
}
// SAFETY: as above.
unsafe impl Sync for Handle {}

struct DevServer(Child);

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> (DevServer, String) {
    let bin = std::env::var("CCTOKEN_DEV_SERVER").unwrap_or_else(|_| "../../target/debug/cctoken-dev-server".into());
    let mut child = Command::new(&bin)
        .args(["--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet", "--client", CLIENT_ID])
        .args(["--secret", SECRET.to_str().unwrap(), "--lifetime", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let stdout = child.stdout.take().expect("stdout piped");
    let server = DevServer(child);
    // Bounded wait for the banner: a loaded machine may be slow, a hung server must not hang us.
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(120)).expect("dev server printed nothing within 120 s");
    let base = line.trim().rsplit(' ').next().expect("banner ends with the URL").to_string();
    (server, format!("{base}/token"))
}

/// Calls a C ABI function with an error out-parameter; frees the error and returns the status.
fn call(f: impl FnOnce(*mut *mut cct_error) -> cct_status) -> cct_status {
    let mut err = ptr::null_mut();
    let status = f(&mut err);
    assert_ne!(status, CCT_STATUS_PANIC, "a C ABI call panicked");
    if !err.is_null() {
        // SAFETY: an error returned by the call, freed once.
        unsafe {
            let _ = CStr::from_ptr(cct_error_message(err)).to_bytes().len();
            cct_error_free(err);
        }
    }
    status
}

fn c_client(token_url: &str) -> Handle {
    let url = std::ffi::CString::new(token_url).unwrap();
    let id = std::ffi::CString::new(CLIENT_ID).unwrap();
    // SAFETY: valid pointers throughout; the config is freed once after use.
    unsafe {
        let mut cfg = ptr::null_mut();
        assert_eq!(call(|e| cct_config_new(&mut cfg, e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_token_url(cfg, url.as_ptr(), e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_client_id(cfg, id.as_ptr(), e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_client_secret(cfg, SECRET.as_ptr(), e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_background_refresh(cfg, true, e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_request_timeout_ms(cfg, 2000, e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_call_timeout_ms(cfg, 3000, e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_failure_cooldown_ms(cfg, 100, e)), CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_retry_policy(cfg, 2, 5, 20, e)), CCT_STATUS_OK);
        let mut client = ptr::null_mut();
        assert_eq!(call(|e| cct_client_new(cfg, &mut client, e)), CCT_STATUS_OK);
        cct_config_free(cfg);
        Handle(client)
    }
}

/// Gets a token through the C ABI, reads it, and optionally invalidates it.
fn c_token(h: Handle, timeout_ms: Option<u64>, invalidate: bool) -> cct_status {
    let mut token = ptr::null_mut();
    // SAFETY: `h` is live for the whole run; the token is freed once.
    unsafe {
        let s = match timeout_ms {
            Some(ms) => call(|e| cct_client_get_token_timeout(h.ptr(), ms, &mut token, e)),
            None => call(|e| cct_client_get_token(h.ptr(), &mut token, e)),
        };
        if s == CCT_STATUS_OK {
            let at: *const c_char = cct_token_access_token(token);
            assert!(!CStr::from_ptr(at).to_bytes().is_empty());
            let _ = (cct_token_expires_in_ms(token), cct_token_fresh_for_ms(token), cct_token_scope(token));
            if invalidate {
                assert_eq!(call(|e| cct_client_invalidate(h.ptr(), token, e)), CCT_STATUS_OK);
            }
            cct_token_free(token);
        }
        s
    }
}

fn main() {
    let seconds: u64 = std::env::args().nth(1).map_or(20, |s| s.parse().expect("SECONDS"));
    let (_server, token_url) = start_server();
    let c = c_client(&token_url);
    let rust = cctoken::Client::builder()
        .token_url(&token_url)
        .client_id(CLIENT_ID)
        .client_secret(SECRET.to_str().unwrap())
        .background_refresh(true)
        .call_timeout(Duration::from_secs(3))
        .build()
        .expect("rust client");
    assert_eq!(c_token(c, None, false), CCT_STATUS_OK, "first token");

    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    let mut spawn = |name: &str, f: Box<dyn Fn(u64) -> bool + Send>| {
        let (stop, ops, ok) = (stop.clone(), ops.clone(), ok.clone());
        workers.push(thread::Builder::new().name(name.into()).spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                if f(i) {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                ops.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    };
    for n in 0..2 {
        spawn(&format!("c-token-{n}"), Box::new(move |_| c_token(c, None, false) == CCT_STATUS_OK));
    }
    spawn("c-timed", Box::new(move |i| c_token(c, Some(i % 5), false) == CCT_STATUS_OK));
    spawn(
        "c-invalidate",
        Box::new(move |_| {
            thread::sleep(Duration::from_millis(5));
            c_token(c, Some(500), true) == CCT_STATUS_OK
        }),
    );
    spawn(
        "c-clone-free",
        Box::new(move |_| {
            let mut other = ptr::null_mut();
            assert_eq!(call(|e| unsafe { cct_client_clone(c.ptr(), &mut other, e) }), CCT_STATUS_OK);
            let s = c_token(Handle(other), Some(200), false);
            // SAFETY: the clone made above, freed once.
            unsafe { cct_client_free(other) };
            s == CCT_STATUS_OK
        }),
    );
    spawn(
        "c-rotate",
        Box::new(move |i| {
            // A wrong secret now and then: fetches fail with invalid_client and cool down; the
            // right one ends the cool-down.
            let secret = if i % 4 == 3 { WRONG } else { SECRET };
            let s = call(|e| unsafe { cct_client_set_client_secret(c.ptr(), secret.as_ptr(), e) });
            thread::sleep(Duration::from_millis(if i % 4 == 3 { 30 } else { 100 }));
            s == CCT_STATUS_OK
        }),
    );
    let r = rust.clone();
    spawn(
        "rust-mixed",
        Box::new(move |i| match i % 3 {
            0 => r.token().is_ok(),
            1 => r.token_timeout(Duration::from_millis(i % 7)).is_ok(),
            _ => r.token().map(|t| r.invalidate(&t)).is_ok(),
        }),
    );
    let r = rust.clone();
    spawn(
        "rust-rotate-clone",
        Box::new(move |i| {
            let r2 = r.clone();
            let _ = r2.metrics();
            let ok = r2.set_client_secret(cctoken::Secret::new(SECRET.to_str().unwrap())).is_ok();
            thread::sleep(Duration::from_millis(20 + i % 30));
            ok
        }),
    );

    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.expect("spawn worker").join().expect("worker");
    }
    // With the right secret back, both clients still work.
    assert_eq!(call(|e| unsafe { cct_client_set_client_secret(c.ptr(), SECRET.as_ptr(), e) }), CCT_STATUS_OK);
    let deadline = Instant::now() + Duration::from_secs(30);
    while c_token(c, Some(3000), false) != CCT_STATUS_OK {
        assert!(Instant::now() < deadline, "no token after the stress");
        thread::sleep(Duration::from_millis(100));
    }
    rust.token().expect("rust client after the stress");
    let metrics = rust.metrics();
    let mut m = cct_metrics::default();
    assert_eq!(call(|e| unsafe { cct_client_metrics(c.ptr(), &mut m, e) }), CCT_STATUS_OK);
    // SAFETY: the last handle, freed once.
    unsafe { cct_client_free(c.ptr()) };
    drop(rust);
    println!(
        "tsan stress: {} operations in {seconds} s ({} succeeded); C client: {} fetches, {} failures, {} stale; \
         Rust client: {} fetches",
        ops.load(Ordering::Relaxed),
        ok.load(Ordering::Relaxed),
        m.fetches,
        m.fetch_failures,
        m.stale_served,
        metrics.fetches
    );
    assert!(m.fetches > 3, "the refresher and refresh-ahead should have fetched repeatedly");
}
