//! `cctoken token ...`: fetch one access token for shell scripts, cron jobs and CI pipelines.

use std::process::ExitCode;
use std::time::Duration;

use cctoken::{AuthMethod, Client, Secret};

const USAGE: &str = "\
usage: cctoken token (--token-url URL | --issuer URL) --client-id ID
                     (--client-secret-file PATH | --client-secret-env VAR | --private-key-file PEM
                      | --client-cert-file PEM --client-key-file PEM | --auth-method none)
                     [--scope S]... [--audience A] [--resource URI]... [--param NAME=VALUE]...
                     [--auth-method client_secret_basic|client_secret_basic_raw|client_secret_post|
                                    client_secret_jwt|private_key_jwt|tls_client_auth|
                                    self_signed_tls_client_auth|none]
                     [--key-id KID] [--ca-file PEM]... [--dpop] [--timeout-ms N]
                     [--format token|json|header]
                     [--no-cache | --cache-dir DIR | --redis-url URL [--redis-ca-file PEM]]
                     [--store-timeout-ms N]

Prints an OAuth 2.0 client-credentials access token (RFC 6749 §4.4).
  --format token   the access token alone (default)
  --format json    {\"access_token\",\"token_type\",\"expires_in\",\"scope\"}
  --format header  Authorization: <type> <token>
The secret is never taken on the command line (it would show in `ps`).
Tokens are cached, encrypted, in $XDG_CACHE_HOME/cctoken (else ~/.cache/cctoken), so
repeated runs make one token request per token lifetime; --no-cache turns that off,
--cache-dir picks another directory, --redis-url shares tokens through Redis instead
(put a password in CCTOKEN_REDIS_URL rather than on the command line, where `ps` shows it).
Exit status: 0 success, 1 the token could not be obtained, 2 usage error.

example:
  curl -H \"$(cctoken token --token-url https://as.example.com/token --client-id svc \\
      --client-secret-file /run/secrets/svc --scope read --format header)\" https://api.example.com/
";

enum Format {
    Token,
    Json,
    Header,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("token") => {}
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("--version" | "-V") => {
            println!("cctoken {}", cctoken::VERSION);
            return ExitCode::SUCCESS;
        }
        _ => return usage_error("expected the `token` subcommand"),
    }
    let (builder, format, timeout) = match parse(&args[1..]) {
        Ok(parsed) => parsed,
        Err(msg) => return usage_error(&msg),
    };
    let result = builder.build().and_then(|client| client.token_timeout(timeout));
    match result {
        Ok(token) => {
            match format {
                Format::Token => println!("{}", token.access_token()),
                Format::Header => println!("Authorization: {}", token.authorization_header()),
                Format::Json => println!(
                    "{}",
                    serde_json::json!({
                        "access_token": token.access_token(),
                        "token_type": token.token_type(),
                        "expires_in": token.expires_in().as_secs(),
                        "scope": token.scope(),
                    })
                ),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cctoken: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("cctoken: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

fn parse(args: &[String]) -> Result<(cctoken::ClientBuilder, Format, Duration), String> {
    let mut b = Client::builder();
    let mut format = Format::Token;
    let mut timeout = Duration::from_secs(30);
    let (mut cert, mut key) = (None, None);
    let mut store = match std::env::var("CCTOKEN_REDIS_URL") {
        Ok(url) => Some(Store::Redis(url)),
        Err(_) => default_cache_dir().map(Store::Dir),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err("help requested".into());
        }
        if flag == "--dpop" {
            b = b.dpop(true);
            continue;
        }
        if flag == "--no-cache" {
            store = None;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        b = match flag.as_str() {
            "--token-url" => b.token_url(value),
            "--issuer" => b.issuer(value),
            "--private-key-file" => b.private_key_pem(read(flag, value)?),
            "--key-id" => b.key_id(value),
            "--client-cert-file" => {
                cert = Some(read(flag, value)?);
                b
            }
            "--client-key-file" => {
                key = Some(read(flag, value)?);
                b
            }
            "--ca-file" => b.root_ca_pem(read(flag, value)?),
            "--client-id" => b.client_id(value),
            "--client-secret-file" => b.client_secret_file(value, false),
            "--client-secret-env" => b.client_secret(Secret::from_env(value).map_err(|e| e.to_string())?),
            "--auth-method" => b.auth_method(value.parse::<AuthMethod>().map_err(|e| e.to_string())?),
            "--scope" => b.scope(value),
            "--audience" => b.audience(value),
            "--resource" => b.resource(value),
            "--param" => {
                let (k, v) = value.split_once('=').ok_or("--param takes NAME=VALUE")?;
                b.extra_param(k, v)
            }
            "--timeout-ms" => {
                timeout = Duration::from_millis(value.parse().map_err(|_| "--timeout-ms takes a number")?);
                b.call_timeout(timeout)
            }
            "--cache-dir" => {
                store = Some(Store::Dir(value.into()));
                b
            }
            "--redis-url" => {
                store = Some(Store::Redis(value.clone()));
                b
            }
            "--redis-ca-file" => b.redis_ca_pem(read(flag, value)?),
            "--store-timeout-ms" => {
                b.store_timeout(Duration::from_millis(value.parse().map_err(|_| "--store-timeout-ms takes a number")?))
            }
            "--format" => {
                format = match value.as_str() {
                    "token" => Format::Token,
                    "json" => Format::Json,
                    "header" => Format::Header,
                    other => return Err(format!("unknown format `{other}`")),
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
    b = match store {
        Some(Store::Dir(dir)) => b.cache_dir(dir),
        Some(Store::Redis(url)) => b.redis_url(&url),
        None => b,
    };
    Ok((b, format, timeout))
}

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

fn read(flag: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {path}: {e}"))
}
