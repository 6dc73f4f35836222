//! One token request: build it from the config, send it with ureq, parse the answer; and the
//! retry loop around it. Nothing here knows about the cache or about callers.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use parking_lot::{Mutex, RwLock};
use zeroize::Zeroizing;

use crate::Error;
use crate::clock::BootTime;
use crate::config::{AssertionAudience, AuthMethod, Config, Endpoint, GrantType};
use crate::error::TransportKind;
use crate::jwt::{self, Signer, SigningAlg};
use crate::metrics::Counters;
use crate::redact::Echoes;
use crate::response::{self, Answer, Parsed};
use crate::secret::{Secret, SecretSource};

/// Token responses larger than this are refused (RFC 6749 sets no limit; 1 MiB is what
/// golang.org/x/oauth2 allows too).
const MAX_BODY: u64 = 1 << 20;

/// Longer timeouts are taken as this ("no limit" for a token request).
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// A parsed token response and when its request was sent: expiry counts from then.
pub(crate) struct Fetched {
    pub parsed: Parsed,
    pub sent_at: BootTime,
}

pub(crate) struct Fetcher {
    cfg: Arc<Config>,
    /// One agent per client, so the connection to the token endpoint is kept alive.
    agent: ureq::Agent,
    /// Replaceable at run time (secret rotation); read once per request.
    secret: RwLock<Option<SecretSource>>,
    /// The `scope` parameter, space-joined once.
    scope: Option<String>,
    /// Token endpoint and auth method: from the config, or discovered at the first fetch.
    resolved: OnceLock<Resolved>,
    /// The latest `DPoP-Nonce` from the token endpoint (RFC 9449 §8), sent with later proofs.
    dpop_nonce: Mutex<Option<String>>,
    /// Bumped by every `set_secret`, for the cache's cool-down (see `config_stamp`).
    secret_generation: std::sync::atomic::AtomicU64,
    /// Set by `cancel` (the client is gone); retry sleeps wait on `cancel_wake`.
    cancelled: Mutex<bool>,
    cancel_wake: parking_lot::Condvar,
}

/// ureq's resolver, minus the lookup for an IP-literal host. With a timeout set, ureq resolves
/// on a new thread for every request, even over a kept-alive connection; an IP address needs
/// no lookup (and no thread). Host names go to ureq's resolver, lookup thread and timeout.
#[derive(Debug)]
struct Resolver;

impl ureq::unversioned::resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        use ureq::unversioned::resolver::DefaultResolver;
        let host = uri.host().unwrap_or_default();
        let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>();
        let port = uri.port_u16().or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        match (ip, port) {
            (Ok(ip), Some(port)) => {
                let mut addrs = DefaultResolver::default().empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}

/// Where and how to ask for tokens.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub token_url: url::Url,
    pub auth_method: AuthMethod,
    /// The issuer identifier, when known (discovery).
    pub issuer: Option<String>,
}

impl Fetcher {
    pub fn new(cfg: Arc<Config>) -> Result<Self, Error> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(cert) = &cfg.client_cert {
            tls = tls.client_cert(Some(cert.tls.clone()));
        }
        tls = tls.root_certs(crate::net::root_certs(cfg.trust_store, &cfg.root_certs)?);
        let config = ureq::Agent::config_builder()
            // Decided at build time (`net::route`); never ureq's own reading of the environment.
            .proxy(cfg.proxy.as_ref().map(|r| r.proxy.clone()))
            .http_status_as_error(false) // error bodies carry the OAuth error: read them
            .max_redirects(0) // never follow: a redirect would carry the credentials elsewhere
            // ureq adds these to `Instant`s: an absurd value (Duration::MAX) would overflow.
            .timeout_connect(Some(cfg.connect_timeout.min(MAX_TIMEOUT)))
            .timeout_global(Some(cfg.request_timeout.min(MAX_TIMEOUT)))
            .user_agent(cfg.user_agent.as_str())
            .tls_config(tls.build())
            .build();
        let agent = ureq::Agent::with_parts(config, ureq::unversioned::transport::DefaultConnector::new(), Resolver);
        let scope = (!cfg.scopes.is_empty()).then(|| cfg.scopes.join(" "));
        let secret = RwLock::new(cfg.secret.clone());
        let resolved = OnceLock::new();
        if let Endpoint::TokenUrl(url) = &cfg.endpoint {
            let auth_method = cfg.auth_method.expect("validate picks a method for a fixed token URL");
            let _ = resolved.set(Resolved { token_url: url.clone(), auth_method, issuer: None });
        }
        Ok(Fetcher {
            cfg,
            agent,
            secret,
            scope,
            resolved,
            dpop_nonce: Mutex::new(None),
            secret_generation: Default::default(),
            cancelled: Mutex::new(false),
            cancel_wake: parking_lot::Condvar::new(),
        })
    }

    /// The token endpoint and method, discovering them on first use when configured with an
    /// issuer. Failed discovery is not remembered: the next fetch tries again.
    fn resolved(&self, deadline: Instant) -> Result<&Resolved, Error> {
        if let Some(r) = self.resolved.get() {
            return Ok(r);
        }
        let Endpoint::Issuer(issuer) = &self.cfg.endpoint else {
            unreachable!("a fixed token URL is resolved at construction")
        };
        let r = crate::discovery::discover(&self.agent, issuer, &self.cfg, deadline)?;
        self.cfg.events.discovered(issuer, &r.token_url, r.auth_method);
        Ok(self.resolved.get_or_init(|| r))
    }

    /// An RFC 9449 proof for a request to a resource server, made with this client's DPoP key.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, Error> {
        let key =
            self.cfg.dpop_key.as_ref().ok_or_else(|| Error::config("dpop", "DPoP is not enabled on this client"))?;
        Ok(jwt::dpop_proof(key, method, url, token, nonce)?.to_string())
    }

    pub fn set_secret(&self, secret: Secret) -> Result<(), Error> {
        if self.cfg.secret.is_none() {
            return Err(Error::config("client_secret", "this client was built without a secret"));
        }
        if secret.expose().is_empty() {
            return Err(Error::config("client_secret", "empty"));
        }
        *self.secret.write() = Some(SecretSource::Value(secret));
        self.secret_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Identifies the configuration a fetch runs with: changes when the secret is replaced or
    /// a re-read secret file changes (size, modification time or file: a Kubernetes mount swaps
    /// the file). One `stat` at most; called on the error path only.
    pub fn config_stamp(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.secret_generation.load(std::sync::atomic::Ordering::SeqCst).hash(&mut h);
        let secret = self.secret.read();
        let reread = match &*secret {
            Some(SecretSource::File { path, reread: true, .. }) => Some(path),
            _ => None,
        };
        // A rotated federated assertion file ends a cool-down too.
        for path in reread.into_iter().chain(self.cfg.assertion_file.as_ref()) {
            match std::fs::metadata(path) {
                Ok(m) => {
                    m.len().hash(&mut h);
                    m.modified().ok().hash(&mut h);
                    #[cfg(unix)]
                    std::os::unix::fs::MetadataExt::ino(&m).hash(&mut h);
                }
                Err(e) => e.kind().hash(&mut h),
            }
        }
        h.finish()
    }

    /// Ends this fetcher's work: retry sleeps wake up, no new attempt starts, and the agent's
    /// connections are shut down, which interrupts a request in flight (a TCP connect in
    /// progress is bounded by `connect_timeout`).
    pub fn cancel(&self) {
        *self.cancelled.lock() = true;
        self.cancel_wake.notify_all();
        self.agent.clone().shutdown();
    }

    /// Sleeps for `d` unless cancelled first; `false` if cancelled.
    fn sleep_unless_cancelled(&self, d: Duration) -> bool {
        let mut cancelled = self.cancelled.lock();
        let end = Instant::now().checked_add(d);
        while !*cancelled {
            match end {
                Some(end) => {
                    if self.cancel_wake.wait_until(&mut cancelled, end).timed_out() {
                        return !*cancelled;
                    }
                }
                None => self.cancel_wake.wait(&mut cancelled),
            }
        }
        false
    }

    /// Requests a token, retrying transient failures with backoff until `deadline`.
    pub fn request(&self, deadline: Instant, counters: &Counters) -> Result<Fetched, Error> {
        let retry = self.cfg.retry;
        let audit = self.cfg.events.request(counters, retry.max_attempts);
        let mut attempt = 1;
        loop {
            if *self.cancelled.lock() {
                return Err(cancelled_error());
            }
            let err = match self.attempt(deadline) {
                Ok(f) => {
                    audit.succeeded(attempt, &f.parsed);
                    return Ok(f);
                }
                Err(_) if *self.cancelled.lock() => return Err(cancelled_error()),
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= retry.max_attempts {
                audit.failed(attempt, &err, None);
                return Err(err);
            }
            // Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^n)], from the
            // OS so that forked workers do not retry in step.
            let ceiling = retry.base_delay.saturating_mul(1 << (attempt - 1).min(20)).min(retry.max_delay);
            let jitter = ceiling.mul_f64(crate::cache::os_random_unit());
            // The server's Retry-After is clamped where it is parsed; the sum is checked anyway.
            let delay = err.retry_after().map_or(jitter, |ra| ra.max(jitter));
            if Instant::now().checked_add(delay).is_none_or(|wake| wake >= deadline) {
                audit.failed(attempt, &err, None);
                return Err(err);
            }
            audit.failed(attempt, &err, Some(delay));
            Counters::bump(&counters.retries);
            if !self.sleep_unless_cancelled(delay) {
                return Err(cancelled_error());
            }
            attempt += 1;
        }
    }

    /// One token request; with DPoP, answers one `use_dpop_nonce` challenge by resending.
    fn attempt(&self, deadline: Instant) -> Result<Fetched, Error> {
        let resolved = self.resolved(deadline)?;
        if let Some(SecretSource::File { path, reread: true, .. }) = &*self.secret.read() {
            self.cfg.events.secret_file_reread("secret file", path);
        }
        if let Some(path) = &self.cfg.assertion_file {
            // The same event as a re-read secret file: the path, never the contents.
            self.cfg.events.secret_file_reread("assertion file", path);
        }
        let secret = self.secret.read().as_ref().map(SecretSource::current).transpose()?;
        let secret_text = secret.as_ref().map_or("", Secret::expose);
        let mut nonce_retry = self.cfg.dpop_key.is_some();
        loop {
            let nonce_before = self.dpop_nonce.lock().clone();
            match self.exchange(resolved, secret_text, nonce_before.as_deref(), deadline) {
                Err(Error::OAuth(e))
                    if nonce_retry && e.error == "use_dpop_nonce" && *self.dpop_nonce.lock() != nonce_before =>
                {
                    nonce_retry = false;
                }
                other => return other,
            }
        }
    }

    fn exchange(
        &self,
        resolved: &Resolved,
        secret_text: &str,
        dpop_nonce: Option<&str>,
        deadline: Instant,
    ) -> Result<Fetched, Error> {
        let cfg = &*self.cfg;
        let mut body = Zeroizing::new(String::new());
        let mut form = form_urlencoded::Serializer::new(&mut *body);
        // Every credential form this request sends, so that server text echoing one is scrubbed.
        let mut echoes = Echoes::new();
        form.append_pair("grant_type", cfg.grant_type.uri());
        if cfg.grant_type == GrantType::JwtBearer {
            // RFC 7523 §2.1: the assertion is the grant; scopes travel as its `scope` claim.
            let assertion = self.grant_assertion(resolved)?;
            echoes.assertion(&assertion);
            form.append_pair("assertion", &assertion);
        } else if let Some(scope) = &self.scope {
            form.append_pair("scope", scope);
        }
        if let Some(aud) = &cfg.audience {
            form.append_pair("audience", aud);
        }
        for r in &cfg.resources {
            form.append_pair("resource", r);
        }
        for (k, v) in &cfg.extra_params {
            form.append_pair(k, v);
        }
        echoes.secret(secret_text);
        let mut basic = |id: &str, secret: &str| {
            let pair = Zeroizing::new(format!("{id}:{secret}"));
            let value = Zeroizing::new(B64.encode(pair.as_bytes()));
            echoes.basic(&value, id.len());
            Zeroizing::new(format!("Basic {}", value.as_str()))
        };
        let mut authorization = None;
        match resolved.auth_method {
            AuthMethod::ClientSecretBasic => {
                // RFC 6749 §2.3.1: form-encode id and secret before joining them.
                authorization = Some(basic(&form_encode(&cfg.client_id), &form_encode(secret_text)));
            }
            AuthMethod::ClientSecretBasicRaw => authorization = Some(basic(&cfg.client_id, secret_text)),
            AuthMethod::ClientSecretPost => {
                form.append_pair("client_id", &cfg.client_id);
                form.append_pair("client_secret", secret_text);
            }
            AuthMethod::ClientSecretJwt | AuthMethod::PrivateKeyJwt => {
                let assertion = match &cfg.assertion_file {
                    // Federated: the platform's JWT, read now (it rotates).
                    Some(path) => crate::federated::read_assertion(path, jwt::now_unix())?,
                    None => self.client_assertion(resolved, secret_text)?,
                };
                echoes.assertion(&assertion);
                form.append_pair("client_id", &cfg.client_id);
                form.append_pair("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
                form.append_pair("client_assertion", &assertion);
            }
            // The TLS layer carries the credential; the body names the client.
            // A jwt-bearer grant names the client in its `iss` (RFC 7523 §2.1), as Google expects.
            AuthMethod::None if cfg.grant_type == GrantType::JwtBearer => {}
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth | AuthMethod::None => {
                form.append_pair("client_id", &cfg.client_id);
            }
        }
        form.finish();

        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::timeout("call deadline passed before the request was sent"));
        }
        let mut request = self
            .agent
            .post(resolved.token_url.as_str())
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(auth) = &authorization {
            request = request.header("Authorization", auth.as_str());
        }
        if let Some(key) = &cfg.dpop_key {
            let proof = jwt::dpop_proof(key, "POST", resolved.token_url.as_str(), None, dpop_nonce)?;
            request = request.header("DPoP", proof.as_str());
        }
        let request = request.config().timeout_global(Some(remaining.min(cfg.request_timeout))).build();

        let sent_at = BootTime::now();
        let mut response = request.send(body.as_bytes()).map_err(transport_error)?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type = header("content-type");
        let retry_after = header("retry-after");
        if let Some(nonce) = header("dpop-nonce") {
            *self.dpop_nonce.lock() = Some(nonce);
        }
        if (300..400).contains(&status) {
            return Err(Error::Http {
                status,
                retry_after: None,
                body_snippet: "redirect refused: token requests are never redirected".into(),
            });
        }
        let body = Zeroizing::new(read_body(&mut response)?);

        let answer =
            Answer { status, content_type: content_type.as_deref(), retry_after: retry_after.as_deref(), body: &body };
        let parsed = response::parse(&answer, self.scope.as_deref(), cfg.default_lifetime, &echoes)?;
        Ok(Fetched { parsed, sent_at })
    }

    /// The proxy taken from the environment (`HTTPS_PROXY`, `ALL_PROXY`...) for the token
    /// endpoint, as `scheme://host:port (from VAR)`, never its credentials; `None` without one.
    pub fn env_proxy(&self) -> Option<String> {
        let route = self.cfg.proxy.as_ref().filter(|r| r.source != "proxy")?;
        let p = &route.proxy;
        Some(format!("{}://{}:{} (from {})", p.protocol().to_string().to_lowercase(), p.host(), p.port(), route.source))
    }

    /// The `aud` of assertions (client assertions and jwt-bearer grants alike).
    fn assertion_audience<'a>(&'a self, resolved: &'a Resolved) -> &'a str {
        match &self.cfg.assertion_audience {
            AssertionAudience::TokenEndpoint => resolved.token_url.as_str(),
            AssertionAudience::Issuer => resolved.issuer.as_deref().unwrap_or(resolved.token_url.as_str()),
            AssertionAudience::Custom(aud) => aud.as_str(),
        }
    }

    /// The certificate headers configured for assertions, if any.
    fn cert_headers(&self) -> Option<jwt::CertHeaders<'_>> {
        let cfg = &*self.cfg;
        cfg.assertion_cert.as_ref().map(|cert| jwt::CertHeaders { cert, thumbprint: cfg.thumbprint, x5c: cfg.x5c })
    }

    /// A fresh RFC 7523 §2.1 jwt-bearer grant for this request, signed with the private key.
    fn grant_assertion(&self, resolved: &Resolved) -> Result<Zeroizing<String>, Error> {
        let cfg = &*self.cfg;
        let key = cfg
            .private_key
            .as_ref()
            .ok_or_else(|| Error::config("private_key", "missing (required by the jwt_bearer grant)"))?;
        let alg = cfg.signing_alg.unwrap_or_else(|| key.default_alg());
        let kid = cfg.key_id.as_deref().or(key.key_id());
        let header = jwt::assertion_header(alg, kid, self.cert_headers().as_ref());
        let claims = jwt::GrantClaims {
            issuer: &cfg.client_id,
            audience: self.assertion_audience(resolved),
            scope: self.scope.as_deref(),
            subject: cfg.subject.as_deref(),
            lifetime: cfg.assertion_lifetime,
        };
        jwt::grant_assertion(&header, &claims, alg, key)
    }

    /// A fresh RFC 7523 assertion for this request.
    fn client_assertion(&self, resolved: &Resolved, secret_text: &str) -> Result<Zeroizing<String>, Error> {
        let cfg = &*self.cfg;
        let audience = self.assertion_audience(resolved);
        let (alg, signer, own_kid) = match (resolved.auth_method, &cfg.private_key) {
            (AuthMethod::PrivateKeyJwt, Some(key)) => {
                (cfg.signing_alg.unwrap_or_else(|| key.default_alg()), Signer::Key(key), key.key_id())
            }
            (AuthMethod::PrivateKeyJwt, None) => {
                return Err(Error::config("private_key", "missing (required by private_key_jwt)"));
            }
            _ => (SigningAlg::HS256, Signer::Secret(secret_text), None),
        };
        // An explicit key_id wins; else a JWK's own `kid` names the key.
        let kid = cfg.key_id.as_deref().or(own_kid);
        // Certificate headers belong to key-signed assertions only.
        let cert = if matches!(signer, Signer::Key(_)) { self.cert_headers() } else { None };
        let header = jwt::assertion_header(alg, kid, cert.as_ref());
        jwt::client_assertion(&header, &cfg.client_id, audience, cfg.assertion_lifetime, alg, signer)
    }
}

fn cancelled_error() -> Error {
    Error::Transport {
        kind: TransportKind::Io,
        message: "the client was dropped; the token request was cancelled".into(),
    }
}

/// Reads a response body up to [`MAX_BODY`].
pub(crate) fn read_body(response: &mut ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, Error> {
    response.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(|e| match e {
        ureq::Error::BodyExceedsLimit(_) => Error::InvalidResponse("response body is larger than 1 MiB".into()),
        other => transport_error(other),
    })
}

fn form_encode(s: &str) -> Zeroizing<String> {
    Zeroizing::new(form_urlencoded::byte_serialize(s.as_bytes()).collect())
}

/// Maps ureq's errors onto our transport kinds. ureq's messages name hosts and causes, never
/// request contents, so they are safe to keep.
pub(crate) fn transport_error(e: ureq::Error) -> Error {
    use std::io::ErrorKind as K;
    let kind = match &e {
        ureq::Error::Timeout(_) => TransportKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportKind::Connect,
        ureq::Error::Io(io) => match io.kind() {
            K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
                TransportKind::Connect
            }
            K::TimedOut | K::WouldBlock => TransportKind::Timeout,
            // rustls reports handshake failures (unknown CA, wrong host name) through the
            // socket's io::Error, so ureq hands them over as I/O errors.
            _ if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => TransportKind::Tls,
            _ => TransportKind::Io,
        },
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) | ureq::Error::TlsRequired => {
            TransportKind::Tls
        }
        _ => TransportKind::Io,
    };
    Error::Transport { kind, message: crate::redact::sanitize(&e.to_string(), 300) }
}

#[cfg(test)]
mod resolver_tests {
    use super::Resolver;
    use ureq::unversioned::resolver::Resolver as _;
    use ureq::unversioned::transport::NextTimeout;

    fn resolve(url: &str) -> Vec<std::net::SocketAddr> {
        let uri: ureq::http::Uri = url.parse().unwrap();
        let config = ureq::config::Config::default();
        Resolver.resolve(&uri, &config, NextTimeout::default()).unwrap().iter().copied().collect()
    }

    #[test]
    fn ip_literals_need_no_lookup() {
        assert_eq!(resolve("http://127.0.0.1:8080/token"), ["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(resolve("https://[::1]/token"), ["[::1]:443".parse().unwrap()]);
        assert_eq!(resolve("http://10.1.2.3/token"), ["10.1.2.3:80".parse().unwrap()]);
    }

    #[test]
    fn host_names_are_looked_up() {
        assert!(resolve("http://localhost:8080/token").iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
    }
}
