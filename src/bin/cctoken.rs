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
                     [--format token|json|header] [--verbose] [--log-format human|json]

Prints an OAuth 2.0 client-credentials access token (RFC 6749 §4.4).
  --format token   the access token alone (default)
  --format json    {\"access_token\",\"token_type\",\"expires_in\",\"scope\"}
  --format header  Authorization: <type> <token>
  --verbose        what cctoken does (each token request attempt, retries, cool-downs...) on
                   stderr, one line per event; never a secret or a token
  --log-format F   those lines as `human` (default) or `json` (one object per line; implies
                   --verbose)
The secret is never taken on the command line (it would show in `ps`).
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
    let mut args = args;
    let log = match take_log_flags(&mut args) {
        Ok(log) => log,
        Err(msg) => return usage_error(&msg),
    };
    let (mut builder, format, timeout) = match parse(&args[1..]) {
        Ok(parsed) => parsed,
        Err(msg) => return usage_error(&msg),
    };
    if let Some(json) = log {
        builder = builder.on_event(move |e| log_event(e, json));
    }
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
    eprintln!("cctoken: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

fn parse(args: &[String]) -> Result<(cctoken::ClientBuilder, Format, Duration), String> {
    let mut b = Client::builder();
    let mut format = Format::Token;
    let mut timeout = Duration::from_secs(30);
    let (mut cert, mut key) = (None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err("help requested".into());
        }
        if flag == "--dpop" {
            b = b.dpop(true);
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
    Ok((b, format, timeout))
}

fn read(flag: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {path}: {e}"))
}
