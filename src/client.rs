//! `Client`: the public face of the core. Ties the config, the fetcher and the cache together.

use std::fmt;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::cache::{Cache, Source};
use crate::config::{ClientBuilder, Config};
use crate::fetch::Fetcher;
use crate::metrics::Counters;
use crate::{Error, Metrics, Secret, Token};

/// An OAuth 2.0 client-credentials client with a thread-safe token cache.
///
/// Cheap to clone (clones share one cache) and safe to use from any number of threads.
///
/// **When the last clone is dropped, the client's work ends with it.** The drop cancels the
/// token request in flight (a fetch that an impatient caller left running, a refresh-ahead,
/// the background refresher's): its connection is shut down, a retry that was waiting is not
/// sent, and no new request starts. The drop then waits for the client's threads, so when it
/// returns no thread of this client runs and no request of it is in progress. The wait is short:
/// at most a TCP connect in progress (bounded by `connect_timeout`) or a host-name lookup in
/// progress (bounded by `request_timeout`).
#[derive(Clone)]
pub struct Client(Arc<Inner>);

struct Inner {
    cfg: Arc<Config>,
    fetcher: Arc<Fetcher>,
    cache: Arc<Cache>,
    /// The shared store between the cache and the fetcher, if configured.
    shared: Option<Arc<crate::store::Shared>>,
    /// The background refresher, if there is one: dropping the sender stops it.
    refresher: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

/// The last handle is gone: cancel, then wait for every thread (see [`Client`]).
impl Drop for Inner {
    fn drop(&mut self) {
        // First: no event sink call starts from now on (and one in progress is waited for),
        // whatever the threads below still report while they wind down.
        self.cfg.events.close();
        self.cache.close();
        if let Some((stop, thread)) = self.refresher.take() {
            drop(stop);
            let _ = thread.join();
        }
        self.cache.join();
    }
}

impl Source for Fetcher {
    fn fetch(&self, deadline: Instant, counters: &Counters) -> Result<Token, Error> {
        let fetched = self.request(deadline, counters)?;
        Ok(Token::issued(fetched.parsed, fetched.sent_at))
    }

    fn config_stamp(&self) -> u64 {
        Fetcher::config_stamp(self)
    }

    fn cancel(&self) {
        Fetcher::cancel(self)
    }
}

impl Client {
    /// Starts a configuration; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_config(cfg: Config) -> Result<Client, Error> {
        let cfg = Arc::new(cfg);
        let fetcher = Arc::new(Fetcher::new(Arc::clone(&cfg))?);
        let shared = crate::store::Shared::open(&cfg, Arc::clone(&fetcher) as Arc<dyn Source>)?;
        let source = match &shared {
            Some(shared) => Arc::clone(shared) as Arc<dyn Source>,
            None => Arc::clone(&fetcher) as Arc<dyn Source>,
        };
        let mut cache = Cache::new(source, cfg.refresh, cfg.failure_cooldown, cfg.call_timeout);
        cache.events = cfg.events.clone();
        let cache = Arc::new(cache);
        let refresher = if cfg.background_refresh { Some(spawn_refresher(&cache)?) } else { None };
        cfg.events.configured(&cfg, fetcher.env_proxy());
        Ok(Client(Arc::new(Inner { cfg, fetcher, cache, shared, refresher })))
    }

    /// A valid access token: cached, refreshed ahead of expiry, fetched when needed.
    /// Waits at most the configured `call_timeout`.
    pub fn token(&self) -> Result<Token, Error> {
        self.token_timeout(self.0.cfg.call_timeout)
    }

    /// Like [`Client::token`], waiting at most `timeout` (retries and waiting for another
    /// caller's fetch included). The token request itself is bounded by `call_timeout`
    /// whatever `timeout` says: a shorter timeout gives up waiting but leaves the request
    /// running for the other callers, a longer one does not extend it.
    pub fn token_timeout(&self, timeout: Duration) -> Result<Token, Error> {
        self.0.cache.get(timeout)
    }

    /// Forgets `token` if it is still the cached one, so the next call fetches a new token.
    /// Call it when a resource server answered 401 to this token; a token that was already
    /// replaced is left alone, so many failing callers cause one fetch, not many.
    /// With a shared store, the store's entry is deleted too if it still holds this token.
    pub fn invalidate(&self, token: &Token) {
        self.0.cache.invalidate(token);
        if let Some(shared) = &self.0.shared {
            shared.invalidate(token, &self.0.cache.counters);
        }
    }

    /// Replaces the client secret on a live client. The next fetch uses it; the cached token
    /// stays valid until it is refreshed. A failure cool-down (after `invalid_client` or any
    /// other permanent error) and a refresh pause end, since the new secret deserves a try.
    pub fn set_client_secret(&self, secret: Secret) -> Result<(), Error> {
        self.0.fetcher.set_secret(secret)?;
        self.0.cfg.events.secret_rotated();
        self.0.cache.clear_cooldown();
        Ok(())
    }

    /// A snapshot of the client's counters.
    pub fn metrics(&self) -> Metrics {
        Metrics { token_expires_in: self.0.cache.expires_in(), ..self.0.cache.counters.snapshot() }
    }

    /// The metrics in the Prometheus text exposition format, labelled with `client_id`: serve
    /// it as `/metrics` (content type `text/plain; version=0.0.4`).
    pub fn metrics_text(&self) -> String {
        self.metrics().prometheus_text(self.client_id(), 0)
    }

    /// Hex digest of everything that selects the token (URL, client id, auth method, sorted
    /// scopes, audience, resources, extra parameters, and the public key or certificate
    /// fingerprint of a key or certificate credential). The client secret takes no part, so the
    /// key reveals nothing about it and stays the same when the secret rotates. Safe to log;
    /// the same in every process with the same configuration.
    pub fn cache_key(&self) -> &str {
        &self.0.cfg.cache_key
    }

    /// An RFC 9449 DPoP proof for a request to a resource server (`htm` = `method`, `htu` =
    /// `url`), bound to `token` (`ath`) and carrying the resource server's `nonce` if it sent
    /// one. Send it as the `DPoP` header next to `Authorization: DPoP <token>`.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&Token>,
        nonce: Option<&str>,
    ) -> Result<String, Error> {
        self.0.fetcher.dpop_proof(method, url, token.map(Token::access_token), nonce)
    }

    /// The RFC 7638 thumbprint of the DPoP key (what a DPoP-bound token's `cnf.jkt` holds).
    pub fn dpop_jkt(&self) -> Option<String> {
        self.0.cfg.dpop_key.as_ref().map(crate::PrivateKey::jwk_thumbprint)
    }

    pub fn client_id(&self) -> &str {
        &self.0.cfg.client_id
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.0.cfg.endpoint)
            .field("client_id", &self.client_id())
            .field("auth_method", &self.0.cfg.auth_method)
            .field("scopes", &self.0.cfg.scopes)
            .finish_non_exhaustive()
    }
}

/// The optional background refresher: sleeps until the cached token's refresh point, refreshes,
/// repeats. It holds only a weak reference; the client's drop stops and joins it.
#[allow(clippy::type_complexity)]
fn spawn_refresher(cache: &Arc<Cache>) -> Result<(mpsc::Sender<()>, std::thread::JoinHandle<()>), Error> {
    let (stop, stopped) = mpsc::channel::<()>();
    let cache = Arc::downgrade(cache);
    let thread = std::thread::Builder::new()
        .name("cctoken-refresher".into())
        .spawn(move || {
            loop {
                let wait = {
                    let Some(cache) = cache.upgrade() else { return };
                    cache.refresh_if_due();
                    // Nothing cached yet: look again shortly (the first token comes from a caller).
                    cache.next_refresh_in().unwrap_or(Duration::from_secs(1))
                };
                // At least 50 ms so a paused (failing) refresh does not spin.
                match stopped.recv_timeout(wait.clamp(Duration::from_millis(50), Duration::from_secs(60))) {
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    _ => return,
                }
            }
        })
        .map_err(|e| Error::config("background_refresh", format!("cannot start thread: {e}")))?;
    Ok((stop, thread))
}
