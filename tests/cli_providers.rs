//! `cctoken token` against the dev server's provider stand-ins (`--providers-dir`): Microsoft
//! Entra ID certificates (PEM and PFX), federated client assertions from a file, and Google
//! service-account key files, with their failures. The stand-ins check what the providers
//! document (dev-server/tests/providers.rs cites it); these tests check that the command line
//! reaches them, exits with the documented status and never prints a credential.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{DevServer, control_agent};
use serde_json::Value;

/// The dev server with its provider stand-ins; fixtures in a directory of its own, removed on drop.
struct Providers {
    _server: DevServer,
    dir: PathBuf,
    manifest: Value,
}

impl Providers {
    fn start(name: &str) -> Providers {
        let dir = std::env::temp_dir().join(format!("cctoken-cli-providers-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let server = DevServer::with_args(&["--providers-dir", dir.to_str().unwrap()]);
        let text = fs::read_to_string(dir.join("providers.json")).expect("the dev server wrote providers.json");
        let manifest = serde_json::from_str(&text).expect("providers.json is JSON");
        Providers { _server: server, dir, manifest }
    }

    /// A string of the manifest, by JSON pointer (`/entra/token_url`).
    fn get(&self, pointer: &str) -> String {
        self.manifest
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} in providers.json"))
            .into()
    }

    fn get_text(&self, url: &str) -> String {
        let mut resp = control_agent(None).get(url).call().expect("GET");
        assert_eq!(resp.status().as_u16(), 200, "GET {url}");
        resp.body_mut().read_to_string().expect("body")
    }

    /// What the stand-ins saw of the last assertion: `{"header", "claims", "form"}`.
    fn last_assertion(&self) -> Value {
        serde_json::from_str(&self.get_text(&self.get("/last_assertion"))).expect("last-assertion JSON")
    }

    /// A federated token from the federation issuer, valid for `ttl` seconds (negative: expired).
    fn federated_token(&self, ttl: i64) -> String {
        let url = self.get("/federation/token_endpoint");
        self.get_text(&format!("{url}?ttl={ttl}")).trim().to_string()
    }

    /// A file in the fixture directory (removed with it).
    fn write(&self, name: &str, contents: &[u8]) -> String {
        let path = self.dir.join(name);
        fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// The arguments every Entra certificate run shares.
    fn entra_cert_args(&self) -> Vec<String> {
        vec![
            "token".into(),
            "--token-url".into(),
            self.get("/entra/token_url"),
            "--client-id".into(),
            self.get("/entra/cert_client/client_id"),
            "--scope".into(),
            self.get("/entra/scope"),
        ]
    }

    /// Every credential of the fixtures, as text that must never be printed: the private keys'
    /// base64 lines, the PFX password, the client secret.
    fn secrets(&self) -> Vec<String> {
        let mut secrets =
            vec![self.get("/entra/cert_client/pfx_password"), self.get("/entra/secret_client/client_secret")];
        let key = fs::read_to_string(self.get("/entra/cert_client/key_pem")).unwrap();
        let sa: Value =
            serde_json::from_str(&fs::read_to_string(self.get("/google/service_account_file")).unwrap()).unwrap();
        for pem in [key.as_str(), sa["private_key"].as_str().unwrap()] {
            secrets.extend(pem.lines().filter(|l| !l.starts_with("-----") && l.len() > 16).map(str::to_string));
        }
        secrets
    }
}

impl Drop for Providers {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs the CLI with a cache directory of its own (removed after) and no proxy or trust-store
/// variables from the test's environment; `env` is added.
fn cctoken(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cctoken"));
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY"] {
        cmd.env_remove(var);
    }
    cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR").env_remove("CCTOKEN_REDIS_URL");
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = std::env::temp_dir().join(format!("cctoken-cli-providers-cache-{}-{n}", std::process::id()));
    let out = cmd.env("XDG_CACHE_HOME", &cache).args(args).envs(env.iter().copied()).output().expect("run cctoken");
    let _ = fs::remove_dir_all(&cache);
    out
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The run printed a token (`--format json`); returns the JSON. Fails with stderr otherwise.
fn success(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status, text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--format json output")
}

/// Neither stream holds any of `secrets`, and stderr does not hold `tokens` (stdout is where a
/// token belongs).
fn assert_nothing_leaks(out: &Output, secrets: &[String], tokens: &[&str]) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    for s in secrets {
        assert!(!s.is_empty());
        assert!(
            !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
            "a credential was printed (not shown here)"
        );
    }
    for t in tokens {
        assert!(!t.is_empty());
        assert!(!stderr.contains(t), "a token or assertion was printed on stderr (not shown here)");
    }
}

/// The form parameter names of a last-assertion record (a list of names or an object).
fn form_names(form: &Value) -> Vec<String> {
    match form {
        Value::Array(names) => names.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("form: {other}"),
    }
}

fn file_name(path: &str) -> &str {
    Path::new(path).file_name().unwrap().to_str().unwrap()
}

#[test]
fn entra_certificate_from_pem_files_with_x5t_and_with_x5t_s256() {
    let p = Providers::start("pem");
    let secrets = p.secrets();
    let key = p.get("/entra/cert_client/key_pem");
    let cert = p.get("/entra/cert_client/cert_pem");

    // The default with a certificate: RS256 and x5t, the SHA-1 thumbprint.
    let mut a = p.entra_cert_args();
    a.extend(args(&["--private-key-file", &key, "--certificate-file", &cert, "--format", "json", "--verbose"]));
    let out = cctoken(&a, &[]);
    let json = success(&out);
    assert_eq!(json["token_type"], "Bearer");
    let seen = p.last_assertion();
    assert_eq!(seen["header"]["x5t"], p.get("/entra/cert_client/x5t"));
    assert_eq!(seen["header"]["alg"], "RS256");
    assert!(seen["header"].get("x5t#S256").is_none() && seen["header"].get("x5c").is_none(), "{seen}");
    assert_eq!(seen["claims"]["iss"], p.get("/entra/cert_client/client_id"));
    assert_nothing_leaks(&out, &secrets, &[json["access_token"].as_str().unwrap()]);

    // What Microsoft documents today: PS256 with x5t#S256; and the x5c chain on request.
    let mut a = p.entra_cert_args();
    a.extend(args(&[
        "--private-key-file",
        &key,
        "--certificate-file",
        &cert,
        "--signing-alg",
        "PS256",
        "--thumbprint",
        "x5t#S256",
        "--x5c",
        "--format",
        "json",
        "--verbose",
    ]));
    let out = cctoken(&a, &[]);
    let json = success(&out);
    let seen = p.last_assertion();
    assert_eq!(seen["header"]["alg"], "PS256");
    assert_eq!(seen["header"]["x5t#S256"], p.get("/entra/cert_client/x5t_s256"));
    assert!(seen["header"].get("x5t").is_none(), "{seen}");
    let chain = seen["header"]["x5c"].as_array().expect("an x5c chain");
    assert_eq!(chain.len(), 2, "leaf and intermediate, as in the PEM file");
    assert_nothing_leaks(&out, &secrets, &[json["access_token"].as_str().unwrap()]);

    // --thumbprint both
    let mut a = p.entra_cert_args();
    a.extend(args(&[
        "--private-key-file",
        &key,
        "--certificate-file",
        &cert,
        "--thumbprint",
        "both",
        "--format",
        "json",
    ]));
    success(&cctoken(&a, &[]));
    let seen = p.last_assertion();
    assert_eq!(seen["header"]["x5t"], p.get("/entra/cert_client/x5t"));
    assert_eq!(seen["header"]["x5t#S256"], p.get("/entra/cert_client/x5t_s256"));
}

#[test]
fn entra_certificate_from_pfx_with_password_file_env_or_none() {
    let p = Providers::start("pfx");
    let secrets = p.secrets();
    let pfx = p.get("/entra/cert_client/pfx");
    let password = p.get("/entra/cert_client/pfx_password");
    // As `echo` writes it: the trailing newline is not part of the password.
    let password_file = p.write("pfx-password", format!("{password}\n").as_bytes());

    let mut a = p.entra_cert_args();
    a.extend(args(&["--pkcs12-file", &pfx, "--pkcs12-password-file", &password_file, "--format", "json"]));
    a.extend(args(&["--log-format", "json"]));
    let out = cctoken(&a, &[]);
    let json = success(&out);
    assert_eq!(p.last_assertion()["header"]["x5t"], p.get("/entra/cert_client/x5t"));
    assert_nothing_leaks(&out, &secrets, &[json["access_token"].as_str().unwrap()]);

    let mut a = p.entra_cert_args();
    a.extend(args(&["--pkcs12-file", &pfx, "--pkcs12-password-env", "CCTOKEN_TEST_PFX_PASSWORD", "--format", "json"]));
    let out = cctoken(&a, &[("CCTOKEN_TEST_PFX_PASSWORD", &password)]);
    success(&out);
    assert_nothing_leaks(&out, &secrets, &[]);

    let mut a = p.entra_cert_args();
    a.extend(args(&["--pkcs12-file", &p.get("/entra/cert_client/pfx_no_password"), "--thumbprint", "x5t#S256"]));
    let out = cctoken(&a, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(p.last_assertion()["header"]["x5t#S256"], p.get("/entra/cert_client/x5t_s256"));

    // A wrong password: a usage error (nothing sent) that says PKCS#12 and shows no password.
    let wrong = p.write("pfx-wrong-password", b"not-the-password-7781\n");
    let before = p.last_assertion();
    let mut a = p.entra_cert_args();
    a.extend(args(&["--pkcs12-file", &pfx, "--pkcs12-password-file", &wrong]));
    let out = cctoken(&a, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.to_lowercase().contains("pkcs12") || stderr.contains("PKCS#12"), "{stderr}");
    assert!(!stderr.contains("not-the-password-7781"), "the password was printed");
    assert_nothing_leaks(&out, &secrets, &[]);
    assert_eq!(p.last_assertion(), before, "nothing was sent");

    // Password flags without a PFX, or twice: usage errors.
    let mut a = p.entra_cert_args();
    a.extend(args(&["--pkcs12-password-file", &password_file]));
    let out = cctoken(&a, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--pkcs12-file"), "{}", text(&out.stderr));
    let mut a = p.entra_cert_args();
    a.extend(args(&[
        "--pkcs12-file",
        &pfx,
        "--pkcs12-password-file",
        &password_file,
        "--pkcs12-password-env",
        "CCTOKEN_TEST_PFX_PASSWORD",
    ]));
    assert_eq!(cctoken(&a, &[("CCTOKEN_TEST_PFX_PASSWORD", &password)]).status.code(), Some(2));
}

#[test]
fn entra_wrong_thumbprint_exits_1_with_the_aadsts_code_and_a_hint() {
    let p = Providers::start("thumbprint");
    let secrets = p.secrets();
    // The registered key, but a certificate Entra does not know: the thumbprint names no key.
    let mut a = p.entra_cert_args();
    a.extend(args(&[
        "--private-key-file",
        &p.get("/entra/cert_client/key_pem"),
        "--certificate-file",
        &p.get("/entra/cert_client/unregistered_cert_pem"),
        "--verbose",
    ]));
    let out = cctoken(&a, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(stderr.contains("AADSTS700027"), "the AADSTS code is shown: {stderr}");
    assert!(stderr.contains("cctoken: hint: Entra ID has no certificate registered"), "{stderr}");
    assert_nothing_leaks(&out, &secrets, &[]);
}

/// An assertion valid for an hour: the certificate is right, but Entra refuses the lifetime
/// (certificate credentials, `exp`: "5-10 minutes after nbf at most") with AADSTS700024.
#[test]
fn entra_assertion_valid_too_long_exits_1_with_aadsts700024_and_a_hint() {
    let p = Providers::start("too-long");
    let secrets = p.secrets();
    let mut a = p.entra_cert_args();
    a.extend(args(&[
        "--private-key-file",
        &p.get("/entra/cert_client/key_pem"),
        "--certificate-file",
        &p.get("/entra/cert_client/cert_pem"),
        "--assertion-lifetime-ms",
        "3600000",
    ]));
    let out = cctoken(&a, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid_client") && stderr.contains("AADSTS700024"), "{stderr}");
    assert!(stderr.contains("cctoken: hint: the client assertion is outside its valid time range"), "{stderr}");
    let claims = &p.last_assertion()["claims"];
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    assert_nothing_leaks(&out, &secrets, &[]);
}

#[test]
fn entra_client_secret_from_a_file() {
    let p = Providers::start("secret");
    let secrets = p.secrets();
    let secret = p.write("entra-secret", p.get("/entra/secret_client/client_secret").as_bytes());
    let out = cctoken(
        &args(&[
            "token",
            "--token-url",
            &p.get("/entra/token_url"),
            "--client-id",
            &p.get("/entra/secret_client/client_id"),
            "--client-secret-file",
            &secret,
            "--scope",
            &p.get("/entra/scope"),
            "--format",
            "json",
            "--verbose",
        ]),
        &[],
    );
    let json = success(&out);
    assert_nothing_leaks(&out, &secrets, &[json["access_token"].as_str().unwrap()]);
}

#[test]
fn federated_assertion_file_is_sent_and_expired_or_missing_files_are_named() {
    let p = Providers::start("federated");
    let secrets = p.secrets();
    let jwt = p.federated_token(600);
    let file = p.write("federated-token", format!("{jwt}\n").as_bytes());
    let base = |file: &str| {
        args(&[
            "token",
            "--token-url",
            &p.get("/entra/token_url"),
            "--client-id",
            &p.get("/entra/federated_client/client_id"),
            "--scope",
            &p.get("/entra/scope"),
            "--client-assertion-file",
            file,
        ])
    };

    // Without --no-cache: the default cache is left off for a federated assertion.
    let mut a = base(&file);
    a.extend(args(&["--format", "json", "--log-format", "json"]));
    let out = cctoken(&a, &[]);
    let json = success(&out);
    assert!(text(&out.stderr).contains("token_request"), "events were logged: {}", text(&out.stderr));
    let seen = p.last_assertion();
    assert_eq!(seen["claims"]["sub"], p.get("/entra/federated_client/subject"));
    let form = form_names(&seen["form"]);
    assert!(
        form.iter().any(|f| f == "client_assertion") && form.iter().any(|f| f == "client_assertion_type"),
        "{form:?}"
    );
    assert_nothing_leaks(&out, &secrets, &[&jwt, json["access_token"].as_str().unwrap()]);

    // The platform rotated the file: the next run sends the new assertion.
    let rotated = p.federated_token(600);
    assert_ne!(rotated, jwt);
    let first_jti = seen["claims"]["jti"].clone();
    assert!(first_jti.is_string(), "{seen}");
    fs::write(&file, &rotated).unwrap();
    let mut a = base(&file);
    a.extend(args(&["--format", "json"]));
    success(&cctoken(&a, &[]));
    assert_ne!(p.last_assertion()["claims"]["jti"], first_jti, "the rotated assertion was sent");

    // An explicit shared cache cannot be used with it.
    let cache = p.dir.join("explicit-cache");
    let mut a = base(&file);
    a.extend(args(&["--cache-dir", cache.to_str().unwrap()]));
    let out = cctoken(&a, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_nothing_leaks(&out, &secrets, &[&rotated]);

    // Expired: an error that names the file, never its contents; nothing is sent.
    let expired = p.federated_token(-120);
    let expired_file = p.write("federated-expired", expired.as_bytes());
    let before = p.last_assertion();
    let out = cctoken(&base(&expired_file), &[]);
    assert_eq!(out.status.code(), Some(2), "nothing was sent: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(file_name(&expired_file)), "the message names the file: {stderr}");
    assert!(stderr.contains("expired"), "{stderr}");
    assert_nothing_leaks(&out, &secrets, &[&expired]);
    for part in expired.split('.') {
        assert!(!stderr.contains(part), "a part of the assertion was printed");
    }
    assert_eq!(p.last_assertion(), before, "an expired assertion is not sent");

    // Missing: a usage error naming the path.
    let missing = p.dir.join("no-such-token").to_str().unwrap().to_string();
    let out = cctoken(&base(&missing), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-token"), "{}", text(&out.stderr));

    // Not a JWT.
    let garbage = p.write("federated-garbage", b"this is not a JWT\n");
    let out = cctoken(&base(&garbage), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("federated-garbage"), "{stderr}");
    assert!(!stderr.contains("this is not a JWT"), "the file's contents were printed");
}

#[test]
fn google_service_account_file_with_scope_and_subject() {
    let p = Providers::start("google");
    let secrets = p.secrets();
    let sa = p.get("/google/service_account_file");
    let scope = p.get("/google/scope");

    let out = cctoken(
        &args(&["token", "--service-account-file", &sa, "--scope", &scope, "--format", "json", "--verbose"]),
        &[],
    );
    let json = success(&out);
    let token = json["access_token"].as_str().unwrap();
    assert!(token.starts_with("ya29."), "Google's token shape");
    let seen = p.last_assertion();
    let key: Value = serde_json::from_str(&fs::read_to_string(&sa).unwrap()).unwrap();
    assert_eq!(seen["claims"]["iss"], p.get("/google/client_email"));
    assert_eq!(seen["claims"]["scope"], scope);
    assert_eq!(seen["claims"]["aud"], p.get("/google/token_url"));
    assert_eq!(seen["header"]["kid"], key["private_key_id"]);
    assert!(seen["claims"].get("sub").is_none(), "{seen}");
    assert_nothing_leaks(&out, &secrets, &[token]);

    // Domain-wide delegation: the user to act as.
    let out = cctoken(
        &args(&[
            "token",
            "--service-account-file",
            &sa,
            "--scope",
            &scope,
            "--subject",
            "admin@example.com",
            "--verbose",
        ]),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(p.last_assertion()["claims"]["sub"], "admin@example.com");
    assert_nothing_leaks(&out, &secrets, &[]);

    // The same grant spelled out, as for any RFC 7523 server: a PEM key, kid, grant type.
    let pem = p.write("google-key.pem", key["private_key"].as_str().unwrap().as_bytes());
    let kid = key["private_key_id"].as_str().unwrap();
    let out = cctoken(
        &args(&[
            "token",
            "--token-url",
            &p.get("/google/token_url"),
            "--client-id",
            &p.get("/google/client_email"),
            "--grant-type",
            "jwt_bearer",
            "--private-key-file",
            &pem,
            "--key-id",
            kid,
            "--scope",
            &scope,
            "--verbose",
        ]),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen = p.last_assertion();
    assert_eq!(seen["header"]["kid"], kid);
    assert_eq!(seen["claims"]["iss"], p.get("/google/client_email"));
    assert_nothing_leaks(&out, &secrets, &[]);
}

#[test]
fn google_service_account_file_missing_a_field_is_a_usage_error_naming_it() {
    let p = Providers::start("google-missing");
    let secrets = p.secrets();
    let key: Value = serde_json::from_str(&fs::read_to_string(p.get("/google/service_account_file")).unwrap()).unwrap();
    for field in ["private_key_id", "client_email", "private_key", "token_uri"] {
        let mut broken = key.clone();
        broken.as_object_mut().unwrap().remove(field);
        let path = p.write(&format!("sa-without-{field}.json"), broken.to_string().as_bytes());
        let out = cctoken(&args(&["token", "--service-account-file", &path, "--scope", &p.get("/google/scope")]), &[]);
        assert_eq!(out.status.code(), Some(2), "{field}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(field), "the message names {field}: {stderr}");
        assert!(stderr.contains(&format!("sa-without-{field}.json")), "the message names the file: {stderr}");
        assert_nothing_leaks(&out, &secrets, &[]);
    }
    // Not a service-account key at all.
    let path = p.write("sa-wrong-type.json", br#"{"type": "authorized_user"}"#);
    let out = cctoken(&args(&["token", "--service-account-file", &path]), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("service_account"), "{}", text(&out.stderr));
}

#[test]
fn new_flags_are_documented_and_bad_values_are_usage_errors() {
    let out = cctoken(&args(&["token", "--help"]), &[]);
    let help = text(&out.stdout);
    for flag in [
        "--certificate-file",
        "--pkcs12-file",
        "--pkcs12-password-file",
        "--pkcs12-password-env",
        "--thumbprint",
        "--x5c",
        "--client-assertion-file",
        "--grant-type",
        "--subject",
        "--service-account-file",
    ] {
        assert!(help.contains(flag), "--help documents {flag}");
    }
    // A thumbprint or x5c with a secret: there is no certificate to take them from.
    for flags in [&["--thumbprint", "x5t#S256"][..], &["--x5c"]] {
        let mut a = args(&[
            "token",
            "--token-url",
            "http://127.0.0.1:9/token",
            "--client-id",
            "x",
            "--client-secret-env",
            "HOME",
        ]);
        a.extend(args(flags));
        let out = cctoken(&a, &[]);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(flags[0].trim_start_matches('-')), "{}", text(&out.stderr));
    }
    for bad in [
        &["--thumbprint", "sha1"][..],
        &["--grant-type", "password"],
        &["--x5c=yes"],
        &["--pkcs12-password-env", "CCTOKEN_TEST_UNSET_VARIABLE_12"],
    ] {
        let mut a = args(&["token", "--token-url", "http://127.0.0.1:9/token", "--client-id", "x"]);
        a.extend(args(bad));
        let out = cctoken(&a, &[]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}

/// Entra's answers a user can act on come with a hint: a scope that is not `.default`, and a
/// federated token whose subject no federated credential of the app names.
#[test]
fn entra_errors_with_a_known_aadsts_code_get_a_hint() {
    let p = Providers::start("hints");
    let secrets = p.secrets();
    let secret = p.write("entra-secret", p.get("/entra/secret_client/client_secret").as_bytes());
    let out = cctoken(
        &args(&[
            "token",
            "--token-url",
            &p.get("/entra/token_url"),
            "--client-id",
            &p.get("/entra/secret_client/client_id"),
            "--client-secret-file",
            &secret,
            "--scope",
            "https://graph.microsoft.com/User.Read",
        ]),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid_scope") && stderr.contains("AADSTS70011"), "{stderr}");
    assert!(stderr.contains("cctoken: hint: Entra ID wants one resource's `.default` scope"), "{stderr}");
    assert_nothing_leaks(&out, &secrets, &[]);

    let url = p.get("/federation/token_endpoint");
    let jwt = p.get_text(&format!("{url}?ttl=600&sub=system:serviceaccount:default:someone-else")).trim().to_string();
    let file = p.write("federated-other-subject", jwt.as_bytes());
    let out = cctoken(
        &args(&[
            "token",
            "--token-url",
            &p.get("/entra/token_url"),
            "--client-id",
            &p.get("/entra/federated_client/client_id"),
            "--client-assertion-file",
            &file,
            "--scope",
            &p.get("/entra/scope"),
        ]),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("AADSTS700213"), "{stderr}");
    assert!(stderr.contains("cctoken: hint: no federated credential on the application matches"), "{stderr}");
    assert_nothing_leaks(&out, &secrets, &[&jwt]);
}
