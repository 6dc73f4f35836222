//! Key and certificate input: private keys as PEM or JWK, a TLS client certificate chain with
//! its key, root CA PEM, the DPoP key. Besides "never panics": a parsed key yields a public JWK,
//! and a refusal is a one-line, bounded configuration error.
#![no_main]

use cctoken::{AuthMethod, ClientBuilder, Error, PrivateKey};
use libfuzzer_sys::fuzz_target;

fn builder() -> ClientBuilder {
    ClientBuilder::default().token_url("http://127.0.0.1:1/token").client_id("fuzz-client")
}

fn check_key(k: Result<PrivateKey, Error>) {
    match k {
        Ok(k) => {
            let jwk = k.public_jwk();
            assert!(jwk.get("kty").is_some_and(|v| v.is_string()), "public JWK without kty");
            assert!(jwk.get("d").is_none(), "public JWK carries the private part");
            assert_eq!(k.jwk_thumbprint().len(), 43, "SHA-256 thumbprint, base64url");
            let _ = (k.default_alg(), format!("{k:?}"));
        }
        Err(e) => check_error(&e),
    }
}

fn check_error(e: &Error) {
    let msg = e.to_string();
    assert!(!msg.contains(['\n', '\r']), "error message spans lines");
    assert!(msg.chars().count() <= 1024, "error message of {} chars: {:.300}", msg.chars().count(), msg);
    assert!(!msg.contains("PRIVATE KEY-----") && !msg.contains("\"d\""), "key material in the message");
}

fn check_build(b: ClientBuilder) {
    if let Err(e) = b.build() {
        check_error(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    match mode % 6 {
        0 => check_key(PrivateKey::from_pem(rest)),
        1 => {
            if let Ok(jwk) = std::str::from_utf8(rest) {
                check_key(PrivateKey::from_jwk(jwk));
            }
        }
        2 => {
            // Two PEM buffers: a little-endian u16 length for the chain, then chain and key.
            let [lo, hi, pems @ ..] = rest else { return };
            let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(pems.len());
            let (chain, key) = pems.split_at(n);
            check_build(builder().client_certificate_pem(chain, key).auth_method(AuthMethod::TlsClientAuth));
        }
        3 => check_build(builder().client_secret("Fz-s3cret-v4lue").root_ca_pem(rest.to_vec())),
        4 => check_build(builder().client_secret("Fz-s3cret-v4lue").dpop_key_pem(rest)),
        _ => check_build(builder().private_key_pem(rest).auth_method(AuthMethod::PrivateKeyJwt)),
    }
});
