//! The provider features of issue 12 against the dev server's stand-ins (`--providers-dir`):
//! Microsoft Entra ID (client secret, certificate with x5t / x5t#S256 / x5c, PKCS#12, federated
//! assertion files) and Google service accounts (jwt-bearer grant). The stand-ins verify what
//! the providers document (see dev-server/tests/providers.rs); `/_dev/last-assertion` shows the
//! decoded header and claims of the last assertion they received.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use base64::Engine as _;
use cctoken::{AuthMethod, Client, ClientBuilder, Error, EventKind, GrantType, Secret, SigningAlg, Thumbprint};
use serde_json::Value;

use common::DevServer;

/// A dev server with provider stand-ins, its manifest, and a scratch directory (removed on drop).
struct Providers {
    server: DevServer,
    dir: PathBuf,
    m: Value,
    agent: ureq::Agent,
}

impl Providers {
    fn start() -> Providers {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cctoken-core-providers-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let server = DevServer::with_args(&["--quiet", "--providers-dir", dir.to_str().unwrap()]);
        // The banner comes after the fixtures are written.
        let m = serde_json::from_slice(&std::fs::read(dir.join("providers.json")).unwrap()).unwrap();
        Providers { server, dir, m, agent: common::control_agent(None) }
    }

    /// A string of the manifest by JSON pointer.
    fn s(&self, pointer: &str) -> String {
        self.m.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("manifest {pointer}")).to_string()
    }

    fn read(&self, pointer: &str) -> Vec<u8> {
        std::fs::read(self.s(pointer)).unwrap()
    }

    fn get(&self, url: &str) -> (u16, String) {
        let mut resp = self.agent.get(url).call().expect("GET");
        (resp.status().as_u16(), resp.body_mut().read_to_string().expect("body"))
    }

    fn last_assertion(&self) -> Value {
        let (status, body) = self.get(&self.s("/last_assertion"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A JWT from the federation issuer for the federated client, valid for `ttl` seconds
    /// (negative: already expired).
    fn federated_token(&self, ttl: i64) -> String {
        let (status, body) = self.get(&format!("{}?ttl={ttl}", self.s("/federation/token_endpoint")));
        assert_eq!(status, 200, "{body}");
        body.trim().to_string()
    }

    fn entra(&self, client: &str) -> ClientBuilder {
        Client::builder()
            .token_url(self.s("/entra/token_url"))
            .client_id(self.s(&format!("/entra/{client}/client_id")))
            .scope(self.s("/entra/scope"))
    }

    fn cert_client(&self) -> ClientBuilder {
        self.entra("cert_client").private_key_pem(self.read("/entra/cert_client/key_pem"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Providers {
    fn drop(&mut self) {
        let _ = &self.server;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The DER certificates of a PEM chain.
fn pem_chain(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    CertificateDer::pem_slice_iter(pem).map(|c| c.unwrap().to_vec()).collect()
}

/// Writes `content` to `path` through a rename, as Kubernetes swaps a projected token.
fn rotate(path: &Path, content: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn config_error(e: &Error) -> (&'static str, String) {
    match e {
        Error::Config { field, reason } => (field, reason.clone()),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn entra_client_secret() {
    let p = Providers::start();
    let client = p
        .entra("secret_client")
        .client_secret(p.s("/entra/secret_client/client_secret"))
        .auth_method(AuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    let token = client.token().unwrap();
    assert_eq!(token.token_type(), "Bearer");
    assert_eq!(token.access_token().split('.').count(), 3, "Entra access tokens are JWTs");
}

#[test]
fn entra_certificate_x5t_with_rs256() {
    let p = Providers::start();
    let client = p.cert_client().assertion_certificate_pem(p.read("/entra/cert_client/cert_pem")).build().unwrap();
    assert!(!client.token().unwrap().access_token().is_empty());
    let a = p.last_assertion();
    let h = &a["header"];
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["x5t"].as_str().unwrap(), p.s("/entra/cert_client/x5t"));
    assert!(h.get("x5t#S256").is_none() && h.get("x5c").is_none(), "{h}");
    let c = &a["claims"];
    let id = p.s("/entra/cert_client/client_id");
    assert_eq!((c["iss"].as_str().unwrap(), c["sub"].as_str().unwrap()), (id.as_str(), id.as_str()));
    assert_eq!(c["aud"].as_str().unwrap(), p.s("/entra/token_url"));
    assert!(c["jti"].is_string() && c["nbf"].is_u64() && c["iat"].is_u64() && c["exp"].is_u64(), "{c}");
    assert_eq!(a["form"]["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
}

#[test]
fn entra_certificate_x5t_s256_with_ps256() {
    let p = Providers::start();
    let client = p
        .cert_client()
        .assertion_certificate_pem(p.read("/entra/cert_client/cert_pem"))
        .thumbprint(Thumbprint::Sha256)
        .signing_alg(SigningAlg::PS256)
        .build()
        .unwrap();
    client.token().unwrap();
    let h = &p.last_assertion()["header"];
    assert_eq!(h["alg"], "PS256");
    assert_eq!(h["x5t#S256"].as_str().unwrap(), p.s("/entra/cert_client/x5t_s256"));
    assert!(h.get("x5t").is_none(), "{h}");
}

#[test]
fn entra_certificate_both_thumbprints_and_x5c_chain() {
    let p = Providers::start();
    let pem = p.read("/entra/cert_client/cert_pem");
    let client =
        p.cert_client().assertion_certificate_pem(&pem).thumbprint(Thumbprint::Both).x5c(true).build().unwrap();
    client.token().unwrap();
    let h = &p.last_assertion()["header"];
    assert_eq!(h["x5t"].as_str().unwrap(), p.s("/entra/cert_client/x5t"));
    assert_eq!(h["x5t#S256"].as_str().unwrap(), p.s("/entra/cert_client/x5t_s256"));
    let chain = pem_chain(&pem);
    assert!(chain.len() >= 2, "the fixture is leaf + issuer");
    let x5c: Vec<Vec<u8>> = h["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| base64::engine::general_purpose::STANDARD.decode(c.as_str().unwrap()).expect("standard base64"))
        .collect();
    assert_eq!(x5c, chain, "x5c is the chain, leaf first, standard base64 DER");

    // x5c alone (no thumbprint) identifies the certificate too.
    let client =
        p.cert_client().assertion_certificate_pem(&pem).thumbprint(Thumbprint::None).x5c(true).build().unwrap();
    client.token().unwrap();
    let h = &p.last_assertion()["header"];
    assert!(h.get("x5t").is_none() && h.get("x5t#S256").is_none() && h["x5c"].is_array(), "{h}");
}

#[test]
fn entra_pkcs12_with_and_without_password() {
    let p = Providers::start();
    let password = p.s("/entra/cert_client/pfx_password");
    let client = p
        .entra("cert_client")
        .pkcs12_file(p.s("/entra/cert_client/pfx"), Secret::new(password.clone()))
        .build()
        .unwrap();
    client.token().unwrap();
    assert_eq!(p.last_assertion()["header"]["x5t"].as_str().unwrap(), p.s("/entra/cert_client/x5t"));

    let der = p.read("/entra/cert_client/pfx_no_password");
    let client = p.entra("cert_client").pkcs12_der(&der, "").thumbprint(Thumbprint::Sha256).build().unwrap();
    client.token().unwrap();
    assert_eq!(p.last_assertion()["header"]["x5t#S256"].as_str().unwrap(), p.s("/entra/cert_client/x5t_s256"));

    // A wrong password: a configuration error naming pkcs12, and never either password.
    let builder = p.entra("cert_client").pkcs12_file(p.s("/entra/cert_client/pfx"), "Wrong-Password-123");
    let debug = format!("{builder:?}");
    assert!(!debug.contains("Wrong-Password-123"), "{debug}");
    let e = builder.build().unwrap_err();
    let (field, reason) = config_error(&e);
    assert_eq!(field, "pkcs12");
    assert!(reason.contains("wrong password"), "{reason}");
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains("Wrong-Password-123") && !text.contains(&password), "{text}");
    }

    // PKCS#12 and a separate key are one credential too many.
    let e =
        p.cert_client().pkcs12_file(p.s("/entra/cert_client/pfx"), Secret::new(password.clone())).build().unwrap_err();
    assert_eq!(config_error(&e).0, "pkcs12");
}

#[test]
fn entra_unregistered_certificate_is_refused_with_the_aadsts_code() {
    let p = Providers::start();
    // A different certificate for the same key: it matches the key, but Entra does not know it.
    let client = p
        .cert_client()
        .assertion_certificate_pem(p.read("/entra/cert_client/unregistered_cert_pem"))
        .failure_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    match client.token().unwrap_err() {
        Error::OAuth(e) => {
            assert_eq!(e.error, "invalid_client");
            let text = e.to_string();
            assert!(text.contains("AADSTS700027"), "the AADSTS code is surfaced: {text}");
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[test]
fn entra_refuses_an_assertion_valid_for_longer_than_it_allows() {
    let p = Providers::start();
    // Entra: "keep it short - 5-10 minutes after nbf at most" (certificate-credentials).
    let client = p
        .cert_client()
        .assertion_certificate_pem(p.read("/entra/cert_client/cert_pem"))
        .assertion_lifetime(Duration::from_secs(3600))
        .build()
        .unwrap();
    match client.token().unwrap_err() {
        Error::OAuth(e) => {
            assert_eq!((e.error.as_str(), e.http_status), ("invalid_client", 401));
            assert!(e.to_string().contains("AADSTS700024"), "{e}");
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[test]
fn a_certificate_of_another_key_is_a_configuration_error() {
    let p = Providers::start();
    let foreign = std::fs::read(p.dir.join("federation-key.pem")).unwrap();
    let e = Client::builder()
        .token_url(p.s("/entra/token_url"))
        .client_id("x")
        .private_key_pem(foreign)
        .assertion_certificate_pem(p.read("/entra/cert_client/cert_pem"))
        .build()
        .unwrap_err();
    let (field, reason) = config_error(&e);
    assert_eq!(field, "assertion_certificate");
    assert!(reason.contains("does not match the private key"), "{reason}");
    // Thumbprint or x5c without a certificate.
    let e = p.cert_client().thumbprint(Thumbprint::Sha1).build().unwrap_err();
    assert_eq!(config_error(&e).0, "thumbprint");
    let e = p.cert_client().x5c(true).build().unwrap_err();
    assert_eq!(config_error(&e).0, "x5c");
}

#[test]
fn federated_assertion_file_is_reread_before_every_request() {
    let p = Providers::start();
    let file = p.path("federated-token");
    let first = p.federated_token(600);
    rotate(&file, &format!("{first}\n"));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let client = p
        .entra("federated_client")
        .client_assertion_file(&file)
        .on_event(move |e| seen.lock().unwrap().push(format!("{e:?}")))
        .build()
        .unwrap();
    let t1 = client.token().unwrap();
    let a = p.last_assertion();
    assert_eq!(a["claims"]["sub"].as_str().unwrap(), p.s("/entra/federated_client/subject"));
    assert_eq!(a["form"]["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let exp1 = a["claims"]["exp"].as_u64().unwrap();

    // The platform rotates the file; the next request sends the new one.
    let second = p.federated_token(1200);
    assert_ne!(first, second);
    rotate(&file, &second);
    client.invalidate(&t1);
    client.token().unwrap();
    let exp2 = p.last_assertion()["claims"]["exp"].as_u64().unwrap();
    assert!(exp2 > exp1 + 300, "the rotated assertion was sent (exp {exp1} then {exp2})");

    // No event carries the assertion.
    let events = events.lock().unwrap();
    let rereads = events.iter().filter(|e| e.contains("assertion file") && e.contains("read again")).count();
    assert_eq!(rereads, 2, "one re-read event per request, naming the assertion file: {events:#?}");
    for e in events.iter() {
        assert!(!e.contains(&first) && !e.contains(&second), "{e}");
    }
}

#[test]
fn expired_or_missing_federated_file_is_an_error_naming_the_path() {
    let p = Providers::start();
    let file = p.path("expired-token");
    let expired = p.federated_token(-120);
    rotate(&file, &expired);
    // The default cool-down: a rotated file ends it (as a changed secret file does).
    let client = p.entra("federated_client").client_assertion_file(&file).build().unwrap();
    let e = client.token().unwrap_err();
    let (field, reason) = config_error(&e);
    assert_eq!(field, "client_assertion_file");
    assert!(reason.contains(&*file.to_string_lossy()) && reason.contains("expired"), "{reason}");
    assert!(!e.to_string().contains(&expired) && !format!("{e:?}").contains(&expired));

    // Within the cool-down, the same error comes back without reading or sending anything...
    assert_eq!(config_error(&client.token().unwrap_err()).0, "client_assertion_file");
    assert_eq!(client.metrics().cooldown_rejections, 1);
    // ...until the platform rotates the file: the same client recovers at once.
    rotate(&file, &p.federated_token(600));
    client.token().unwrap();

    let missing = p.path("no-such-token");
    let client = p.entra("federated_client").client_assertion_file(&missing).build().unwrap();
    let (field, reason) = config_error(&client.token().unwrap_err());
    assert_eq!(field, "client_assertion_file");
    assert!(reason.contains(&*missing.to_string_lossy()), "{reason}");

    // Not a JWT: named by path, never quoted.
    let junk = p.path("junk-token");
    rotate(&junk, "Not-A-Jwt-SECRET-CONTENT");
    let client = p.entra("federated_client").client_assertion_file(&junk).build().unwrap();
    let e = client.token().unwrap_err().to_string();
    assert!(e.contains("junk-token") && !e.contains("SECRET-CONTENT"), "{e}");
}

#[test]
fn federated_file_conflicts_are_configuration_errors() {
    let p = Providers::start();
    let file = p.path("token");
    let base = || p.entra("federated_client").client_assertion_file(&file);
    let cases: Vec<(ClientBuilder, &str)> = vec![
        (base().client_secret("s"), "client_assertion_file"),
        (base().private_key_pem(p.read("/entra/cert_client/key_pem")), "client_assertion_file"),
        (base().cache_dir(p.path("cache")), "client_assertion_file"),
        (base().redis_url("redis://127.0.0.1:6379"), "client_assertion_file"),
        (base().auth_method(AuthMethod::ClientSecretBasic), "auth_method"),
    ];
    for (builder, field) in cases {
        let e = builder.build().unwrap_err();
        assert_eq!(config_error(&e).0, field, "{e}");
    }
}

#[test]
fn google_service_account_file_gets_a_token_with_the_jwt_bearer_grant() {
    let p = Providers::start();
    let sa_path = p.s("/google/service_account_file");
    let sa: Value = serde_json::from_slice(&std::fs::read(&sa_path).unwrap()).unwrap();
    let client = Client::builder().service_account_file(&sa_path).scope(p.s("/google/scope")).build().unwrap();
    assert_eq!(client.client_id(), p.s("/google/client_email"));
    let token = client.token().unwrap();
    assert!(token.access_token().starts_with("ya29."), "a Google-shaped token");
    let a = p.last_assertion();
    assert_eq!(a["header"]["alg"], "RS256");
    assert_eq!(a["header"]["typ"], "JWT");
    assert_eq!(a["header"]["kid"], sa["private_key_id"]);
    let c = &a["claims"];
    assert_eq!(c["iss"].as_str().unwrap(), p.s("/google/client_email"));
    assert_eq!(c["aud"].as_str().unwrap(), p.s("/google/token_url"));
    assert_eq!(c["scope"].as_str().unwrap(), p.s("/google/scope"));
    assert!(c.get("sub").is_none(), "{c}");
    let lifetime = c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap();
    assert!(lifetime <= 3600, "{lifetime}");
    let form = a["form"].as_object().unwrap();
    assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert!(!form.contains_key("scope") && !form.contains_key("client_id"), "{form:?}");

    // The same key as JSON text, with a subject (domain-wide delegation) and an hour-long
    // assertion as google-auth uses; Debug never shows the key.
    let json = std::fs::read_to_string(&sa_path).unwrap();
    let builder = Client::builder()
        .service_account_json(&json)
        .scope(p.s("/google/scope"))
        .subject("user@example.com")
        .assertion_lifetime(Duration::from_secs(3600));
    let debug = format!("{builder:?}");
    assert!(!debug.contains("PRIVATE KEY") && !debug.contains(sa["private_key"].as_str().unwrap()), "{debug}");
    builder.build().unwrap().token().unwrap();
    let c = &p.last_assertion()["claims"];
    assert_eq!(c["sub"], "user@example.com");
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 3600);
}

#[test]
fn service_account_with_a_missing_field_names_it() {
    let p = Providers::start();
    let sa: Value = serde_json::from_slice(&p.read("/google/service_account_file")).unwrap();
    let key = sa["private_key"].as_str().unwrap().to_string();
    for field in ["client_email", "private_key", "private_key_id", "token_uri", "type"] {
        let mut broken = sa.clone();
        broken.as_object_mut().unwrap().remove(field);
        let path = p.path(&format!("sa-without-{field}.json"));
        std::fs::write(&path, broken.to_string()).unwrap();
        let e = Client::builder().service_account_file(&path).scope("s").build().unwrap_err();
        let (name, reason) = config_error(&e);
        assert_eq!(name, "service_account");
        assert!(reason.contains(&format!("`{field}`")) && reason.contains(&*path.to_string_lossy()), "{reason}");
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains("PRIVATE KEY") && !text.contains(&key), "{text}");
        }
    }
    // A client id other than the service account's email is a mistake.
    let e = Client::builder()
        .service_account_file(p.s("/google/service_account_file"))
        .client_id("someone-else")
        .build()
        .unwrap_err();
    assert_eq!(config_error(&e).0, "client_id");
    // subject only goes with jwt-bearer; jwt-bearer needs a key.
    let e = p.entra("secret_client").client_secret("s").subject("u").build().unwrap_err();
    assert_eq!(config_error(&e).0, "subject");
    let e = p.entra("secret_client").grant_type(GrantType::JwtBearer).build().unwrap_err();
    assert_eq!(config_error(&e).0, "private_key");
}

#[test]
fn sixteen_threads_make_one_jwt_bearer_request() {
    let p = Providers::start();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let client = Arc::new(
        Client::builder()
            .service_account_file(p.s("/google/service_account_file"))
            .scope(p.s("/google/scope"))
            .on_event(move |e| {
                if e.kind == EventKind::TokenRequestSucceeded || e.kind == EventKind::TokenRequestFailed {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .unwrap(),
    );
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.token().unwrap().access_token().to_string()
            })
        })
        .collect();
    let tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "every caller got the one token");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "one token request");
    assert_eq!(client.metrics().fetches, 1);
    assert_eq!(p.server.stats()["google_token_requests"].as_u64(), Some(1), "the stand-in saw one request");
}

#[test]
fn secrets_never_appear_in_debug_or_errors() {
    let p = Providers::start();
    let password = p.s("/entra/cert_client/pfx_password");
    let key_pem = String::from_utf8(p.read("/entra/cert_client/key_pem")).unwrap();
    let key_body = key_pem.lines().nth(1).unwrap().to_string();
    let builder = p
        .entra("cert_client")
        .pkcs12_file(p.s("/entra/cert_client/pfx"), Secret::new(password.clone()))
        .x5c(true)
        .thumbprint(Thumbprint::Both);
    let debug = format!("{builder:?}");
    assert!(!debug.contains(&password), "{debug}");
    let client = builder.build().unwrap();
    let token = client.token().unwrap();
    let debug = format!("{client:?} {token:?}");
    assert!(!debug.contains(&password) && !debug.contains(token.access_token()), "{debug}");
    let builder = p.entra("cert_client").private_key_pem(&key_pem).assertion_certificate_pem(&key_pem);
    assert!(!format!("{builder:?}").contains(&key_body));
    let e = builder.build().unwrap_err();
    assert!(!e.to_string().contains(&key_body) && !format!("{e:?}").contains(&key_body), "{e}");
}

#[test]
fn cache_key_covers_certificate_grant_subject_and_assertion_file() {
    let p = Providers::start();
    let key = |b: ClientBuilder| b.build().unwrap().cache_key().to_string();
    let plain = key(p.cert_client());
    let registered = key(p.cert_client().assertion_certificate_pem(p.read("/entra/cert_client/cert_pem")));
    let other = key(p.cert_client().assertion_certificate_pem(p.read("/entra/cert_client/unregistered_cert_pem")));
    assert!(plain != registered && registered != other && plain != other);
    // The same certificate from PEM or PKCS#12 is the same credential.
    let pfx = key(p
        .entra("cert_client")
        .pkcs12_file(p.s("/entra/cert_client/pfx"), Secret::new(p.s("/entra/cert_client/pfx_password"))));
    assert_eq!(pfx, registered);

    let sa = || Client::builder().service_account_file(p.s("/google/service_account_file")).scope("s");
    let bearer = key(sa());
    assert_ne!(bearer, key(sa().subject("alice@example.com")));
    assert_ne!(key(sa().subject("alice@example.com")), key(sa().subject("bob@example.com")));

    let fed = |path: &str| key(p.entra("federated_client").client_assertion_file(p.path(path)));
    assert_eq!(fed("a"), fed("a"));
    assert_ne!(fed("a"), fed("b"));
}
