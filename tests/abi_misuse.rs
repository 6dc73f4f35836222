//! C ABI misuse with huge inputs: a 10 MB value for every string setter and every PEM buffer
//! returns a status (never a panic, never a crash), and `cct_client_new` refuses what is invalid
//! with a one-line error. (NULL and bad UTF-8 are covered by tests/c/test_api.c, and here for
//! the provider setters of issue 12; random bytes by the `ffi_config` fuzz target.)

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
    let setters: [(&str, Setter); 17] = [
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
        ("client_assertion_file", |c, p, e| unsafe { cct_config_set_client_assertion_file(c, p, e) }),
        ("subject", |c, p, e| unsafe { cct_config_set_subject(c, p, e) }),
        ("service_account_file", |c, p, e| unsafe { cct_config_set_service_account_file(c, p, e) }),
        ("service_account_json", |c, p, e| unsafe { cct_config_set_service_account_json(c, p, e) }),
        ("pkcs12_file", |c, p, e| unsafe { cct_config_set_pkcs12_file(c, p, p, e) }),
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

/// `cct_config_set_pkcs12_der` with a password, in the shape of the PEM setters.
unsafe extern "C" fn pkcs12_der_with_password(
    cfg: *mut cct_config,
    der: *const u8,
    len: usize,
    err: *mut *mut cct_error,
) -> cct_status {
    // SAFETY: forwarded from the caller; the password is a NUL-terminated literal.
    unsafe { cct_config_set_pkcs12_der(cfg, der, len, c"misuse-s3cret".as_ptr(), err) }
}

#[test]
fn ten_megabyte_pem_buffers() {
    let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    pem.extend(std::iter::repeat_n(b'A', HUGE));
    let garbage = vec![0xffu8; HUGE];
    for buf in [&pem, &garbage] {
        type PemSetter = unsafe extern "C" fn(*mut cct_config, *const u8, usize, *mut *mut cct_error) -> cct_status;
        let setters: [(&str, PemSetter); 5] = [
            ("root_ca_pem", cct_config_add_root_ca_pem),
            ("private_key_pem", cct_config_set_private_key_pem),
            ("dpop_key_pem", cct_config_set_dpop_key_pem),
            ("assertion_certificate_pem", cct_config_set_assertion_certificate_pem),
            ("pkcs12_der", pkcs12_der_with_password),
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

/// The provider setters (issue 12): NULL handles and arguments, bad UTF-8 and unknown enum
/// values are refused by the setter with the documented status, and leave the config as it was.
#[test]
fn provider_setters_refuse_null_bad_utf8_and_unknown_values() {
    let bad = [0x66u8, 0xff, 0xfe, 0x00];
    let bad = bad.as_ptr().cast::<c_char>();
    let ok = c"x".as_ptr();
    type Setter = fn(*mut cct_config, *const c_char, *mut *mut cct_error) -> cct_status;
    let setters: [(&str, Setter); 7] = [
        ("client_assertion_file", |c, p, e| unsafe { cct_config_set_client_assertion_file(c, p, e) }),
        ("subject", |c, p, e| unsafe { cct_config_set_subject(c, p, e) }),
        ("service_account_file", |c, p, e| unsafe { cct_config_set_service_account_file(c, p, e) }),
        ("service_account_json", |c, p, e| unsafe { cct_config_set_service_account_json(c, p, e) }),
        ("pkcs12_file path", |c, p, e| unsafe { cct_config_set_pkcs12_file(c, p, c"pw".as_ptr(), e) }),
        ("pkcs12_file password", |c, p, e| unsafe {
            if p.is_null() { CCT_STATUS_NULL_ARGUMENT } else { cct_config_set_pkcs12_file(c, c"f".as_ptr(), p, e) }
        }),
        ("pkcs12_der password", |c, p, e| unsafe {
            if p.is_null() { CCT_STATUS_NULL_ARGUMENT } else { cct_config_set_pkcs12_der(c, b"x".as_ptr(), 1, p, e) }
        }),
    ];
    for (name, set) in setters {
        let cfg = config();
        assert_eq!(call(|e| set(ptr::null_mut(), ok, e)).0, CCT_STATUS_NULL_ARGUMENT, "{name}: NULL cfg");
        assert_eq!(call(|e| set(cfg, ptr::null(), e)).0, CCT_STATUS_NULL_ARGUMENT, "{name}: NULL argument");
        let (s, msg) = call(|e| set(cfg, bad, e));
        assert_eq!(s, CCT_STATUS_INVALID_UTF8, "{name}: bad UTF-8 ({msg})");
        // Nothing was applied: the config still builds (it has a secret and a token URL).
        assert_eq!(build(cfg), CCT_STATUS_OK, "{name}: a refused setter changed the config");
    }

    // A NULL password is "no password"; a NULL buffer is not.
    let cfg = config();
    // SAFETY: a live config; NULL password allowed; NULL buffers refused before any read.
    unsafe {
        assert_eq!(call(|e| cct_config_set_pkcs12_file(cfg, c"f.pfx".as_ptr(), ptr::null(), e)).0, CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_pkcs12_der(cfg, b"x".as_ptr(), 1, ptr::null(), e)).0, CCT_STATUS_OK);
        assert_eq!(
            call(|e| cct_config_set_pkcs12_der(cfg, ptr::null(), 0, ptr::null(), e)).0,
            CCT_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            call(|e| cct_config_set_assertion_certificate_pem(cfg, ptr::null(), 0, e)).0,
            CCT_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            call(|e| cct_config_set_assertion_certificate_pem(ptr::null_mut(), b"x".as_ptr(), 1, e)).0,
            CCT_STATUS_NULL_ARGUMENT
        );
        assert_eq!(call(|e| cct_config_set_x5c(ptr::null_mut(), true, e)).0, CCT_STATUS_NULL_ARGUMENT);
    }
    // The last pkcs12 setter won: a one-byte "file" with a secret configured is a CONFIG error.
    assert_eq!(build(cfg), CCT_STATUS_CONFIG);

    // Unknown enum values: INVALID_ARGUMENT at the setter, config unchanged.
    let cfg = config();
    // SAFETY: a live config (and NULL for the handle checks).
    unsafe {
        for v in [4, 5, u32::MAX] {
            let (s, msg) = call(|e| cct_config_set_thumbprint(cfg, v, e));
            assert_eq!(s, CCT_STATUS_INVALID_ARGUMENT, "thumbprint {v}: {msg}");
            assert!(msg.contains("thumbprint"), "{msg}");
        }
        for v in [2, 99, u32::MAX] {
            let (s, msg) = call(|e| cct_config_set_grant_type(cfg, v, e));
            assert_eq!(s, CCT_STATUS_INVALID_ARGUMENT, "grant {v}: {msg}");
        }
        assert_eq!(
            call(|e| cct_config_set_thumbprint(ptr::null_mut(), CCT_THUMBPRINT_X5T, e)).0,
            CCT_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            call(|e| cct_config_set_grant_type(ptr::null_mut(), CCT_GRANT_JWT_BEARER, e)).0,
            CCT_STATUS_NULL_ARGUMENT
        );
    }
    assert_eq!(build(cfg), CCT_STATUS_OK, "refused enum values changed the config");

    // Valid values are taken, and their misuse surfaces at cct_client_new as CONFIG.
    for set in [
        (|c, e| unsafe { cct_config_set_thumbprint(c, CCT_THUMBPRINT_X5T_S256, e) }) as fn(_, _) -> _,
        |c, e| unsafe { cct_config_set_x5c(c, true, e) },
        |c, e| unsafe { cct_config_set_grant_type(c, CCT_GRANT_JWT_BEARER, e) },
        |c, e| unsafe { cct_config_set_subject(c, c"user@example.com".as_ptr(), e) },
        |c, e| unsafe { cct_config_set_client_assertion_file(c, c"/nonexistent/token".as_ptr(), e) },
        |c, e| unsafe { cct_config_set_service_account_json(c, c"{\"type\":\"service_account\"}".as_ptr(), e) },
    ] {
        let cfg = config();
        assert_eq!(call(|e| set(cfg, e)).0, CCT_STATUS_OK);
        assert_eq!(build(cfg), CCT_STATUS_CONFIG);
    }
    // THUMBPRINT_NONE and GRANT_CLIENT_CREDENTIALS are the defaults' spelling: accepted as is.
    let cfg = config();
    // SAFETY: a live config.
    unsafe {
        assert_eq!(call(|e| cct_config_set_thumbprint(cfg, CCT_THUMBPRINT_NONE, e)).0, CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_grant_type(cfg, CCT_GRANT_CLIENT_CREDENTIALS, e)).0, CCT_STATUS_OK);
        assert_eq!(call(|e| cct_config_set_x5c(cfg, false, e)).0, CCT_STATUS_OK);
    }
    assert_eq!(build(cfg), CCT_STATUS_OK);
}
