//! One token request: build it from the config, send it with ureq, parse the answer; and the
//! retry loop around it. Nothing here knows about the cache or about callers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use parking_lot::RwLock;
use rand::Rng as _;
use zeroize::Zeroizing;

use crate::Error;
use crate::config::{AuthMethod, Config};
use crate::error::TransportKind;
use crate::metrics::Counters;
use crate::response::{self, Answer, Parsed};
use crate::secret::{Secret, SecretSource};

/// Token responses larger than this are refused (RFC 6749 sets no limit; 1 MiB is what
/// golang.org/x/oauth2 allows too).
const MAX_BODY: u64 = 1 << 20;

/// A parsed token response and when its request was sent: expiry counts from then.
pub(crate) struct Fetched {
    pub parsed: Parsed,
    pub sent_at: Instant,
}

pub(crate) struct Fetcher {
    cfg: Arc<Config>,
    /// One agent per client, so the connection to the token endpoint is kept alive.
    agent: ureq::Agent,
    /// Replaceable at run time (secret rotation); read once per request.
    secret: RwLock<Option<SecretSource>>,
    /// The `scope` parameter, space-joined once.
    scope: Option<String>,
}

impl Fetcher {
    pub fn new(cfg: Arc<Config>) -> Result<Self, Error> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if !cfg.root_certs.is_empty() {
            let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .chain(cfg.root_certs.iter().cloned());
            tls = tls.root_certs(ureq::tls::RootCerts::from(roots));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false) // error bodies carry the OAuth error: read them
            .max_redirects(0) // never follow: a redirect would carry the credentials elsewhere
            .timeout_connect(Some(cfg.connect_timeout))
            .timeout_global(Some(cfg.request_timeout))
            .user_agent(cfg.user_agent.as_str())
            .tls_config(tls.build())
            .build()
            .into();
        let scope = (!cfg.scopes.is_empty()).then(|| cfg.scopes.join(" "));
        let secret = RwLock::new(cfg.secret.clone());
        Ok(Fetcher {
            cfg,
            agent,
            secret,
            scope,
        })
    }

    pub fn set_secret(&self, secret: Secret) -> Result<(), Error> {
        if self.cfg.auth_method == AuthMethod::None {
            return Err(Error::config(
                "client_secret",
                "auth_method none takes no secret",
            ));
        }
        if secret.expose().is_empty() {
            return Err(Error::config("client_secret", "empty"));
        }
        *self.secret.write() = Some(SecretSource::Value(secret));
        Ok(())
    }

    /// Requests a token, retrying transient failures with backoff until `deadline`.
    pub fn request(&self, deadline: Instant, counters: &Counters) -> Result<Fetched, Error> {
        let retry = self.cfg.retry;
        let mut attempt = 1;
        loop {
            let err = match self.attempt(deadline) {
                Ok(f) => return Ok(f),
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= retry.max_attempts {
                return Err(err);
            }
            // Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^n)].
            let ceiling = retry
                .base_delay
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(retry.max_delay);
            let jitter = rand::rng().random_range(Duration::ZERO..=ceiling);
            let delay = err.retry_after().map_or(jitter, |ra| ra.max(jitter));
            if Instant::now() + delay >= deadline {
                return Err(err);
            }
            Counters::bump(&counters.retries);
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    fn attempt(&self, deadline: Instant) -> Result<Fetched, Error> {
        let secret = self
            .secret
            .read()
            .as_ref()
            .map(SecretSource::current)
            .transpose()?;
        let cfg = &*self.cfg;

        let mut body = Zeroizing::new(String::new());
        let mut form = form_urlencoded::Serializer::new(&mut *body);
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = &self.scope {
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
        let secret_text = secret.as_ref().map_or("", Secret::expose);
        let basic = |id: &str, secret: &str| {
            let pair = Zeroizing::new(format!("{id}:{secret}"));
            Zeroizing::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
            ))
        };
        let authorization = match cfg.auth_method {
            AuthMethod::ClientSecretBasic => {
                // RFC 6749 §2.3.1: form-encode id and secret before joining them.
                let id = form_encode(&cfg.client_id);
                Some(basic(&id, &form_encode(secret_text)))
            }
            AuthMethod::ClientSecretBasicRaw => Some(basic(&cfg.client_id, secret_text)),
            AuthMethod::ClientSecretPost => {
                form.append_pair("client_id", &cfg.client_id);
                form.append_pair("client_secret", secret_text);
                None
            }
            AuthMethod::None => {
                form.append_pair("client_id", &cfg.client_id);
                None
            }
        };
        form.finish();

        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::timeout(
                "call deadline passed before the request was sent",
            ));
        }
        let mut request = self
            .agent
            .post(cfg.token_url.as_str())
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(auth) = &authorization {
            request = request.header("Authorization", auth.as_str());
        }
        let request = request
            .config()
            .timeout_global(Some(remaining.min(cfg.request_timeout)))
            .build();

        let sent_at = Instant::now();
        let mut response = request.send(body.as_bytes()).map_err(transport_error)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let retry_after = header("retry-after");
        if (300..400).contains(&status) {
            return Err(Error::Http {
                status,
                retry_after: None,
                body_snippet: "redirect refused: token requests are never redirected".into(),
            });
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    Error::InvalidResponse("response body is larger than 1 MiB".into())
                }
                other => transport_error(other),
            })?;
        let body = Zeroizing::new(body);

        let encoded_secret = form_encode(secret_text);
        let mut redactions = vec![secret_text, encoded_secret.as_str()];
        if let Some(auth) = &authorization {
            redactions.push(auth.trim_start_matches("Basic "));
        }
        let answer = Answer {
            status,
            content_type: content_type.as_deref(),
            retry_after: retry_after.as_deref(),
            body: &body,
        };
        let parsed = response::parse(
            &answer,
            self.scope.as_deref(),
            cfg.default_lifetime,
            &redactions,
        )?;
        Ok(Fetched { parsed, sent_at })
    }
}

fn form_encode(s: &str) -> Zeroizing<String> {
    Zeroizing::new(form_urlencoded::byte_serialize(s.as_bytes()).collect())
}

/// Maps ureq's errors onto our transport kinds. ureq's messages name hosts and causes, never
/// request contents, so they are safe to keep.
fn transport_error(e: ureq::Error) -> Error {
    use std::io::ErrorKind as K;
    let kind = match &e {
        ureq::Error::Timeout(_) => TransportKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportKind::Connect,
        ureq::Error::Io(io) => match io.kind() {
            K::ConnectionRefused
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable => TransportKind::Connect,
            K::TimedOut | K::WouldBlock => TransportKind::Timeout,
            _ => TransportKind::Io,
        },
        ureq::Error::Tls(_)
        | ureq::Error::Rustls(_)
        | ureq::Error::Pem(_)
        | ureq::Error::TlsRequired => TransportKind::Tls,
        _ => TransportKind::Io,
    };
    Error::Transport {
        kind,
        message: e.to_string(),
    }
}
