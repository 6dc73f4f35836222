//! Authorization server metadata (RFC 8414 / OpenID Discovery) checked against the configured
//! issuer, with several credential set-ups. Besides "never panics": a chosen token endpoint is
//! HTTPS (or http on loopback, as configured), and an error message is one bounded line.
#![no_main]

use std::sync::OnceLock;

use cctoken::fuzzing::discovery_metadata;
use cctoken::{AuthMethod, ClientBuilder, PrivateKey};
use libfuzzer_sys::fuzz_target;

/// Issue 8 defect 8 (a foreign `issuer` was quoted verbatim, CR/LF and any length, in the
/// error) is fixed; its reproducer is corpus/discovery/defect8-issuer-with-newline. A switch so
/// a future regression can be parked the same way while it is being fixed.
const SERVER_TEXT_BOUNDED: bool = true;

const ISSUERS: [&str; 3] =
    ["https://as.example.com/tenant", "https://as.example.com", "http://127.0.0.1:8080/realms/x"];

fn key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate_es256().expect("key generation")).clone()
}

fuzz_target!(|data: &[u8]| {
    let [setup, rest @ ..] = data else { return };
    let issuer = ISSUERS[usize::from(setup >> 4) % ISSUERS.len()];
    let b = ClientBuilder::default().issuer(issuer).client_id("fuzz-client");
    let b = match setup & 0x0f {
        0 => b.client_secret("Fz-s3cret-v4lue"),
        1 => b.client_secret("Fz-s3cret-v4lue").auth_method(AuthMethod::ClientSecretPost),
        2 => b.client_secret("Fz-s3cret-v4lue").auth_method(AuthMethod::ClientSecretJwt),
        3 => b.private_key(key()),
        4 => b.private_key(key()).client_secret("Fz-s3cret-v4lue"),
        5 => b.auth_method(AuthMethod::None),
        _ => b,
    };
    match discovery_metadata(b, rest) {
        Ok((token_url, _method)) => {
            let u = url::Url::parse(&token_url).expect("the chosen endpoint is a URL");
            let loopback = match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            assert!(u.scheme() == "https" || (u.scheme() == "http" && loopback), "insecure endpoint {token_url}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains("Fz-s3cret-v4lue"), "secret in error message");
            if SERVER_TEXT_BOUNDED {
                assert!(!msg.contains(['\n', '\r']), "error message spans lines");
                assert!(msg.chars().count() <= 1024, "error message of {} chars", msg.chars().count());
            }
        }
    }
});
