//! Command line and `--config` file parsing.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use serde::Deserialize;

use crate::state::{AuthMethod, ClientConfig};

pub const DEFAULT_LIFETIME: u64 = 3600;
const DEFAULT_ADDR: &str = "127.0.0.1:0";

pub const USAGE: &str = "\
cctoken-dev-server: a small, real OAuth 2.0 authorization server (client credentials grant,
RFC 6749 section 4.4) for cctoken's tests, the demo and local testing. Not for production.

USAGE:
    cctoken-dev-server [OPTIONS]

OPTIONS:
    --addr HOST:PORT        Address to listen on [default: 127.0.0.1:0]; port 0 picks a free port.
    --allow-non-loopback    Allow listening on a non-loopback address (refused otherwise).
    --client ID             Add a client. The options below up to the next --client configure it.
      --secret SECRET       Its secret (required unless --auth none).
      --scopes A,B,...      Comma-separated scopes it may request [default: any scope].
      --lifetime SECONDS    Lifetime of its tokens [default: the server default].
      --auth METHOD         How it must authenticate: basic | post | none | any | tls |
                            self_signed [default: any].
                            basic = client_secret_basic, post = client_secret_post,
                            none = public client identified by client_id in the body,
                            any = basic or post, tls = tls_client_auth (a certificate from
                            the generated CA), self_signed = self_signed_tls_client_auth
                            (the generated self-signed certificate); both need --tls-dir.
    --lifetime SECONDS      Before any --client: the default token lifetime [default: 3600].
    --config FILE           Read clients from a JSON file (combined with any --client):
                            {\"lifetime\": 3600, \"clients\": [{\"id\": \"svc\", \"secret\": \"s3cret\",
                             \"scopes\": [\"read\"], \"lifetime\": 60, \"auth\": \"any\"}]}
    --tls-dir DIR           Serve HTTPS: generate a CA, a certificate for 127.0.0.1 (only; so
                            `localhost` is a host-name mismatch) and one client certificate per
                            tls/self_signed client, and write them to DIR as ca.pem, server.pem,
                            server-key.pem, <client>.pem and <client>-key.pem.
    --providers-dir DIR     Also serve stand-ins for Microsoft Entra ID (client secret, certificate
                            and federated credentials), a workload-identity federation issuer
                            and Google's service-account token endpoint. Fresh keys, certificates,
                            PKCS#12 files and a Google JSON key are generated into DIR (mode 0600)
                            at every start, described by DIR/providers.json (see PROVIDERS).
    --exit-on-stdin-eof     Exit when standard input is closed (so a test's server dies with it).
    --quiet                 Do not log requests to stderr.
    -h, --help              Print this help.
    -V, --version           Print the version.

    Without any client, one default client is configured: demo-client / demo-secret, any scope,
    auth any. Options also accept the --name=value form.

OUTPUT:
    One line on stdout once listening:  cctoken-dev-server listening on http://127.0.0.1:PORT
    (https:// with --tls-dir)
    Then one line per request on stderr (method, path, status, duration); secrets, Authorization
    headers and tokens are never logged.

ENDPOINTS:
    POST /token                    client credentials grant (form body)
    POST /mtls/token               the same, as the RFC 8705 mTLS alias (--tls-dir only)
    GET  /.well-known/oauth-authorization-server   RFC 8414 metadata (issuer = this server)
    GET  /.well-known/openid-configuration         the same metadata
    GET  /resource                 protected resource: needs Authorization: Bearer <issued token>
    POST /introspect               form token=...  ->  {\"active\": true, ...} | {\"active\": false}
    POST /_dev/revoke              revoke every issued token  ->  {\"revoked\": n}
    GET  /_dev/stats               request counters
    GET  /_dev/last-token-request  what reached /token last (secrets redacted)
    POST /_dev/reset               clear faults, counters, settings, last request
    POST /_dev/settings            {\"basic_decoding\": \"form\" | \"raw\"}
    POST /_dev/fault               queue a fault for coming /token requests (JSON)
    DELETE /_dev/fault             clear the fault queue
    ANY  /_dev/redirect-target     where the redirect fault points

PROVIDERS (--providers-dir DIR; TENANT is the fixed tenant id in DIR/providers.json):
    POST /TENANT/oauth2/v2.0/token Entra ID v2.0 token endpoint: client_credentials with one
                                   RESOURCE/.default scope; client_secret (basic or post), a
                                   certificate assertion (RS256/PS256, x5t / x5t#S256 / x5c, aud =
                                   this URL, iss = sub = client id, unique jti, at most 600 s) or
                                   a federated assertion. Entra's answers and AADSTS error bodies.
    GET  /TENANT/v2.0/.well-known/openid-configuration, /TENANT/discovery/v2.0/keys
    GET  /federation/.well-known/openid-configuration, /federation/jwks   the federation issuer
    GET  /_dev/federated-token?ttl=SECONDS[&sub=S][&aud=A]   a JWT from the federation issuer
                                   (text/plain); a negative ttl is already expired
    POST /google/token             Google's JWT bearer grant for the generated service account
    GET  /_dev/last-assertion      the last client_assertion / assertion received, decoded:
                                   {\"header\", \"claims\", \"form\": {param: value, secrets [present]}}
    /_dev/stats adds entra_token_requests and google_token_requests; /_dev/reset zeroes them.
    providers.json names every URL, client id, secret and file (see dev-server/tests/providers.rs).

FAULTS (POST /_dev/fault, JSON; fields optional and combinable, unknown fields are a 400):
    Each /token request takes the fault at the front of the queue; after `count` requests it is
    dropped. Answers {\"queued\": n}.
    count N                 how many requests it applies to [default: 1]; 0 = until cleared
    latency_ms N            sleep before answering (the request counts as in flight meanwhile)
    status N                answer N without authenticating: with `error`, an RFC 6749 5.2 JSON body;
                            otherwise an empty body
    error, error_description  the error of that body; on a 200 (no status), a 200 carrying an error
    retry_after \"V\"         a Retry-After header, verbatim
    body KIND               malformed | truncated | empty | html | close_mid_body (not
                            authenticated), or oversized (2 MiB) | form (urlencoded), both a real token
    expires_in V            any JSON value, sent verbatim; omit_expires_in: true leaves it out
    token_type \"T\"          instead of Bearer; omit_token_type: true leaves it out
    omit_scope true         leave scope out
    access_token_format \"jwt\"  a JWT-shaped (unsigned) access token
    extra {...}             fields merged into a successful answer
    redirect true           307 to /_dev/redirect-target (which counts hits and credentials seen)
    echo KIND               answer `status` (default 400), unauthenticated, quoting the credentials
                            received: verbatim | html | json_escaped | percent | basic_unpadded |
                            basic_truncated | secret_truncated | oauth | assertion

EXAMPLES:
    # Default client demo-client / demo-secret on a random port:
    cctoken-dev-server

    # Fixed port, two clients:
    cctoken-dev-server --addr 127.0.0.1:8080 \\
        --client svc-a --secret 's3cret' --scopes read,write --lifetime 60 \\
        --client cli --auth none

    # Get a token and use it:
    curl -s -u demo-client:demo-secret -d grant_type=client_credentials http://127.0.0.1:8080/token
    curl -s -H 'Authorization: Bearer dev-...' http://127.0.0.1:8080/resource

    # Make the next two token requests fail with 503 and Retry-After: 1:
    curl -s -d '{\"status\": 503, \"error\": \"temporarily_unavailable\", \"retry_after\": \"1\", \"count\": 2}' \\
        http://127.0.0.1:8080/_dev/fault

    # Slow every token request down by 2 s until cleared, then clear it:
    curl -s -d '{\"latency_ms\": 2000, \"count\": 0}' http://127.0.0.1:8080/_dev/fault
    curl -s -X DELETE http://127.0.0.1:8080/_dev/fault

    # Entra ID, federation issuer and Google stand-ins; fixtures and providers.json in ./providers:
    cctoken-dev-server --providers-dir ./providers

    # In a test: start on a free port, read the port from the first stdout line, and let the
    # server die with the test process:
    cctoken-dev-server --addr 127.0.0.1:0 --exit-on-stdin-eof --quiet
";

/// What the command line asks for.
pub enum Command {
    Run(Config),
    Help,
    Version,
}

/// Everything the server needs to start.
#[derive(Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub clients: Vec<ClientConfig>,
    pub exit_on_stdin_eof: bool,
    pub quiet: bool,
    /// HTTPS mode: where the generated CA and certificates are written.
    pub tls_dir: Option<PathBuf>,
    /// Where the provider stand-ins' fixtures and providers.json are written.
    pub providers_dir: Option<PathBuf>,
}

#[derive(Debug)]
pub struct CliError(String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(msg: impl Into<String>) -> CliError {
    CliError(msg.into())
}

/// A client as written on the command line or in the config file, before defaults apply.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSpec {
    id: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    lifetime: Option<u64>,
    #[serde(default)]
    auth: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    lifetime: Option<u64>,
    #[serde(default)]
    clients: Vec<ClientSpec>,
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, CliError> {
    let mut args = args.into_iter();
    let mut addr = DEFAULT_ADDR.to_string();
    let mut allow_non_loopback = false;
    let mut exit_on_stdin_eof = false;
    let mut quiet = false;
    let mut default_lifetime = None;
    let mut config_file = None;
    let mut tls_dir = None;
    let mut providers_dir = None;
    let mut specs: Vec<ClientSpec> = Vec::new();

    while let Some(arg) = args.next() {
        // Accept both `--name value` and `--name=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, CliError> {
            inline.clone().or_else(|| args.next()).ok_or_else(|| err(format!("{name} needs a value")))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--addr" => addr = value()?,
            "--allow-non-loopback" => allow_non_loopback = true,
            "--exit-on-stdin-eof" => exit_on_stdin_eof = true,
            "--quiet" => quiet = true,
            "--config" => config_file = Some(value()?),
            "--tls-dir" => tls_dir = Some(PathBuf::from(value()?)),
            "--providers-dir" => providers_dir = Some(PathBuf::from(value()?)),
            "--client" => specs.push(ClientSpec { id: value()?, ..ClientSpec::default() }),
            "--lifetime" => {
                let lifetime = parse_lifetime(&value()?)?;
                match specs.last_mut() {
                    Some(spec) => spec.lifetime = Some(lifetime),
                    None => default_lifetime = Some(lifetime),
                }
            }
            "--secret" => current(&mut specs, &name)?.secret = Some(value()?),
            "--scopes" => {
                let scopes = value()?;
                current(&mut specs, &name)?.scopes =
                    scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            }
            "--auth" => current(&mut specs, &name)?.auth = Some(value()?),
            other => return Err(err(format!("unknown argument {other:?} (see --help)"))),
        }
    }

    if let Some(path) = config_file {
        let text = fs::read_to_string(&path).map_err(|e| err(format!("cannot read {path}: {e}")))?;
        let file: ConfigFile = serde_json::from_str(&text).map_err(|e| err(format!("{path}: {e}")))?;
        // The command line wins over the file for the default lifetime.
        default_lifetime = default_lifetime.or(file.lifetime);
        specs.splice(0..0, file.clients);
    }

    let default_lifetime = default_lifetime.unwrap_or(DEFAULT_LIFETIME);
    let clients = if specs.is_empty() {
        vec![ClientConfig {
            id: "demo-client".into(),
            secret: Some("demo-secret".into()),
            scopes: Vec::new(),
            lifetime: default_lifetime,
            auth: AuthMethod::Any,
        }]
    } else {
        resolve_clients(specs, default_lifetime)?
    };

    let needs_tls = clients.iter().any(|c| matches!(c.auth, AuthMethod::Tls | AuthMethod::SelfSignedTls));
    if needs_tls && tls_dir.is_none() {
        return Err(err("clients with auth tls or self_signed need --tls-dir"));
    }
    let addr = resolve_addr(&addr, allow_non_loopback)?;
    Ok(Command::Run(Config { addr, clients, exit_on_stdin_eof, quiet, tls_dir, providers_dir }))
}

fn current<'a>(specs: &'a mut [ClientSpec], option: &str) -> Result<&'a mut ClientSpec, CliError> {
    specs.last_mut().ok_or_else(|| err(format!("{option} must follow a --client ID")))
}

fn parse_lifetime(text: &str) -> Result<u64, CliError> {
    text.parse().map_err(|_| err(format!("invalid lifetime {text:?}: expected whole seconds")))
}

fn parse_auth(text: &str) -> Result<AuthMethod, CliError> {
    match text {
        "basic" | "client_secret_basic" => Ok(AuthMethod::Basic),
        "post" | "client_secret_post" => Ok(AuthMethod::Post),
        "none" => Ok(AuthMethod::None),
        "any" => Ok(AuthMethod::Any),
        "tls" | "tls_client_auth" => Ok(AuthMethod::Tls),
        "self_signed" | "self_signed_tls_client_auth" => Ok(AuthMethod::SelfSignedTls),
        _ => Err(err(format!("invalid auth method {text:?}: expected basic, post, none, any, tls or self_signed"))),
    }
}

fn resolve_clients(specs: Vec<ClientSpec>, default_lifetime: u64) -> Result<Vec<ClientConfig>, CliError> {
    let mut seen = HashSet::new();
    specs
        .into_iter()
        .map(|spec| {
            if spec.id.is_empty() {
                return Err(err("a client id must not be empty"));
            }
            if !seen.insert(spec.id.clone()) {
                return Err(err(format!("client {:?} is configured twice", spec.id)));
            }
            let auth = spec.auth.as_deref().map(parse_auth).transpose()?.unwrap_or(AuthMethod::Any);
            match (auth, &spec.secret) {
                (AuthMethod::None | AuthMethod::Tls | AuthMethod::SelfSignedTls, Some(_)) => {
                    return Err(err(format!("client {:?}: a client with auth {} has no secret", spec.id, auth.name())));
                }
                (AuthMethod::Basic | AuthMethod::Post | AuthMethod::Any, None) => {
                    return Err(err(format!("client {:?} needs a secret (or auth none)", spec.id)));
                }
                _ => {}
            }
            Ok(ClientConfig {
                id: spec.id,
                secret: spec.secret,
                scopes: spec.scopes,
                lifetime: spec.lifetime.unwrap_or(default_lifetime),
                auth,
            })
        })
        .collect()
}

fn resolve_addr(addr: &str, allow_non_loopback: bool) -> Result<SocketAddr, CliError> {
    let resolved: Vec<SocketAddr> =
        addr.to_socket_addrs().map_err(|e| err(format!("invalid --addr {addr:?}: {e}")))?.collect();
    let first = *resolved.first().ok_or_else(|| err(format!("--addr {addr:?} resolves to nothing")))?;
    if !allow_non_loopback && !first.ip().is_loopback() {
        return Err(err(format!(
            "refusing to listen on non-loopback address {first}: this is a test server (use --allow-non-loopback)"
        )));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, CliError> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(config) => Ok(config),
            _ => panic!("expected a run command"),
        }
    }

    #[test]
    fn default_client() {
        let config = run(&[]).unwrap();
        assert_eq!(config.clients.len(), 1);
        assert_eq!(config.clients[0].id, "demo-client");
        assert_eq!(config.clients[0].lifetime, DEFAULT_LIFETIME);
    }

    #[test]
    fn client_options_apply_to_latest_client() {
        let config = run(&[
            "--lifetime=100",
            "--client",
            "a",
            "--secret",
            "x:y",
            "--client",
            "b",
            "--auth",
            "none",
            "--scopes",
            "read, write",
            "--lifetime",
            "5",
        ])
        .unwrap();
        assert_eq!(config.clients[0].lifetime, 100);
        assert_eq!(config.clients[0].secret.as_deref(), Some("x:y"));
        assert_eq!(config.clients[1].auth, AuthMethod::None);
        assert_eq!(config.clients[1].scopes, ["read", "write"]);
        assert_eq!(config.clients[1].lifetime, 5);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(run(&["--secret", "x"]).is_err());
        assert!(run(&["--client", "a"]).is_err());
        assert!(run(&["--client", "a", "--auth", "none", "--secret", "x"]).is_err());
        assert!(run(&["--client", "a", "--secret", "x", "--client", "a", "--secret", "y"]).is_err());
        assert!(run(&["--addr", "0.0.0.0:0"]).is_err());
        assert!(run(&["--addr", "0.0.0.0:0", "--allow-non-loopback"]).is_ok());
        assert!(run(&["--bogus"]).is_err());
        assert!(run(&["--providers-dir"]).is_err());
    }

    #[test]
    fn providers_dir() {
        assert_eq!(run(&[]).unwrap().providers_dir, None);
        let config = run(&["--providers-dir=/tmp/p", "--client", "a", "--secret", "x"]).unwrap();
        assert_eq!(config.providers_dir, Some(PathBuf::from("/tmp/p")));
        assert_eq!(config.clients.len(), 1, "combinable with the other options");
    }
}
