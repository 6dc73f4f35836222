//! The C ABI configuration setters driven by arbitrary bytes (embedded NULs, invalid UTF-8,
//! NULL pointers, extreme numbers), then `cct_client_new`, `cct_client_clone`, optionally one
//! `cct_client_get_token_timeout` against a closed loopback port (never another host), and the
//! frees. Every call must return a status: a panic aborts the fuzzer even where the ABI's panic
//! boundary would have caught it. Error messages must be one line.
#![no_main]

use std::ffi::{CStr, c_char};
use std::ptr;
use std::sync::OnceLock;

use cctoken::ffi::*;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "Fz-s3cret-v4lue";

/// Where a fuzzed secret file path points: files made here, never a path from the input
/// (`/dev/zero` or a FIFO would test the fuzzer's patience, not the parser).
fn secret_files() -> &'static [String; 3] {
    static FILES: OnceLock<[String; 3]> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cctoken-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("secret");
        std::fs::write(&good, format!("{SECRET}\n")).expect("secret file");
        let empty = dir.join("empty");
        std::fs::write(&empty, "").expect("empty file");
        [good, empty, dir.join("missing")].map(|p| p.to_string_lossy().into_owned())
    })
}

/// Reads the fuzzer's bytes as arguments.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.byte().unwrap_or(0);
        }
        u64::from_le_bytes(v)
    }
    fn f64(&mut self) -> f64 {
        f64::from_bits(self.u64())
    }
    /// A length byte (255: NULL) and that many bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.byte().unwrap_or(0);
        if n == 255 {
            return None;
        }
        let n = usize::from(n).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(b)
    }
}

/// A C string argument: the bytes (a NUL inside ends it, as in C) with a terminator, or NULL.
struct CArg(Option<Vec<u8>>);

impl CArg {
    fn new(b: Option<&[u8]>) -> CArg {
        CArg(b.map(|b| b.iter().copied().chain([0]).collect()))
    }
    fn ptr(&self) -> *const c_char {
        self.0.as_ref().map_or(ptr::null(), |v| v.as_ptr().cast())
    }
}

fn bytes_ptr(b: Option<&[u8]>) -> (*const u8, usize) {
    b.map_or((ptr::null(), 0), |b| (b.as_ptr(), b.len()))
}

/// Checks and frees an error left by a call (`err` is NULL when no out-parameter was passed).
unsafe fn check(status: cct_status, err: *mut cct_error, asked: bool, secret_in_input: bool) {
    assert_ne!(status, CCT_STATUS_PANIC, "a call panicked");
    if err.is_null() {
        if !asked {
            return;
        }
        assert_eq!(status, CCT_STATUS_OK, "a failure without an error object");
        return;
    }
    unsafe {
        assert_eq!(cct_error_status(err), status);
        let msg = CStr::from_ptr(cct_error_message(err)).to_string_lossy();
        assert!(!msg.contains(['\n', '\r']), "error message spans lines: {msg:?}");
        // Unless the input itself passed the secret's text as another argument (a scope, say).
        assert!(
            secret_in_input || !msg.contains(SECRET),
            "secret in error message: {}",
            msg.replace(SECRET, "<SECRET>")
        );
        cct_error_free(err);
    }
}

fuzz_target!(|data: &[u8]| {
    let secret_in_input = data.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    let mut input = Input(data);
    let Some(flags) = input.byte() else { return };
    unsafe {
        let mut cfg = ptr::null_mut();
        let mut err = ptr::null_mut();
        check(cct_config_new(&mut cfg, &mut err), err, true, secret_in_input);
        let mut ops = 0;
        while let Some(op) = input.byte() {
            ops += 1;
            if ops > 64 {
                break;
            }
            let mut err = ptr::null_mut();
            // The top bit passes a NULL error out-parameter, which every setter must accept.
            let errp: *mut *mut cct_error = if op & 0x80 == 0 { &mut err } else { ptr::null_mut() };
            // Any op may hit a NULL config as well (op 0x7f).
            let c = if op & 0x7f == 0x7f { ptr::null_mut() } else { cfg };
            let s = match op & 0x7f {
                0 => cct_config_set_token_url(c, CArg::new(input.bytes()).ptr(), errp),
                1 => cct_config_set_client_id(c, CArg::new(input.bytes()).ptr(), errp),
                // The secret: the fixed one (length byte 0; checked for in messages) or fuzzed bytes.
                2 => {
                    let secret = match input.bytes() {
                        Some([]) => CArg::new(Some(SECRET.as_bytes())),
                        other => CArg::new(other),
                    };
                    cct_config_set_client_secret(c, secret.ptr(), errp)
                }
                3 => {
                    let which = usize::from(input.byte().unwrap_or(0)) % 3;
                    let path = CArg::new(Some(secret_files()[which].as_bytes()));
                    cct_config_set_client_secret_file(c, path.ptr(), input.byte().unwrap_or(0) & 1 == 1, errp)
                }
                4 => cct_config_set_auth_method(c, u32::from(input.byte().unwrap_or(0)), errp),
                5 => cct_config_add_scope(c, CArg::new(input.bytes()).ptr(), errp),
                6 => cct_config_set_audience(c, CArg::new(input.bytes()).ptr(), errp),
                7 => cct_config_add_resource(c, CArg::new(input.bytes()).ptr(), errp),
                8 => {
                    let (n, v) = (CArg::new(input.bytes()), CArg::new(input.bytes()));
                    cct_config_add_extra_param(c, n.ptr(), v.ptr(), errp)
                }
                9 => cct_config_set_connect_timeout_ms(c, input.u64(), errp),
                10 => cct_config_set_request_timeout_ms(c, input.u64(), errp),
                11 => cct_config_set_call_timeout_ms(c, input.u64(), errp),
                12 => cct_config_set_default_lifetime_ms(c, input.u64(), errp),
                13 => cct_config_set_refresh_policy(c, input.f64(), input.u64(), input.f64(), errp),
                14 => {
                    let attempts = input.u64() as u32;
                    cct_config_set_retry_policy(c, attempts, input.u64(), input.u64(), errp)
                }
                15 => cct_config_set_failure_cooldown_ms(c, input.u64(), errp),
                16 => {
                    let (p, n) = bytes_ptr(input.bytes());
                    cct_config_add_root_ca_pem(c, p, n, errp)
                }
                17 => cct_config_set_user_agent(c, CArg::new(input.bytes()).ptr(), errp),
                18 => cct_config_set_allow_insecure_http(c, input.byte().unwrap_or(0) & 1 == 1, errp),
                19 => cct_config_set_background_refresh(c, input.byte().unwrap_or(0) & 1 == 1, errp),
                20 => cct_config_set_issuer(c, CArg::new(input.bytes()).ptr(), errp),
                21 => {
                    let (p, n) = bytes_ptr(input.bytes());
                    cct_config_set_private_key_pem(c, p, n, errp)
                }
                22 => cct_config_set_private_key_jwk(c, CArg::new(input.bytes()).ptr(), errp),
                23 => cct_config_set_signing_alg(c, u32::from(input.byte().unwrap_or(0)), errp),
                24 => cct_config_set_key_id(c, CArg::new(input.bytes()).ptr(), errp),
                25 => {
                    let aud = u32::from(input.byte().unwrap_or(0));
                    cct_config_set_assertion_audience(c, aud, CArg::new(input.bytes()).ptr(), errp)
                }
                26 => cct_config_set_assertion_lifetime_ms(c, input.u64(), errp),
                27 => {
                    let ((cp, cn), (kp, kn)) = (bytes_ptr(input.bytes()), bytes_ptr(input.bytes()));
                    cct_config_set_client_certificate_pem(c, cp, cn, kp, kn, errp)
                }
                28 => cct_config_set_dpop(c, input.byte().unwrap_or(0) & 1 == 1, errp),
                29 => {
                    let (p, n) = bytes_ptr(input.bytes());
                    cct_config_set_dpop_key_pem(c, p, n, errp)
                }
                0x7f => cct_config_set_client_id(c, c"x".as_ptr(), errp),
                _ => continue,
            };
            check(s, err, !errp.is_null(), secret_in_input);
        }

        // Flag bit 0: aim at a closed loopback port and ask for a token (kept short: a refused
        // connection, no retry fits in 5 ms). Without it, a fuzzed URL is never contacted.
        let probe = flags & 1 == 1;
        if probe {
            let mut err = ptr::null_mut();
            check(
                cct_config_set_token_url(cfg, c"http://127.0.0.1:1/token".as_ptr(), &mut err),
                err,
                true,
                secret_in_input,
            );
            // One attempt and a short call timeout: the fetch (which may outlive the call) ends soon.
            let mut err = ptr::null_mut();
            check(cct_config_set_retry_policy(cfg, 1, 1, 1, &mut err), err, true, secret_in_input);
            let mut err = ptr::null_mut();
            check(cct_config_set_call_timeout_ms(cfg, 50, &mut err), err, true, secret_in_input);
        }
        let mut client = ptr::null_mut();
        let mut err = ptr::null_mut();
        let s = cct_client_new(cfg, &mut client, &mut err);
        check(s, err, true, secret_in_input);
        cct_config_free(cfg);
        if s != CCT_STATUS_OK {
            assert!(client.is_null(), "a client from a failed cct_client_new");
            return;
        }
        let mut other = ptr::null_mut();
        let mut err = ptr::null_mut();
        check(cct_client_clone(client, &mut other, &mut err), err, true, secret_in_input);
        if probe {
            let mut token = ptr::null_mut();
            let mut err = ptr::null_mut();
            let s = cct_client_get_token_timeout(other, 5, &mut token, &mut err);
            assert_ne!(s, CCT_STATUS_OK, "a token from a closed port");
            check(s, err, true, secret_in_input);
        }
        cct_client_free(client);
        cct_client_free(other);
    }
});
