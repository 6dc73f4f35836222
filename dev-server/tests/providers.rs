//! The provider stand-ins of `--providers-dir`: the real binary is started with a fresh
//! directory, and each stand-in is driven with hand-built requests (assertions signed here with
//! ring). Every check cites the document it comes from; where a code or text is the service's
//! observed answer rather than documented, the comment says so (see also the notes in
//! dev-server/src/providers/entra.rs).
//!
//! Documents cited:
//! [CC]   https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//! [CERT] https://learn.microsoft.com/entra/identity-platform/certificate-credentials
//! [WIF]  https://learn.microsoft.com/entra/workload-id/workload-identity-federation
//!        (and its troubleshooting section / "workload identity federation considerations")
//! [ERR]  https://learn.microsoft.com/entra/identity-platform/reference-error-codes
//! [GSA]  https://developers.google.com/identity/protocols/oauth2/service-account
//!        ("Preparing to make an authorized API call", HTTP/REST)
//! [7523] https://www.rfc-editor.org/rfc/rfc7523 (JWT profile), [7515] RFC 7515 (x5t, x5t#S256, x5c)

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use ureq::Agent;
use ureq::http::Response;

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A dev server with `--providers-dir` in a fresh directory; killed and cleaned up on drop.
struct Providers {
    child: Child,
    base: String,
    dir: PathBuf,
    agent: Agent,
    m: Value,
    /// The certificate and Google keys, parsed once (ring validates a key on every parse).
    cert_key: OnceLock<RsaKeyPair>,
    google_key: OnceLock<RsaKeyPair>,
}

impl Providers {
    fn start() -> Providers {
        Providers::start_with(&["--quiet"], Stdio::inherit())
    }

    fn start_with(args: &[&str], stderr: Stdio) -> Providers {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cctoken-providers-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_cctoken-dev-server"))
            .args(["--addr", "127.0.0.1:0", "--exit-on-stdin-eof"])
            .args(args)
            .arg("--providers-dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start cctoken-dev-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read first line");
        let base = line.trim().strip_prefix("cctoken-dev-server listening on ").expect("listening line").to_string();
        // The listening line comes after the fixtures are written.
        let m: Value = serde_json::from_slice(&fs::read(dir.join("providers.json")).expect("providers.json")).unwrap();
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Providers { child, base, dir, agent, m, cert_key: OnceLock::new(), google_key: OnceLock::new() }
    }

    fn s(&self, pointer: &str) -> String {
        self.m.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("manifest {pointer}")).to_string()
    }

    fn post(&self, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
        json(self.agent.post(url).send_form(form.iter().copied()).expect("POST"))
    }

    fn get(&self, url: &str) -> (u16, Value) {
        json(self.agent.get(url).call().expect("GET"))
    }

    fn get_text(&self, url: &str) -> String {
        let mut response = self.agent.get(url).call().expect("GET");
        assert_eq!(response.status(), 200, "{url}");
        response.body_mut().read_to_string().unwrap()
    }

    fn entra(&self, form: &[(&str, &str)]) -> (u16, Value) {
        self.post(&self.s("/entra/token_url"), form)
    }

    /// A client-credentials request with a client assertion for `client_id`.
    fn entra_assertion(&self, client_id: &str, assertion: &str) -> (u16, Value) {
        let scope = self.s("/entra/scope");
        self.entra(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", &scope),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
        ])
    }

    fn google(&self, form: &[(&str, &str)]) -> (u16, Value) {
        self.post(&self.s("/google/token_url"), form)
    }

    fn google_assertion(&self, assertion: &str) -> (u16, Value) {
        self.google(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
    }

    fn key(&self, pointer_or_path: &str) -> RsaKeyPair {
        let path = if pointer_or_path.starts_with('/') && !Path::new(pointer_or_path).exists() {
            self.s(pointer_or_path)
        } else {
            pointer_or_path.to_string()
        };
        let der = PrivatePkcs8KeyDer::from_pem_file(&path).expect("PKCS#8 PEM");
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).expect("RSA key")
    }

    fn cert_key(&self) -> &RsaKeyPair {
        self.cert_key.get_or_init(|| self.key("/entra/cert_client/key_pem"))
    }

    fn google_sa(&self) -> Value {
        serde_json::from_slice(&fs::read(self.s("/google/service_account_file")).unwrap()).unwrap()
    }

    fn google_key(&self) -> &RsaKeyPair {
        self.google_key.get_or_init(|| self.parse_google_key())
    }

    fn parse_google_key(&self) -> RsaKeyPair {
        let pem = self.google_sa()["private_key"].as_str().unwrap().to_string();
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).expect("PKCS#8 PEM");
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap()
    }

    /// A certificate assertion that the stand-in accepts; `edit` changes header and claims.
    fn cert_assertion(&self, alg: &str, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
        let id = self.s("/entra/cert_client/client_id");
        let now = now();
        let mut header = json!({"alg": alg, "typ": "JWT", "x5t": self.s("/entra/cert_client/x5t")});
        let mut claims = json!({
            "aud": self.s("/entra/token_url"), "iss": id, "sub": id, "jti": jti(),
            "nbf": now, "iat": now, "exp": now + 300,
        });
        edit(&mut header, &mut claims);
        sign(alg, self.cert_key(), &header, &claims)
    }

    fn google_jwt(&self, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
        let sa = self.google_sa();
        let now = now();
        let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": sa["private_key_id"]});
        let mut claims = json!({
            "iss": sa["client_email"], "scope": self.s("/google/scope"), "aud": sa["token_uri"],
            "iat": now, "exp": now + 3600,
        });
        edit(&mut header, &mut claims);
        sign("RS256", self.google_key(), &header, &claims)
    }

    fn last_assertion(&self) -> Value {
        let (status, body) = self.get(&self.s("/last_assertion"));
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for Providers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn json(mut response: Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn jti() -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(alg: &str, key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let padding: &dyn signature::RsaEncoding = match alg {
        "PS256" => &signature::RSA_PSS_SHA256,
        _ => &signature::RSA_PKCS1_SHA256,
    };
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn decode_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).expect("JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn thumbprints(pem_path: &str) -> (Vec<u8>, String, String) {
    let der = CertificateDer::pem_file_iter(pem_path).unwrap().next().unwrap().unwrap().to_vec();
    let x5t = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der));
    let x5t_s256 = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der));
    (der, x5t, x5t_s256)
}

/// Entra's error answer ([ERR] "Handling error codes in your application": error,
/// error_description "AADSTSnnnn: ... Trace ID ... Correlation ID ... Timestamp", error_codes,
/// timestamp, trace_id, correlation_id, error_uri).
#[track_caller]
fn assert_aadsts(answer: &(u16, Value), status: u16, error: &str, code: u64) {
    let (got, body) = answer;
    assert_eq!((*got, body["error"].as_str()), (status, Some(error)), "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    for part in ["Trace ID: ", "Correlation ID: ", "Timestamp: "] {
        assert!(description.contains(part), "{description}");
    }
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{body}");
    }
    assert!(body["error_uri"].as_str().unwrap().ends_with(&format!("/error?code={code}")));
}

/// Google's error answer: HTTP 400, `error` and Google's `error_description` text.
#[track_caller]
fn assert_google(answer: &(u16, Value), error: &str, description: &str) {
    let (status, body) = answer;
    assert_eq!((*status, body["error"].as_str()), (400, Some(error)), "{body}");
    assert_eq!(body["error_description"].as_str(), Some(description), "{body}");
}

/// Verifies an RS256 JWT against a JWKS document (RFC 7517) and returns its claims.
fn verify_with_jwks(token: &str, jwks: &Value) -> Value {
    let kid = decode_part(token, 0)["kid"].as_str().unwrap().to_string();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("kid in JWKS");
    let b64 = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    RsaPublicKeyComponents { n: b64("n"), e: b64("e") }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .expect("signature verifies with the JWKS key");
    decode_part(token, 1)
}

#[test]
fn fixtures_and_manifest() {
    let p = Providers::start();
    // Every path absolute, every file there and private (0600).
    for pointer in [
        "/entra/cert_client/key_pem",
        "/entra/cert_client/cert_pem",
        "/entra/cert_client/pfx",
        "/entra/cert_client/pfx_no_password",
        "/entra/cert_client/unregistered_cert_pem",
        "/google/service_account_file",
    ] {
        let path = PathBuf::from(p.s(pointer));
        assert!(path.is_absolute(), "{pointer}");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{pointer}");
    }
    assert_eq!(fs::metadata(p.dir.join("providers.json")).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(p.s("/entra/token_url").starts_with(&p.base));
    assert_eq!(p.s("/entra/token_url"), format!("{}/{}/oauth2/v2.0/token", p.base, p.s("/entra/tenant")));
    assert_eq!(p.s("/entra/issuer"), format!("{}/{}/v2.0", p.base, p.s("/entra/tenant")));

    // [7515] 4.1.7 / 4.1.8: x5t and x5t#S256 are base64url SHA-1 / SHA-256 of the DER leaf.
    let cert_pem = p.s("/entra/cert_client/cert_pem");
    let chain: Vec<_> = CertificateDer::pem_file_iter(&cert_pem).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(chain.len(), 2, "leaf, then the CA");
    let (leaf, x5t, x5t_s256) = thumbprints(&cert_pem);
    assert_eq!((x5t.clone(), x5t_s256), (p.s("/entra/cert_client/x5t"), p.s("/entra/cert_client/x5t_s256")));
    let (_, other_x5t, _) = thumbprints(&p.s("/entra/cert_client/unregistered_cert_pem"));
    assert_ne!(other_x5t, x5t, "the unregistered certificate has another thumbprint");

    // PKCS#12: key + chain, with the password and with the empty one; a wrong password fails.
    let pfx = fs::read(p.s("/entra/cert_client/pfx")).unwrap();
    let store = KeyStore::from_pkcs12(&pfx, &p.s("/entra/cert_client/pfx_password"), Pkcs12ImportPolicy::Relaxed)
        .expect("PFX opens with its password");
    let (_, keychain) = store.private_key_chain().expect("a key with its chain");
    assert_eq!(keychain.certs().len(), 2);
    assert_eq!(keychain.certs()[0].as_der(), leaf.as_slice());
    let key_der = PrivatePkcs8KeyDer::from_pem_file(p.s("/entra/cert_client/key_pem")).unwrap();
    assert_eq!(keychain.key().as_der(), key_der.secret_pkcs8_der());
    assert!(KeyStore::from_pkcs12(&pfx, "wrong", Pkcs12ImportPolicy::Relaxed).is_err());
    let nopass = fs::read(p.s("/entra/cert_client/pfx_no_password")).unwrap();
    assert!(KeyStore::from_pkcs12(&nopass, "", Pkcs12ImportPolicy::Relaxed).unwrap().private_key_chain().is_some());

    // [GSA] "Creating a service account" → the JSON key file's fields.
    let sa = p.google_sa();
    for field in [
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "auth_uri",
        "token_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
        "universe_domain",
    ] {
        assert!(sa[field].as_str().is_some_and(|v| !v.is_empty()), "{field}");
    }
    assert_eq!(sa["type"], "service_account");
    assert_eq!(sa["token_uri"].as_str().unwrap(), p.s("/google/token_url"));
    assert_eq!(sa["client_email"].as_str().unwrap(), p.s("/google/client_email"));
    assert!(sa["private_key"].as_str().unwrap().starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(sa["private_key_id"].as_str().unwrap().len(), 40);

    // A second start generates different keys.
    let q = Providers::start();
    assert_ne!(q.s("/entra/cert_client/x5t"), x5t);
    assert_ne!(q.google_sa()["private_key"], sa["private_key"]);
}

#[test]
fn discovery_documents_and_last_assertion_before_any() {
    let p = Providers::start();
    let tenant = p.s("/entra/tenant");
    let (status, meta) = p.get(&format!("{}/{tenant}/v2.0/.well-known/openid-configuration", p.base));
    assert_eq!(status, 200);
    assert_eq!(meta["token_endpoint"].as_str().unwrap(), p.s("/entra/token_url"));
    assert_eq!(meta["issuer"].as_str().unwrap(), p.s("/entra/issuer"));
    assert!(meta["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("private_key_jwt")));
    assert_eq!(p.get(meta["jwks_uri"].as_str().unwrap()).0, 200);

    let issuer = p.s("/federation/issuer");
    let (status, meta) = p.get(&format!("{issuer}/.well-known/openid-configuration"));
    assert_eq!((status, meta["issuer"].as_str()), (200, Some(issuer.as_str())));
    let (status, jwks) = p.get(meta["jwks_uri"].as_str().unwrap());
    assert_eq!(status, 200);
    let token = p.get_text(&p.s("/federation/token_endpoint"));
    let claims = verify_with_jwks(&token, &jwks);
    assert_eq!(claims["iss"].as_str(), Some(issuer.as_str()));
    assert_eq!(claims["sub"].as_str().unwrap(), p.s("/entra/federated_client/subject"));
    assert_eq!(claims["aud"].as_str().unwrap(), p.s("/entra/federated_client/audience"));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600, "default ttl 1 h");
    let custom = p.get_text(&format!("{}?ttl=-30&sub=other&aud=elsewhere", p.s("/federation/token_endpoint")));
    let claims = verify_with_jwks(&custom, &jwks);
    assert_eq!((claims["sub"].as_str(), claims["aud"].as_str()), (Some("other"), Some("elsewhere")));
    assert!(claims["exp"].as_i64().unwrap() < now(), "a negative ttl is already expired");
    assert_eq!(p.get(&format!("{}?ttl=soon", p.s("/federation/token_endpoint"))).0, 400);

    let (status, _) = p.get(&p.s("/last_assertion"));
    assert_eq!(status, 404, "nothing received yet");
}

#[test]
fn entra_client_secret_basic_and_post() {
    let p = Providers::start();
    let (id, secret, scope) =
        (p.s("/entra/secret_client/client_id"), p.s("/entra/secret_client/client_secret"), p.s("/entra/scope"));
    // [CC] "First case: Access token request with a shared secret": client_id, scope
    // (RESOURCE/.default), client_secret, grant_type=client_credentials, in the body (post) ...
    let answer = p.entra(&[
        ("client_id", &id),
        ("scope", &scope),
        ("client_secret", &secret),
        ("grant_type", "client_credentials"),
    ]);
    assert_eq!(answer.0, 200, "{}", answer.1);
    // [CC] "Successful response": token_type Bearer, expires_in, access_token (and
    // ext_expires_in, which the service sends).
    let body = &answer.1;
    assert_eq!(
        (body["token_type"].as_str(), &body["expires_in"], &body["ext_expires_in"]),
        (Some("Bearer"), &json!(3599), &json!(3599))
    );
    let token = body["access_token"].as_str().unwrap();
    let jwks = p.get(&format!("{}/{}/discovery/v2.0/keys", p.base, p.s("/entra/tenant"))).1;
    let claims = verify_with_jwks(token, &jwks);
    assert_eq!(claims["aud"], "api://cctoken-demo", "aud = the resource of the .default scope");
    assert_eq!(claims["iss"].as_str().unwrap(), p.s("/entra/issuer"));
    assert_eq!(claims["tid"].as_str().unwrap(), p.s("/entra/tenant"));
    assert_eq!(claims["azp"].as_str(), Some(id.as_str()));
    assert_eq!(claims["azpacr"], "1", "authenticated with a secret");
    assert!(claims.get("roles").is_none(), "no app roles granted");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3599);
    // The token works at the dev server's protected resource.
    let response =
        p.agent.get(format!("{}/resource", p.base)).header("Authorization", format!("Bearer {token}")).call().unwrap();
    assert_eq!(response.status(), 200);

    // ... or with HTTP Basic ([CC]: "you can use HTTP Basic authentication ... (RFC 6749 2.3.1)").
    let basic =
        STANDARD.encode(format!("{id}:{}", form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()));
    let answer = json(
        p.agent
            .post(p.s("/entra/token_url"))
            .header("Authorization", format!("Basic {basic}"))
            .send_form([("grant_type", "client_credentials"), ("scope", scope.as_str())])
            .unwrap(),
    );
    assert_eq!(answer.0, 200, "{}", answer.1);

    // [ERR] AADSTS7000215 "Invalid client secret is provided." → 401 invalid_client.
    let answer = p.entra(&[
        ("client_id", &id),
        ("scope", &scope),
        ("client_secret", "wrong"),
        ("grant_type", "client_credentials"),
    ]);
    assert_aadsts(&answer, 401, "invalid_client", 7000215);
    assert!(!answer.1.to_string().contains(&secret));
    // [ERR] AADSTS700016 UnauthorizedClient_DoesNotMatchRequest: application not found in the directory.
    let answer = p.entra(&[
        ("client_id", "00000000-0000-0000-0000-000000000001"),
        ("scope", &scope),
        ("client_secret", &secret),
        ("grant_type", "client_credentials"),
    ]);
    assert_aadsts(&answer, 400, "unauthorized_client", 700016);
    // [ERR] AADSTS7000218: neither client_secret nor client_assertion.
    let answer = p.entra(&[("client_id", &id), ("scope", &scope), ("grant_type", "client_credentials")]);
    assert_aadsts(&answer, 401, "invalid_client", 7000218);
    // [ERR] AADSTS900561: "The endpoint only accepts {valid_verbs} requests. Received a
    // {invalid_verb} request."
    let answer = p.get(&p.s("/entra/token_url"));
    assert_aadsts(&answer, 400, "invalid_request", 900561);
    // [ERR] AADSTS90002 InvalidTenantName: a tenant the service does not know.
    let answer = p.post(
        &format!("{}/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token", p.base),
        &[("client_id", &id), ("scope", &scope), ("client_secret", &secret), ("grant_type", "client_credentials")],
    );
    assert_aadsts(&answer, 400, "invalid_request", 90002);
}

#[test]
fn entra_scope_and_grant_type_rules() {
    let p = Providers::start();
    let (id, secret) = (p.s("/entra/secret_client/client_id"), p.s("/entra/secret_client/client_secret"));
    let with_scope = |scope: Option<&str>, grant: &str| {
        let mut form = vec![("client_id", id.as_str()), ("client_secret", secret.as_str()), ("grant_type", grant)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        p.entra(&form)
    };
    // [CC] "scope: Required. The value passed for the scope parameter in this request should be
    // the resource identifier (application ID URI) of the resource you want, affixed with the
    // .default suffix." [ERR] AADSTS70011 InvalidScope, invalid_scope (the page's sample answer).
    let answer = with_scope(Some("api://cctoken-demo/read"), "client_credentials");
    assert_aadsts(&answer, 400, "invalid_scope", 70011);
    let description = answer.1["error_description"].as_str().unwrap();
    assert!(description.contains("The provided value for the input parameter 'scope' isn't valid."), "{description}");
    assert_aadsts(&with_scope(Some("api://cctoken-demo"), "client_credentials"), 400, "invalid_scope", 70011);
    // One resource per request: two .default scopes are refused.
    let two = "api://cctoken-demo/.default https://graph.microsoft.com/.default";
    assert_aadsts(&with_scope(Some(two), "client_credentials"), 400, "invalid_scope", 70011);
    // [ERR] AADSTS500011 InvalidResourceServicePrincipalNotFound: a resource not in the tenant.
    assert_aadsts(&with_scope(Some("api://unknown/.default"), "client_credentials"), 400, "invalid_resource", 500011);
    // Missing scope: AADSTS900144 "The request body must contain the following parameter:
    // 'scope'." (the service's text; 900144 is not in the [ERR] table).
    let answer = with_scope(None, "client_credentials");
    assert_aadsts(&answer, 400, "invalid_request", 900144);
    assert!(answer.1["error_description"].as_str().unwrap().contains("'scope'"));
    // [CC] "grant_type: Required. Must be set to client_credentials." [ERR] AADSTS70003
    // UnsupportedGrantType.
    assert_aadsts(&with_scope(Some("api://cctoken-demo/.default"), "password"), 400, "unsupported_grant_type", 70003);
}

#[test]
fn entra_certificate_assertions_succeed() {
    let p = Providers::start();
    let id = p.s("/entra/cert_client/client_id");
    // [CERT] "Assertion format", Header: alg RS256, typ JWT, x5t = base64url SHA-1 thumbprint;
    // Claims: aud = the v2.0 token endpoint, exp, iss = sub = client id, jti, nbf, iat.
    let answer = p.entra_assertion(&id, &p.cert_assertion("RS256", |_, _| {}));
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["expires_in"], 3599);
    let claims = decode_part(answer.1["access_token"].as_str().unwrap(), 1);
    assert_eq!((claims["azp"].as_str(), claims["azpacr"].as_str()), (Some(id.as_str()), Some("2")));

    // /_dev/last-assertion: the decoded header and claims, and the form's parameter names with
    // the assertion itself shown as [present].
    let last = p.last_assertion();
    assert_eq!(last["header"]["x5t"].as_str().unwrap(), p.s("/entra/cert_client/x5t"));
    assert_eq!(last["claims"]["aud"].as_str().unwrap(), p.s("/entra/token_url"));
    assert_eq!(last["form"]["client_assertion"], "[present]");
    assert_eq!(last["form"]["client_assertion_type"], CLIENT_ASSERTION_TYPE);
    assert_eq!(last["endpoint"], "entra");

    // [CERT] Header (current version): alg PS256 with x5t#S256 = base64url SHA-256 thumbprint.
    let ps256 = p.cert_assertion("PS256", |h, _| {
        h.as_object_mut().unwrap().remove("x5t");
        h["x5t#S256"] = json!(p.s("/entra/cert_client/x5t_s256"));
    });
    let answer = p.entra_assertion(&id, &ps256);
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert!(p.last_assertion()["header"].get("x5t").is_none());

    // [7515] 4.1.6 x5c: the chain, base64 DER, leaf first; accepted with or without x5t.
    let chain: Vec<String> = CertificateDer::pem_file_iter(p.s("/entra/cert_client/cert_pem"))
        .unwrap()
        .map(|c| STANDARD.encode(c.unwrap().as_ref()))
        .collect();
    let x5c_only = p.cert_assertion("RS256", |h, _| {
        h.as_object_mut().unwrap().remove("x5t");
        h["x5c"] = json!(chain);
    });
    assert_eq!(p.entra_assertion(&id, &x5c_only).0, 200);
    let both = p.cert_assertion("PS256", |h, _| {
        h["x5t#S256"] = json!(p.s("/entra/cert_client/x5t_s256"));
        h["x5c"] = json!(chain);
    });
    assert_eq!(p.entra_assertion(&id, &both).0, 200);

    // Without nbf (MSAL sends it; the service reports "valid from 1970-01-01" when absent) and
    // with an aud array holding only the token endpoint (RFC 7519 4.1.3).
    let plain = p.cert_assertion("RS256", |_, c| {
        c.as_object_mut().unwrap().remove("nbf");
        c["aud"] = json!([p.s("/entra/token_url")]);
    });
    assert_eq!(p.entra_assertion(&id, &plain).0, 200);
}

#[test]
fn entra_certificate_assertion_failures() {
    let p = Providers::start();
    let id = p.s("/entra/cert_client/client_id");
    let (_, other_x5t, other_x5t_s256) = thumbprints(&p.s("/entra/cert_client/unregistered_cert_pem"));

    // [CERT] x5t names the registered certificate; [ERR] AADSTS700027 ("Client assertion failed
    // signature validation"; the service says "The certificate with identifier used to sign the
    // client assertion is not registered on application") for another certificate of the same key.
    let wrong = p.cert_assertion("RS256", |h, _| h["x5t"] = json!(other_x5t));
    let answer = p.entra_assertion(&id, &wrong);
    assert_aadsts(&answer, 401, "invalid_client", 700027);
    assert!(answer.1["error_description"].as_str().unwrap().contains("not registered on application"));
    let wrong = p.cert_assertion("PS256", |h, _| {
        h.as_object_mut().unwrap().remove("x5t");
        h["x5t#S256"] = json!(other_x5t_s256);
    });
    assert_aadsts(&p.entra_assertion(&id, &wrong), 401, "invalid_client", 700027);
    let none = p.cert_assertion("RS256", |h, _| {
        h.as_object_mut().unwrap().remove("x5t");
    });
    assert_aadsts(&p.entra_assertion(&id, &none), 401, "invalid_client", 700027);

    // [ERR] AADSTS700027 "Client assertion failed signature validation.": the right x5t, signed
    // with another key.
    let good = p.cert_assertion("RS256", |_, _| {});
    let (input, _) = good.rsplit_once('.').unwrap();
    let forged = sign("RS256", p.google_key(), &decode_part(&good, 0), &decode_part(&good, 1));
    assert!(forged.starts_with(input));
    let answer = p.entra_assertion(&id, &forged);
    assert_aadsts(&answer, 401, "invalid_client", 700027);
    assert!(answer.1["error_description"].as_str().unwrap().contains("signature validation"));

    // [CERT] aud: "https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token". The service
    // answers AADSTS700023 "Client assertion audience claim does not match Realm issuer"
    // (observed: AzureAD/microsoft-authentication-library-for-dotnet#2746).
    let wrong_aud = p.cert_assertion("RS256", |_, c| c["aud"] = json!(p.s("/entra/issuer")));
    assert_aadsts(&p.entra_assertion(&id, &wrong_aud), 401, "invalid_client", 700023);

    // [CERT] iss and sub: "{ClientID}" — "Use the GUID application ID." iss != sub is refused
    // (AADSTS700021, the service's code; not in the [ERR] table).
    let iss_not_sub = p.cert_assertion("RS256", |_, c| c["sub"] = json!("someone-else"));
    assert_aadsts(&p.entra_assertion(&id, &iss_not_sub), 401, "invalid_client", 700021);

    // [CERT] jti: unique per assertion; RFC 7519 4.1.7: it "can be used to prevent the JWT from
    // being replayed". The second use is refused (AADSTS50013 InvalidAssertion [ERR]; the replay
    // text is the stand-in's).
    let once = p.cert_assertion("RS256", |_, _| {});
    assert_eq!(p.entra_assertion(&id, &once).0, 200);
    assert_aadsts(&p.entra_assertion(&id, &once), 401, "invalid_client", 50013);
    let no_jti = p.cert_assertion("RS256", |_, c| {
        c.as_object_mut().unwrap().remove("jti");
    });
    assert_aadsts(&p.entra_assertion(&id, &no_jti), 401, "invalid_client", 50027);

    // [CERT] exp: "the expiration time on or after which the JWT must not be accepted";
    // AADSTS700024 "Client assertion is not within its valid time range" (the service's text,
    // e.g. AzureAD/microsoft-authentication-library-for-dotnet#4951).
    let expired = p.cert_assertion("RS256", |_, c| {
        c["nbf"] = json!(now() - 120);
        c["iat"] = json!(now() - 120);
        c["exp"] = json!(now() - 1);
    });
    let answer = p.entra_assertion(&id, &expired);
    assert_aadsts(&answer, 401, "invalid_client", 700024);
    assert!(answer.1["error_description"].as_str().unwrap().contains("not within its valid time range"));
    // [CERT] nbf in the future (beyond a minute of skew).
    let early = p.cert_assertion("RS256", |_, c| {
        c["nbf"] = json!(now() + 600);
        c["exp"] = json!(now() + 900);
    });
    assert_aadsts(&p.entra_assertion(&id, &early), 401, "invalid_client", 700024);
    // [CERT] exp: "keep it short - 5-10 minutes after nbf at most." The stand-in enforces the
    // documented upper bound (600 s): an assertion issued 11 minutes ago is older than allowed.
    let too_old = p.cert_assertion("RS256", |_, c| {
        c["nbf"] = json!(now() - 660);
        c["iat"] = json!(now() - 660);
        c["exp"] = json!(now() + 60);
    });
    assert_aadsts(&p.entra_assertion(&id, &too_old), 401, "invalid_client", 700024);
    let too_long = p.cert_assertion("RS256", |_, c| c["exp"] = json!(now() + 3600));
    assert_aadsts(&p.entra_assertion(&id, &too_long), 401, "invalid_client", 700024);

    // [CERT] typ "Should be JWT" and alg RS256 / PS256: others are malformed (AADSTS50027
    // InvalidJwtToken [ERR]).
    let no_typ = p.cert_assertion("RS256", |h, _| {
        h.as_object_mut().unwrap().remove("typ");
    });
    assert_aadsts(&p.entra_assertion(&id, &no_typ), 401, "invalid_client", 50027);
    let hs = p.cert_assertion("RS256", |h, _| h["alg"] = json!("HS256"));
    assert_aadsts(&p.entra_assertion(&id, &hs), 401, "invalid_client", 50027);
    assert_aadsts(&p.entra_assertion(&id, "not-a-jwt"), 401, "invalid_client", 50027);

    // [CERT] client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.
    let scope = p.s("/entra/scope");
    let good = p.cert_assertion("RS256", |_, _| {});
    let answer = p.entra(&[
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("scope", &scope),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        ("client_assertion", &good),
    ]);
    assert_aadsts(&answer, 401, "invalid_client", 70002);
    // The secret client has no certificate registered.
    let secret_id = p.s("/entra/secret_client/client_id");
    let other_client = p.cert_assertion("RS256", |_, c| {
        c["iss"] = json!(secret_id);
        c["sub"] = json!(secret_id);
    });
    assert_aadsts(&p.entra_assertion(&secret_id, &other_client), 401, "invalid_client", 700027);

    // None of the refusals leaked the assertion, and last-assertion holds no signature.
    let last = p.last_assertion().to_string();
    assert!(!last.contains(good.rsplit_once('.').unwrap().1));
}

#[test]
fn entra_federated_credentials() {
    let p = Providers::start();
    let id = p.s("/entra/federated_client/client_id");
    let mint = |query: &str| p.get_text(&format!("{}?{query}", p.s("/federation/token_endpoint")));

    // [WIF] "How it works": the workload exchanges a token from the external IdP (issuer,
    // subject, audience of a federated identity credential; audience api://AzureADTokenExchange
    // recommended) for an access token: client_assertion + client_assertion_type jwt-bearer.
    let token = mint("ttl=600");
    let answer = p.entra_assertion(&id, &token);
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(decode_part(answer.1["access_token"].as_str().unwrap(), 1)["azp"].as_str(), Some(id.as_str()));
    assert_eq!(p.last_assertion()["claims"]["sub"].as_str().unwrap(), p.s("/entra/federated_client/subject"));
    // A platform token file is reused until rotated: the same token works again.
    assert_eq!(p.entra_assertion(&id, &token).0, 200);
    // /_dev/stats counts the stand-ins' token requests; /_dev/reset zeroes them and forgets the
    // last assertion.
    let (_, stats) = p.get(&format!("{}/_dev/stats", p.base));
    assert_eq!((stats["entra_token_requests"].as_u64(), stats["google_token_requests"].as_u64()), (Some(2), Some(0)));
    assert_eq!(p.post(&format!("{}/_dev/reset", p.base), &[]).0, 200);
    assert_eq!(p.get(&format!("{}/_dev/stats", p.base)).1["entra_token_requests"], 0);
    assert_eq!(p.get(&p.s("/last_assertion")).0, 404);

    // An expired federated token: AADSTS700024 "Client assertion is not within its valid time
    // range" (the Azure DevOps workload identity troubleshooting table lists it for this case).
    assert_aadsts(&p.entra_assertion(&id, &mint("ttl=-5")), 401, "invalid_client", 700024);
    // [WIF] troubleshooting: AADSTS700213 "No matching federated identity record found for
    // presented assertion subject", AADSTS700212 ... audience, AADSTS700211 ... issuer.
    let answer = p.entra_assertion(&id, &mint("ttl=600&sub=system:serviceaccount:default:other"));
    assert_aadsts(&answer, 401, "invalid_client", 700213);
    assert!(answer.1["error_description"].as_str().unwrap().contains("'system:serviceaccount:default:other'"));
    assert_aadsts(&p.entra_assertion(&id, &mint("ttl=600&aud=api://other")), 401, "invalid_client", 700212);
    let federation_key = p.key(p.dir.join("federation-key.pem").to_str().unwrap());
    let claims = decode_part(&token, 1);
    let mut foreign = claims.clone();
    foreign["iss"] = json!("https://token.actions.githubusercontent.com");
    let other_issuer = sign("RS256", &federation_key, &decode_part(&token, 0), &foreign);
    assert_aadsts(&p.entra_assertion(&id, &other_issuer), 401, "invalid_client", 700211);
    // [WIF] the token must be signed by a key the issuer publishes (OIDC discovery → jwks_uri):
    // signed by another key it fails signature validation (AADSTS50013 InvalidAssertion [ERR]).
    let forged = sign("RS256", p.cert_key(), &decode_part(&token, 0), &claims);
    assert_aadsts(&p.entra_assertion(&id, &forged), 401, "invalid_client", 50013);
}

#[test]
fn google_service_account_jwt_bearer() {
    let p = Providers::start();
    // [GSA] "Forming the JWT header" {"alg":"RS256","typ":"JWT"} (+ kid = private_key_id as
    // the client libraries send); "JWT claim set": iss, scope, aud, exp, iat; "Making the access
    // token request": grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT.
    let response = p
        .agent
        .post(p.s("/google/token_url"))
        .send_form([("grant_type", JWT_BEARER), ("assertion", p.google_jwt(|_, _| {}).as_str())])
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let answer = json(response);
    assert_eq!(answer.0, 200, "{}", answer.1);
    // [GSA] "Handling the response": access_token, token_type Bearer, expires_in.
    let body = &answer.1;
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!((&body["expires_in"], body["token_type"].as_str()), (&json!(3599), Some("Bearer")));
    let last = p.last_assertion();
    assert_eq!(last["endpoint"], "google");
    assert_eq!(last["header"]["kid"], p.google_sa()["private_key_id"]);
    assert_eq!(last["claims"]["scope"].as_str().unwrap(), p.s("/google/scope"));
    assert_eq!(last["form"]["assertion"], "[present]");
    let response = p
        .agent
        .get(format!("{}/resource", p.base))
        .header("Authorization", format!("Bearer {}", body["access_token"].as_str().unwrap()))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);

    // [GSA] "Additional claims": sub = the user to impersonate (domain-wide delegation); several
    // space-delimited scopes; an exp exactly 1 hour after iat.
    let delegated = p.google_jwt(|_, c| {
        c["sub"] = json!("user@example.com");
        c["scope"] = json!(
            "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/devstorage.read_only"
        );
    });
    assert_eq!(p.google_assertion(&delegated).0, 200);

    // [GSA] "Forming the JWT header": signed with the service account's key (RS256). Another
    // key: invalid_grant "Invalid JWT Signature." (Google's answer, observed e.g. in
    // googleapis/google-cloud-python#10004).
    let good = p.google_jwt(|_, _| {});
    let forged = sign("RS256", p.cert_key(), &decode_part(&good, 0), &decode_part(&good, 1));
    assert_google(&p.google_assertion(&forged), "invalid_grant", "Invalid JWT Signature.");
    let wrong_kid = p.google_jwt(|h, _| h["kid"] = json!("0000000000000000000000000000000000000000"));
    assert_google(&p.google_assertion(&wrong_kid), "invalid_grant", "Invalid JWT Signature.");

    // [GSA] exp: "This value has a maximum of 1 hour after the issued time." Google's text
    // (observed, e.g. a-marenkov/gsheets#96, googleapis/python-storage#1387).
    let short_lived = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. \
                       Check your iat and exp values in the JWT claim.";
    let too_long = p.google_jwt(|_, c| c["exp"] = json!(c["iat"].as_i64().unwrap() + 3601));
    assert_google(&p.google_assertion(&too_long), "invalid_grant", short_lived);
    let expired = p.google_jwt(|_, c| {
        c["iat"] = json!(now() - 3700);
        c["exp"] = json!(now() - 100);
    });
    assert_google(&p.google_assertion(&expired), "invalid_grant", short_lived);
    let future = p.google_jwt(|_, c| {
        c["iat"] = json!(now() + 600);
        c["exp"] = json!(now() + 1200);
    });
    assert_google(&p.google_assertion(&future), "invalid_grant", short_lived);

    // [GSA] aud: "always https://oauth2.googleapis.com/token" (here the key file's token_uri).
    // Google's text observed in apigee/apigeecli#26.
    let wrong_aud = p.google_jwt(|_, c| c["aud"] = json!("https://accounts.google.com/o/oauth2/token"));
    let expected = format!("Invalid JWT: Failed audience check. The right audience is {}", p.s("/google/token_url"));
    assert_google(&p.google_assertion(&wrong_aud), "invalid_grant", &expected);
    // [GSA] iss: "The email address of the service account." Google's answer for an unknown
    // one: "Invalid grant: account not found" (observed, google/oculi#5).
    let stranger = p.google_jwt(|_, c| c["iss"] = json!("nobody@cctoken-dev.iam.gserviceaccount.com"));
    assert_google(&p.google_assertion(&stranger), "invalid_grant", "Invalid grant: account not found");

    // [GSA] scope required: invalid_scope "Empty or missing scope not allowed." (observed,
    // googleapis/google-auth-library-python#217), and a value that is not a Google scope:
    // "Invalid OAuth scope or ID token audience provided." (googleapis/google-oauth-java-client#602).
    let no_scope = p.google_jwt(|_, c| {
        c.as_object_mut().unwrap().remove("scope");
    });
    assert_google(&p.google_assertion(&no_scope), "invalid_scope", "Empty or missing scope not allowed.");
    let bad_scope = p.google_jwt(|_, c| c["scope"] = json!("cloud-platform"));
    assert_google(
        &p.google_assertion(&bad_scope),
        "invalid_scope",
        "Invalid OAuth scope or ID token audience provided.",
    );
    // Without scope but with target_audience: an ID token instead ([GSA] Addendum / ID tokens).
    let id_token = p.google_jwt(|_, c| {
        c.as_object_mut().unwrap().remove("scope");
        c["target_audience"] = json!("https://service.example.com");
    });
    let answer = p.google_assertion(&id_token);
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(decode_part(answer.1["id_token"].as_str().unwrap(), 1)["aud"], "https://service.example.com");

    // [GSA] grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer; assertion required.
    // These two texts are recalled in Google's style, not found in a document (see NOTES).
    let good = p.google_jwt(|_, _| {});
    let answer = p.google(&[("grant_type", "client_credentials"), ("assertion", &good)]);
    assert_google(&answer, "unsupported_grant_type", "Invalid grant_type: client_credentials");
    assert_google(&p.google(&[("grant_type", JWT_BEARER)]), "invalid_request", "Missing required parameter: assertion");
}

#[test]
fn secrets_and_assertions_stay_out_of_logs_and_answers() {
    let mut p = Providers::start_with(&[], Stdio::piped());
    let (id, secret, scope) =
        (p.s("/entra/secret_client/client_id"), p.s("/entra/secret_client/client_secret"), p.s("/entra/scope"));
    let ok = p.entra(&[
        ("client_id", &id),
        ("scope", &scope),
        ("client_secret", &secret),
        ("grant_type", "client_credentials"),
    ]);
    let token = ok.1["access_token"].as_str().unwrap().to_string();
    let near_miss = format!("{secret}x");
    let refused = p.entra(&[
        ("client_id", &id),
        ("scope", &scope),
        ("client_secret", &near_miss),
        ("grant_type", "client_credentials"),
    ]);
    let cert_id = p.s("/entra/cert_client/client_id");
    let expired = p.cert_assertion("RS256", |_, c| c["exp"] = json!(now() - 5));
    let refused_assertion = p.entra_assertion(&cert_id, &expired);
    let google = p.google_jwt(|_, c| c["aud"] = json!("https://elsewhere.example"));
    let refused_google = p.google_assertion(&google);
    let last = p.last_assertion();
    let answers = format!("{} {} {} {last}", refused.1, refused_assertion.1, refused_google.1);
    let signature = |jwt: &str| jwt.rsplit_once('.').unwrap().1.to_string();
    for needle in [&secret, &near_miss, &signature(&expired), &signature(&google)] {
        assert!(!answers.contains(needle.as_str()), "an answer quotes a credential");
    }
    // The request log (stderr without --quiet) names method, path and status only. A line is
    // written after its answer is sent, so wait (bounded) for the last one before stopping.
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let (log, stderr) = (log.clone(), p.child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !log.lock().unwrap().contains("POST /google/token 400") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = p.child.kill();
    let _ = p.child.wait();
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    assert!(log.contains("POST /google/token 400"), "{log}");
    for needle in [&secret, &near_miss, &expired, &google, &token] {
        assert!(!log.contains(needle.as_str()), "the log holds a credential");
    }
}

#[test]
fn combines_with_other_options() {
    // With --tls-dir the stand-ins are served over HTTPS, and the manifest says so.
    let tls_dir = std::env::temp_dir().join(format!("cctoken-providers-tls-{}", std::process::id()));
    let tls = tls_dir.to_str().unwrap();
    let p = Providers::start_with(&["--quiet", "--tls-dir", tls, "--client", "svc", "--secret", "s"], Stdio::inherit());
    assert!(p.base.starts_with("https://127.0.0.1:"));
    for pointer in ["/entra/token_url", "/google/token_url", "/federation/issuer", "/last_assertion"] {
        assert!(p.s(pointer).starts_with(&p.base), "{pointer}");
    }
    assert_eq!(p.google_sa()["token_uri"].as_str().unwrap(), p.s("/google/token_url"));
    drop(p);
    let _ = fs::remove_dir_all(&tls_dir);
}

#[test]
fn without_providers_dir_the_stand_ins_do_not_exist() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cctoken-dev-server"))
        .args(["--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    let agent: Agent = Agent::config_builder().http_status_as_error(false).build().into();
    for path in ["/_dev/last-assertion", "/_dev/federated-token", "/federation/jwks"] {
        assert_eq!(agent.get(format!("{base}{path}")).call().unwrap().status(), 404, "{path}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
