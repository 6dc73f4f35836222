//! Provider credentials (issue 12): a Google service-account key file, a PKCS#12 (PFX) file, a
//! certificate chain for the assertion key, a federated assertion file. Besides "never panics":
//! a refusal is a one-line, bounded configuration error that quotes no key material, and an
//! accepted assertion file is a compact JWS with an `exp` still ahead.
#![no_main]

use cctoken::{AuthMethod, ClientBuilder, Error, Thumbprint};
use libfuzzer_sys::fuzz_target;

// Before the seed assertion's `exp`, so the committed seed takes the accepting path.
const NOW: u64 = 1_700_000_000;

fn builder() -> ClientBuilder {
    ClientBuilder::default().token_url("http://127.0.0.1:1/token").client_id("fuzz-client")
}

fn check_error(e: &Error) {
    let msg = e.to_string();
    assert!(!msg.contains(['\n', '\r']), "error message spans lines");
    assert!(msg.chars().count() <= 1024, "error message of {} chars: {:.300}", msg.chars().count(), msg);
    assert!(!msg.contains("PRIVATE KEY-----") && !msg.contains("Fz-pfx-pa55"), "key material in the message");
}

fn check_build(b: ClientBuilder) {
    if let Err(e) = b.build() {
        check_error(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    match mode % 4 {
        0 => {
            if let Ok(json) = std::str::from_utf8(rest) {
                check_build(ClientBuilder::default().service_account_json(json).scope("fuzz"));
            }
        }
        1 => check_build(builder().pkcs12_der(rest, "Fz-pfx-pa55").auth_method(AuthMethod::PrivateKeyJwt)),
        2 => {
            // Two PEM buffers: a little-endian u16 length for the chain, then chain and key.
            let [lo, hi, pems @ ..] = rest else { return };
            let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(pems.len());
            let (chain, key) = pems.split_at(n);
            check_build(
                builder()
                    .private_key_pem(key)
                    .assertion_certificate_pem(chain)
                    .thumbprint(Thumbprint::Both)
                    .x5c(true)
                    .auth_method(AuthMethod::PrivateKeyJwt),
            );
        }
        _ => match cctoken::fuzzing::federated_assertion(rest, NOW) {
            Ok(jwt) => {
                assert_eq!(jwt.split('.').count(), 3, "accepted a non-JWS");
                assert_eq!(jwt, jwt.trim(), "surrounding whitespace kept");
            }
            Err(e) => {
                check_error(&e);
                assert!(e.to_string().contains("/fuzz/assertion-file"), "error does not name the file: {e}");
            }
        },
    }
});
