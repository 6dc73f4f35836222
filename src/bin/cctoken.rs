//! `cctoken token ...`: fetch one access token for shell scripts, cron jobs and CI pipelines.
//!
//! The parser is hand-written: one flat subcommand with `--flag VALUE` options does not need an
//! argument-parsing crate, and the binary stays small.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cctoken::{AssertionAudience, AuthMethod, Client, ClientBuilder, Error, RetryPolicy, Secret, TransportKind};

const USAGE: &str = "\
usage: cctoken token (--token-url URL | --issuer URL) --client-id ID CREDENTIAL [OPTIONS]
       cctoken token --service-account-file JSON --scope S [OPTIONS]
       cctoken token --help | cctoken --version

Prints an OAuth 2.0 access token on stdout: from the client-credentials grant (RFC 6749 §4.4),
or the JWT bearer grant (RFC 7523 §2.1) of --grant-type jwt_bearer and --service-account-file.

Credential (one; the secret is never taken on the command line, where `ps` would show it):
  --client-secret-file PATH    the client secret, read from a file
  --client-secret-env VAR      the client secret, read from an environment variable
  --private-key-file PEM       private_key_jwt with a PEM key (PKCS#8, PKCS#1 or SEC1)
  --private-key-jwk-file JSON  private_key_jwt with a private JWK (its `kid` is used)
  --client-cert-file PEM --client-key-file PEM
                               tls_client_auth (RFC 8705) with a certificate chain and key
  --pkcs12-file PFX            private_key_jwt with the key and certificate chain of a PKCS#12
                               (PFX) file, as Azure hands out; its password from
                               --pkcs12-password-file PATH or --pkcs12-password-env VAR (none:
                               a PFX without a password)
  --client-assertion-file PATH a client assertion (JWT) written by the platform: workload
                               identity federation (AZURE_FEDERATED_TOKEN_FILE on AKS, a
                               SPIFFE JWT-SVID, ...). Read again before every token request;
                               no shared cache (the default cache is left off)
  --service-account-file JSON  a Google service-account key file: the JWT bearer grant, with
                               client id, key, kid and token URL taken from the file
  --auth-method none           a public client

Authentication:
  --auth-method M              client_secret_basic (default for a secret), client_secret_basic_raw,
                               client_secret_post, client_secret_jwt, private_key_jwt,
                               tls_client_auth, self_signed_tls_client_auth, none
  --signing-alg ALG            RS256, PS256, ES256, EdDSA or HS256 (client assertions)
  --key-id KID                 `kid` of client assertions
  --certificate-file PEM       the certificate of the --private-key-file key (PEM, leaf first,
                               chain may follow): its thumbprint names the key (Entra ID)
  --thumbprint T               x5t (SHA-1, the default with a certificate), x5t#S256, both or
                               none: the thumbprint header(s) of client assertions
  --x5c                        also send the certificate chain in the x5c header
  --grant-type G               client_credentials (default) or jwt_bearer (RFC 7523 §2.1: an
                               assertion signed with --private-key-file is the grant)
  --subject SUB                the `sub` of a jwt_bearer assertion (Google domain-wide
                               delegation: the user to act as)
  --assertion-audience AUD     token_endpoint (default), issuer, or a value of your choice
  --assertion-lifetime-ms N    lifetime of client assertions (default 60000)

Request:
  --scope S                    repeatable
  --audience A
  --resource URI               repeatable (RFC 8707)
  --param NAME=VALUE           an extra form parameter, repeatable
  --dpop                       a DPoP-bound token (RFC 9449); see --dpop-key-file
  --dpop-key-file PEM          the DPoP key: without it the key is generated for this run and
                               lost when cctoken exits, so the token cannot be used

Network:
  --ca-file PEM                trust this CA too (repeatable)
  --trust-store STORE          system (default: the OS store; SSL_CERT_FILE / SSL_CERT_DIR
                               honoured), bundled (Mozilla roots built into cctoken), or
                               root_ca_only (only the --ca-file certificates)
  --proxy PROXY                env (default: HTTPS_PROXY, NO_PROXY, ...), none, or
                               http://[user:password@]host:port
  --allow-insecure-http        allow http:// token URLs on non-loopback hosts (test networks)
  --connect-timeout-ms N       per TCP+TLS connect (default 5000)
  --request-timeout-ms N       per HTTP request (default 10000)
  --timeout-ms N               the whole call, retries included (default 30000)
  --retry-attempts N           requests in all for transient failures (default 3; 1: no retry)
  --user-agent UA

Cache (tokens are shared by every run, encrypted, so a warm run makes no token request):
  --cache-dir DIR              where (default $XDG_CACHE_HOME/cctoken, else ~/.cache/cctoken)
  --no-cache                   no shared cache: every run asks the server
  --redis-url URL              share through Redis instead (redis:// or rediss://; several,
                               comma-separated, for a cluster). Put a password in the environment
                               variable CCTOKEN_REDIS_URL instead, where `ps` does not show it
  --redis-ca-file PEM          the CA of a rediss:// server
  --store-timeout-ms N         bound on each cache operation (default 200)

Output:
  --format token               the access token alone (default)
  --format json                {\"access_token\",\"token_type\",\"expires_in\",\"scope\",\"dpop\"}
  --format header              Authorization: <type> <token>
  --verbose                    what cctoken does (each token request attempt, retries,
                               cool-downs...) on stderr, one line per event; never a secret or token
  --log-format human|json      those lines for people (default) or one JSON object per line
                               (implies --verbose)

Exit status:
  0  the token was printed
  1  the token could not be obtained: the server refused, or the network, TLS, a proxy or a
     timeout failed (the request was tried)
  2  usage error: unknown or missing options, bad values, unreadable files or variables, an
     invalid configuration (nothing was sent); also a --client-assertion-file that is missing,
     empty or expired when the request is to be made

examples:
  curl -H \"$(cctoken token --token-url https://as.example.com/token --client-id svc \\
      --client-secret-file /run/secrets/svc --scope read --format header)\" https://api.example.com/
  cctoken token --token-url \"https://login.microsoftonline.com/$AZURE_TENANT_ID/oauth2/v2.0/token\" \\
      --client-id \"$AZURE_CLIENT_ID\" --client-assertion-file \"$AZURE_FEDERATED_TOKEN_FILE\" \\
      --scope https://vault.azure.net/.default
  cctoken token --service-account-file key.json --scope https://www.googleapis.com/auth/cloud-platform
";

enum Format {
    Token,
    Json,
    Header,
}

/// Everything the command line says, beyond the builder.
struct Run {
    format: Format,
    call_timeout: Duration,
    request_timeout: Duration,
    connect_timeout: Duration,
    /// `--dpop` without `--dpop-key-file`.
    ephemeral_dpop: bool,
    dpop: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("token") => {}
        Some("-h" | "--help" | "help") => return help(),
        Some("--version" | "-V") => {
            println!("cctoken {}", cctoken::VERSION);
            return ExitCode::SUCCESS;
        }
        Some(other) => return usage_error(&format!("unknown command `{other}` (expected `token`)")),
        None => return usage_error("expected the `token` subcommand"),
    }
    if args[1..].iter().any(|a| a == "-h" || a == "--help") {
        return help();
    }
    let mut args = args;
    let log = match take_log_flags(&mut args) {
        Ok(log) => log,
        Err(msg) => return usage_error(&msg),
    };
    let (mut builder, run) = match parse(&args[1..]) {
        Ok(run) => run,
        Err(msg) => return usage_error(&msg),
    };
    if let Some(json) = log {
        builder = builder.on_event(move |e| log_event(e, json));
    }
    let client = match builder.build() {
        Ok(client) => client,
        // Nothing was sent: the invocation (or a file or variable it names) is at fault.
        Err(e) => return usage_error(&e.to_string()),
    };
    let started = Instant::now();
    match client.token_timeout(run.call_timeout) {
        Ok(token) => {
            if run.ephemeral_dpop {
                eprintln!(
                    "cctoken: warning: --dpop without --dpop-key-file: the printed token is bound to a key generated \
                     for this run, which is gone now that cctoken exits; no DPoP proof can be made for it, so resource \
                     servers will refuse it. Pass --dpop-key-file PEM to keep the key."
                );
            }
            match run.format {
                Format::Token => println!("{}", token.access_token()),
                Format::Header => println!("Authorization: {}", token.authorization_header()),
                Format::Json => {
                    let mut json = serde_json::json!({
                        "access_token": token.access_token(),
                        "token_type": token.token_type(),
                        "expires_in": token.expires_in().as_secs(),
                        "scope": token.scope(),
                        "dpop": run.dpop,
                    });
                    if let Some(jkt) = client.dpop_jkt().filter(|_| run.dpop) {
                        json["dpop_jkt"] = jkt.into();
                        json["dpop_key"] = if run.ephemeral_dpop { "discarded" } else { "file" }.into();
                    }
                    println!("{json}");
                }
            }
            ExitCode::SUCCESS
        }
        // Found only now (an assertion file is read before the request): nothing was sent.
        Err(e @ Error::Config { .. }) => {
            eprintln!("cctoken: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("cctoken: {e}");
            if let Some(hint) = hint(&e, &run, &client, started.elapsed()) {
                eprintln!("cctoken: hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}

fn help() -> ExitCode {
    print!("{USAGE}");
    ExitCode::SUCCESS
}

/// Removes `--verbose` and `--log-format F` from `args`: `Some(json)` when events are wanted.
fn take_log_flags(args: &mut Vec<String>) -> Result<Option<bool>, String> {
    let mut log = None;
    while let Some(i) = args.iter().position(|a| a == "--verbose" || a == "--log-format") {
        if args.remove(i) == "--verbose" {
            log = Some(log.unwrap_or(false));
            continue;
        }
        match (i < args.len()).then(|| args.remove(i)).as_deref() {
            Some("human") => log = Some(false),
            Some("json") => log = Some(true),
            Some(other) => return Err(format!("unknown log format `{other}`")),
            None => return Err("--log-format needs a value".into()),
        }
    }
    Ok(log)
}

/// One event on stderr: `cctoken: LEVEL kind: message`, or its JSON object.
fn log_event(e: &cctoken::Event, json: bool) {
    let line = if json {
        e.to_json().to_string()
    } else {
        format!("cctoken: {:<5} {}: {}", e.level.as_str().to_uppercase(), e.kind, e.message)
    };
    eprintln!("{line}");
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("cctoken: {msg}\n(see `cctoken token --help`)");
    ExitCode::from(2)
}

/// A next step for the failures where one is clear.
fn hint(e: &Error, run: &Run, client: &Client, elapsed: Duration) -> Option<String> {
    if let Error::OAuth(oauth) = e {
        return entra_hint(oauth.description.as_deref()?).map(str::to_string);
    }
    let Error::Transport { kind, message } = e else { return None };
    let attempts = client.metrics().retries + 1;
    let tries = if attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") };
    let ms = |d: Duration| d.as_millis();
    match kind {
        TransportKind::Tls if message.contains("UnknownIssuer") || message.contains("unknown issuer") => Some(
            "the server's certificate is not signed by a CA this client trusts: add its CA with --ca-file PEM \
             (or point SSL_CERT_FILE at a bundle that has it)"
                .into(),
        ),
        TransportKind::Tls if message.contains("NotValidForName") => {
            Some("the server's certificate does not name the host in the URL: check the host name".into())
        }
        TransportKind::Timeout => {
            let which = if message.contains("connect") {
                format!("connecting took longer than --connect-timeout-ms ({} ms)", ms(run.connect_timeout))
            } else if elapsed + Duration::from_millis(50) >= run.call_timeout {
                format!("the whole call took longer than --timeout-ms ({} ms)", ms(run.call_timeout))
            } else {
                format!("a request took longer than --request-timeout-ms ({} ms)", ms(run.request_timeout))
            };
            Some(format!("{which}; gave up after {tries} in {} ms", ms(elapsed)))
        }
        _ if message.contains("proxy") => Some(
            "the proxy refused or failed the CONNECT: check --proxy (or HTTPS_PROXY / NO_PROXY) and the proxy's \
             user and password"
                .into(),
        ),
        TransportKind::Connect => Some(format!("could not connect ({tries}); check the URL, the port and --proxy")),
        _ => None,
    }
}

/// Microsoft Entra ID's error descriptions start with an `AADSTSnnnnn` code; the ones a
/// certificate or federated credential runs into most.
/// <https://learn.microsoft.com/entra/identity-platform/reference-error-codes>
fn entra_hint(description: &str) -> Option<&'static str> {
    let code = description.split(':').next()?;
    Some(match code {
        "AADSTS700027" => {
            "Entra ID has no certificate registered on the application that matches the assertion's signature \
             and thumbprint: upload the certificate of --certificate-file / --pkcs12-file to the app \
             registration, or check --thumbprint"
        }
        "AADSTS700024" => {
            "the client assertion is outside its valid time range: check this machine's clock and \
             --assertion-lifetime-ms (Microsoft documents 5-10 minutes at most), and for \
             --client-assertion-file that the platform still refreshes the file"
        }
        "AADSTS70021" | "AADSTS700211" | "AADSTS700212" | "AADSTS700213" => {
            "no federated credential on the application matches the assertion's issuer, subject and audience \
             (api://AzureADTokenExchange)"
        }
        "AADSTS1002012" | "AADSTS70011" => {
            "Entra ID wants one resource's `.default` scope, e.g. --scope https://graph.microsoft.com/.default"
        }
        _ => return None,
    })
}

fn parse(args: &[String]) -> Result<(ClientBuilder, Run), String> {
    let mut b = Client::builder();
    let mut format = Format::Token;
    let defaults = (Duration::from_secs(30), Duration::from_secs(10), Duration::from_secs(5));
    let (mut call_timeout, mut request_timeout, mut connect_timeout) = defaults;
    let (mut cert, mut key) = (None, None);
    let (mut dpop, mut dpop_key) = (false, false);
    let mut pkcs12: Option<String> = None;
    let mut pkcs12_password: Option<(&'static str, Secret)> = None;
    let mut assertion_file = false;
    let mut store_chosen = false;
    let mut store = match std::env::var("CCTOKEN_REDIS_URL") {
        Ok(url) => Some(Store::Redis(url)),
        Err(_) => default_cache_dir().map(Store::Dir),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        // `--flag=value` and `--flag value` both work.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "--dpop" | "--allow-insecure-http" | "--no-cache" | "--x5c" => {
                if inline.is_some() {
                    return Err(format!("{flag} takes no value"));
                }
                if flag == "--dpop" {
                    dpop = true;
                    b = b.dpop(true);
                } else if flag == "--no-cache" {
                    store = None;
                    store_chosen = true;
                } else if flag == "--x5c" {
                    b = b.x5c(true);
                } else {
                    b = b.allow_insecure_http(true);
                }
                continue;
            }
            _ if !flag.starts_with("--") => return Err(format!("unexpected argument `{flag}`")),
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().cloned().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let millis = |v: &str| -> Result<Duration, String> {
            match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
                _ => Err(format!("{flag} takes a positive number of milliseconds, not `{v}`")),
            }
        };
        b = match flag {
            "--token-url" => b.token_url(value),
            "--issuer" => b.issuer(value),
            "--client-id" => b.client_id(value),
            "--client-secret-file" => b.client_secret_file(read_check(flag, &value)?, false),
            "--client-secret-env" => b.client_secret(Secret::from_env(&value).map_err(|e| e.to_string())?),
            "--private-key-file" => b.private_key_pem(read(flag, &value)?),
            "--private-key-jwk-file" => {
                let jwk = String::from_utf8(read(flag, &value)?).map_err(|_| format!("{flag} {value}: not UTF-8"))?;
                b.private_key_jwk(&jwk)
            }
            "--client-cert-file" => {
                cert = Some(read(flag, &value)?);
                b
            }
            "--client-key-file" => {
                key = Some(read(flag, &value)?);
                b
            }
            "--certificate-file" => b.assertion_certificate_pem(read(flag, &value)?),
            "--pkcs12-file" => {
                pkcs12 = Some(read_check(flag, &value)?);
                b
            }
            "--pkcs12-password-file" | "--pkcs12-password-env" => {
                if let Some((other, _)) = &pkcs12_password {
                    return Err(format!("{other} and {flag}: give the PKCS#12 password once"));
                }
                pkcs12_password = Some(if flag == "--pkcs12-password-file" {
                    ("--pkcs12-password-file", read_password(flag, &value)?)
                } else {
                    ("--pkcs12-password-env", Secret::from_env(&value).map_err(|e| e.to_string())?)
                });
                b
            }
            "--thumbprint" => b.thumbprint(value.parse().map_err(|e: Error| e.to_string())?),
            "--client-assertion-file" => {
                assertion_file = true;
                b.client_assertion_file(read_check(flag, &value)?)
            }
            "--grant-type" => b.grant_type(value.parse().map_err(|e: Error| e.to_string())?),
            "--subject" => b.subject(value),
            "--service-account-file" => b.service_account_file(read_check(flag, &value)?),
            "--auth-method" => b.auth_method(value.parse::<AuthMethod>().map_err(|e| e.to_string())?),
            "--signing-alg" => b.signing_alg(value.parse().map_err(|e: Error| e.to_string())?),
            "--key-id" => b.key_id(value),
            "--assertion-audience" => b.assertion_audience(match value.as_str() {
                "token_endpoint" => AssertionAudience::TokenEndpoint,
                "issuer" => AssertionAudience::Issuer,
                other => AssertionAudience::Custom(other.to_string()),
            }),
            "--assertion-lifetime-ms" => b.assertion_lifetime(millis(&value)?),
            "--scope" => b.scope(value),
            "--audience" => b.audience(value),
            "--resource" => b.resource(value),
            "--param" => {
                let (k, v) = value.split_once('=').ok_or("--param takes NAME=VALUE")?;
                b.extra_param(k, v)
            }
            "--dpop-key-file" => {
                dpop_key = true;
                b.dpop_key_pem(read(flag, &value)?)
            }
            "--ca-file" => b.root_ca_pem(read(flag, &value)?),
            "--trust-store" => b.trust_store(value.parse().map_err(|e: Error| e.to_string())?),
            "--proxy" => b.proxy(value.parse().map_err(|e: Error| e.to_string())?),
            "--connect-timeout-ms" => {
                connect_timeout = millis(&value)?;
                b.connect_timeout(connect_timeout)
            }
            "--request-timeout-ms" => {
                request_timeout = millis(&value)?;
                b.request_timeout(request_timeout)
            }
            "--timeout-ms" => {
                call_timeout = millis(&value)?;
                b.call_timeout(call_timeout)
            }
            "--retry-attempts" => {
                let n = value.parse::<u32>().ok().filter(|n| *n >= 1);
                let max_attempts = n.ok_or_else(|| format!("{flag} takes a whole number of at least 1"))?;
                b.retry_policy(RetryPolicy { max_attempts, ..RetryPolicy::default() })
            }
            "--user-agent" => b.user_agent(value),
            "--cache-dir" => {
                store = Some(Store::Dir(value.into()));
                store_chosen = true;
                b
            }
            "--redis-url" => {
                store = Some(Store::Redis(value));
                store_chosen = true;
                b
            }
            "--redis-ca-file" => b.redis_ca_pem(read(flag, &value)?),
            "--store-timeout-ms" => b.store_timeout(millis(&value)?),
            "--format" => {
                format = match value.as_str() {
                    "token" => Format::Token,
                    "json" => Format::Json,
                    "header" => Format::Header,
                    other => return Err(format!("unknown format `{other}` (token, json or header)")),
                };
                b
            }
            other => return Err(format!("unknown option `{other}`")),
        };
    }
    match (cert, key) {
        (Some(cert), Some(key)) => b = b.client_certificate_pem(cert, key),
        (None, None) => {}
        _ => return Err("--client-cert-file and --client-key-file go together".into()),
    }
    match (pkcs12, pkcs12_password) {
        (Some(path), password) => {
            b = b.pkcs12_file(path, password.map_or_else(|| Secret::new(""), |(_, p)| p));
        }
        (None, Some((flag, _))) => return Err(format!("{flag} needs --pkcs12-file")),
        (None, None) => {}
    }
    // A federated assertion is no lasting credential to derive a shared-store key from: the
    // default cache is left off; one asked for explicitly is refused by the library.
    if assertion_file && !store_chosen {
        store = None;
    }
    if dpop_key && !dpop {
        b = b.dpop(true);
        dpop = true;
    }
    // A key generated for this run only: its tokens are useless to the next run.
    if dpop && !dpop_key {
        store = None;
    }
    b = match store {
        Some(Store::Dir(dir)) => b.cache_dir(dir),
        Some(Store::Redis(url)) => b.redis_url(&url),
        None => b,
    };
    let run = Run { format, call_timeout, request_timeout, connect_timeout, ephemeral_dpop: dpop && !dpop_key, dpop };
    Ok((b, run))
}

/// Where tokens are shared between runs.
enum Store {
    Dir(std::path::PathBuf),
    Redis(String),
}

/// The per-user cache directory (XDG base directory conventions).
fn default_cache_dir() -> Option<std::path::PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|d| std::path::Path::new(d).is_absolute()) {
        Some(dir) => dir.into(),
        None => std::path::PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    Some(base.join("cctoken"))
}

/// Files named on the command line: regular files only (a FIFO would block, `/dev/zero` would
/// never end), at most 1 MiB.
fn regular_file(flag: &str, path: &str) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{flag} {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{flag} {path}: not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(format!("{flag} {path}: larger than 1 MiB"));
    }
    Ok(())
}

const MAX_FILE: u64 = 1 << 20;

fn read(flag: &str, path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    regular_file(flag, path)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_end(&mut bytes))
        .map_err(|e| format!("{flag} {path}: {e}"))?;
    Ok(bytes)
}

/// A password file (one trailing newline, as `echo` writes it, is not part of the password).
fn read_password(flag: &str, path: &str) -> Result<Secret, String> {
    let bytes = zeroize::Zeroizing::new(read(flag, path)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{flag} {path}: not UTF-8"))?;
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(text);
    Ok(Secret::new(text))
}

/// A file the library reads itself (at build): checked here for a clear message.
fn read_check(flag: &str, path: &str) -> Result<String, String> {
    regular_file(flag, path).map(|()| path.to_string())
}
