//! Listening, dispatching each request to its own thread, routing and logging.

use std::error::Error;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use serde_json::json;
use tiny_http::{Method, Request, Server};

use crate::cli::Config;
use crate::conn::ConnectionKicker;
use crate::http::{self, Outcome, Reply, with_header};
use crate::state::{InFlight, State, Stats};
use crate::tls::Tls;
use crate::{dev, providers, resource, token};

/// Every path and the methods it answers, for 405's `Allow` header.
const ROUTES: &[(&str, &str)] = &[
    ("/token", "POST"),
    ("/mtls/token", "POST"),
    ("/.well-known/oauth-authorization-server", "GET"),
    ("/.well-known/openid-configuration", "GET"),
    ("/resource", "GET"),
    ("/introspect", "POST"),
    ("/_dev/revoke", "POST"),
    ("/_dev/stats", "GET"),
    ("/_dev/last-token-request", "GET"),
    ("/_dev/reset", "POST"),
    ("/_dev/settings", "GET, POST"),
    ("/_dev/fault", "POST, DELETE"),
];

pub fn run(config: Config) -> Result<(), Box<dyn Error + Send + Sync>> {
    let listener = TcpListener::bind(config.addr).map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let public = listener.local_addr()?;
    let (server, addr, scheme) = match &config.tls_dir {
        None => (Server::from_listener(listener, None)?, public, "http"),
        Some(dir) => {
            // HTTPS: the TLS front owns the public listener and relays to a private HTTP one.
            let tls = Arc::new(Tls::generate(dir, &config.clients)?);
            let inner = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            let inner_addr = inner.local_addr()?;
            let mut state = State::new(config.clients.clone(), inner_addr, public, "https", config.quiet);
            state.client_cert_sha256 = tls.client_cert_sha256.clone();
            add_providers(&mut state, &config)?;
            let state = Arc::new(state);
            let front_state = Arc::clone(&state);
            thread::spawn(move || tls.serve(listener, inner_addr, front_state));
            return serve(Server::from_listener(inner, None)?, &config, state, public, "https");
        }
    };
    let mut state = State::new(config.clients.clone(), addr, public, scheme, config.quiet);
    add_providers(&mut state, &config)?;
    serve(server, &config, Arc::new(state), public, scheme)
}

/// `--providers-dir`: generates the fixtures (before the listening line, so a test that has
/// read it finds providers.json complete) and adds the stand-ins.
fn add_providers(state: &mut State, config: &Config) -> Result<(), Box<dyn Error + Send + Sync>> {
    if let Some(dir) = &config.providers_dir {
        state.providers = Some(providers::generate(dir, &state.base_url)?);
    }
    Ok(())
}

fn serve(
    server: Server,
    config: &Config,
    state: Arc<State>,
    public: SocketAddr,
    scheme: &str,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    let addr = state.addr;
    // The one line on stdout: tests read the port from it, so flush it at once.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "cctoken-dev-server listening on {scheme}://{public}")?;
    stdout.flush()?;
    drop(stdout);

    if config.exit_on_stdin_eof {
        // An orphaned test server must not outlive the test: its parent holding our stdin is the
        // signal, because the pipe closes however the parent dies.
        thread::spawn(|| {
            let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
            std::process::exit(0);
        });
    }

    // A thread per request: tests hold many /token requests in a slow fault while /_dev/* must
    // still answer, so nothing may wait behind a sleeping request.
    let kicker = ConnectionKicker::start(addr);
    for request in server.incoming_requests() {
        kicker.request_arrived();
        let state = Arc::clone(&state);
        let quiet = config.quiet;
        let spawned = thread::Builder::new().name("request".into()).spawn(move || handle(&state, request, quiet));
        if let Err(e) = spawned {
            // The request was dropped with the closure, which makes tiny_http answer 500.
            eprintln!("cannot start a request thread: {e}");
        }
    }
    Ok(())
}

fn handle(state: &State, mut request: Request, quiet: bool) {
    let started = Instant::now();
    let method = request.method().clone();
    // The query string is left out: it is never needed, and it is no place to log from.
    let path = http::path(&request).to_string();

    // HTTPS mode also serves the token endpoint at its RFC 8705 mTLS alias.
    let mtls_alias = path == "/mtls/token" && state.is_https();
    let provider_reply = state.providers.as_ref().and_then(|p| p.handle(state, &method, &mut request));
    let status = if let Some(reply) = provider_reply {
        http::send(request, reply.into(), state.addr)
    } else if path == "/token" || mtls_alias {
        // Counted on arrival, in flight until the response is written (the guard drops last).
        let _in_flight = InFlight::start(&state.stats);
        if mtls_alias {
            Stats::bump(&state.stats.mtls_alias_requests);
        }
        let outcome = match method {
            Method::Post => token::handle(state, &mut request),
            _ => Outcome::Reply(not_found_or_not_allowed(&path)),
        };
        http::send(request, outcome, state.addr)
    } else {
        let reply = route(state, &method, &path, &mut request);
        http::send(request, reply.into(), state.addr)
    };

    if !quiet {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        // Logging must never take the server down, e.g. when stderr is closed.
        let _ = writeln!(io::stderr(), "{method} {path} {status} {ms:.1}ms");
    }
}

fn route(state: &State, method: &Method, path: &str, request: &mut Request) -> Reply {
    match (path, method) {
        ("/.well-known/oauth-authorization-server", Method::Get) => token::metadata(state, false),
        ("/.well-known/openid-configuration", Method::Get) => token::metadata(state, true),
        ("/resource", Method::Get) => resource::resource(state, request),
        ("/introspect", Method::Post) => resource::introspect(state, request),
        ("/_dev/revoke", Method::Post) => dev::revoke(state),
        ("/_dev/stats", Method::Get) => dev::stats(state),
        ("/_dev/last-token-request", Method::Get) => dev::last_token_request(state),
        ("/_dev/reset", Method::Post) => dev::reset(state),
        ("/_dev/settings", Method::Get) => dev::get_settings(state),
        ("/_dev/settings", Method::Post) => dev::set_settings(state, request),
        ("/_dev/fault", Method::Post) => dev::push_fault(state, request),
        ("/_dev/fault", Method::Delete) => dev::clear_faults(state),
        ("/_dev/redirect-target", _) => dev::redirect_target(state, request),
        _ => not_found_or_not_allowed(path),
    }
}

fn not_found_or_not_allowed(path: &str) -> Reply {
    match ROUTES.iter().find(|(p, _)| *p == path) {
        Some((_, allow)) => with_header(http::json(405, &json!({"error": "method_not_allowed"})), "Allow", allow),
        None => http::json(404, &json!({"error": "not_found"})),
    }
}
