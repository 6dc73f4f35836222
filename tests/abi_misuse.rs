//! C ABI misuse with huge inputs: a 10 MB value for every string setter and every PEM buffer
//! returns a status (never a panic, never a crash), and `cct_client_new` refuses what is invalid
//! with a one-line error. (NULL and bad UTF-8 are covered by tests/c/test_api.c; random bytes
//! by the `ffi_config` fuzz target.)

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use cctoken::ffi::*;

const HUGE: usize = 10 << 20;

/// Runs one call; returns its status and error message (the error freed).
fn call(f: impl FnOnce(*mut *mut cct_error) -> cct_status) -> (cct_status, String) {
    let mut err = ptr::null_mut();
    let status = f(&mut err);
    assert_ne!(status, CCT_STATUS_PANIC, "a call panicked");
    if err.is_null() {
        return (status, String::new());
    }
    // SAFETY: an error handed out by the call, freed once.
    unsafe {
        let msg = CStr::from_ptr(cct_error_message(err)).to_string_lossy().into_owned();
        cct_error_free(err);
        (status, msg)
    }
}

fn config() -> *mut cct_config {
    let mut cfg = ptr::null_mut();
    // SAFETY: valid out-pointers.
    let (s, _) = call(|e| unsafe { cct_config_new(&mut cfg, e) });
    assert_eq!(s, CCT_STATUS_OK);
    let (s, _) = call(|e| unsafe { cct_config_set_token_url(cfg, c"http://127.0.0.1:1/token".as_ptr(), e) });
    assert_eq!(s, CCT_STATUS_OK);
    let (s, _) = call(|e| unsafe { cct_config_set_client_id(cfg, c"svc".as_ptr(), e) });
    assert_eq!(s, CCT_STATUS_OK);
    let (s, _) = call(|e| unsafe { cct_config_set_client_secret(cfg, c"misuse-s3cret".as_ptr(), e) });
    assert_eq!(s, CCT_STATUS_OK);
    cfg
}

/// Builds a client from `cfg` (then frees both); returns the status.
fn build(cfg: *mut cct_config) -> cct_status {
    let mut client = ptr::null_mut();
    // SAFETY: a live config and a valid out-pointer; each object freed once.
    let (s, msg) = call(|e| unsafe { cct_client_new(cfg, &mut client, e) });
    unsafe {
        cct_config_free(cfg);
        cct_client_free(client);
    }
    assert!(!msg.contains(['\n', '\r']), "error message spans lines");
    assert!(!msg.contains("misuse-s3cret"), "secret in the error message");
    s
}

#[test]
fn ten_megabyte_strings_in_every_string_setter() {
    let huge = CString::new("a".repeat(HUGE)).unwrap();
    type Setter = fn(*mut cct_config, *const c_char, *mut *mut cct_error) -> cct_status;
    let setters: [(&str, Setter); 12] = [
        ("token_url", |c, p, e| unsafe { cct_config_set_token_url(c, p, e) }),
        ("client_id", |c, p, e| unsafe { cct_config_set_client_id(c, p, e) }),
        ("client_secret", |c, p, e| unsafe { cct_config_set_client_secret(c, p, e) }),
        ("scope", |c, p, e| unsafe { cct_config_add_scope(c, p, e) }),
        ("audience", |c, p, e| unsafe { cct_config_set_audience(c, p, e) }),
        ("resource", |c, p, e| unsafe { cct_config_add_resource(c, p, e) }),
        ("user_agent", |c, p, e| unsafe { cct_config_set_user_agent(c, p, e) }),
        ("issuer", |c, p, e| unsafe { cct_config_set_issuer(c, p, e) }),
        ("private_key_jwk", |c, p, e| unsafe { cct_config_set_private_key_jwk(c, p, e) }),
        ("key_id", |c, p, e| unsafe { cct_config_set_key_id(c, p, e) }),
        ("secret_file", |c, p, e| unsafe { cct_config_set_client_secret_file(c, p, false, e) }),
        ("extra_param", |c, p, e| unsafe { cct_config_add_extra_param(c, p, p, e) }),
    ];
    for (name, set) in setters {
        let cfg = config();
        // SAFETY (in each setter above): a live config and a NUL-terminated string.
        let (s, _) = call(|e| set(cfg, huge.as_ptr(), e));
        assert!(matches!(s, CCT_STATUS_OK | CCT_STATUS_INVALID_ARGUMENT | CCT_STATUS_CONFIG), "{name}: status {s}");
        let s = build(cfg);
        assert!(matches!(s, CCT_STATUS_OK | CCT_STATUS_CONFIG), "{name}: cct_client_new status {s}");
    }
}

#[test]
fn ten_megabyte_pem_buffers() {
    let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    pem.extend(std::iter::repeat_n(b'A', HUGE));
    let garbage = vec![0xffu8; HUGE];
    for buf in [&pem, &garbage] {
        type PemSetter = unsafe extern "C" fn(*mut cct_config, *const u8, usize, *mut *mut cct_error) -> cct_status;
        let setters: [(&str, PemSetter); 3] = [
            ("root_ca_pem", cct_config_add_root_ca_pem),
            ("private_key_pem", cct_config_set_private_key_pem),
            ("dpop_key_pem", cct_config_set_dpop_key_pem),
        ];
        for (name, set) in setters {
            let cfg = config();
            // SAFETY: a live config and `len` readable bytes.
            let (s, _) = call(|e| unsafe { set(cfg, buf.as_ptr(), buf.len(), e) });
            assert!(matches!(s, CCT_STATUS_OK | CCT_STATUS_CONFIG), "{name}: status {s}");
            assert_eq!(build(cfg), CCT_STATUS_CONFIG, "{name}: a 10 MB non-PEM buffer is refused");
        }
        let cfg = config();
        // SAFETY: a live config and `len` readable bytes for both buffers.
        let (s, _) = call(|e| unsafe {
            cct_config_set_client_certificate_pem(cfg, buf.as_ptr(), buf.len(), buf.as_ptr(), buf.len(), e)
        });
        assert!(matches!(s, CCT_STATUS_OK | CCT_STATUS_CONFIG), "client_certificate_pem: status {s}");
        assert_eq!(build(cfg), CCT_STATUS_CONFIG, "client_certificate_pem: refused");
    }
}
