//! Shared cache stores: tokens shared by the processes of a host (`file`) or a fleet (`redis`).
//!
//! The store sits between the cache and the fetcher ([`Shared`] is a [`Source`]): a local hit
//! never reaches it; a local miss reads the store, and only a process that finds no usable entry
//! fetches, under the store's lease (distributed single-flight):
//!
//! ```text
//!   read entry ── fresh ──▶ token, no request
//!        │ missing / due / unreadable
//!   take lease ── taken by another ──▶ poll the entry with backoff (bounded), then fetch directly
//!        │ got it
//!   re-read ── fresh ──▶ token;  else fetch, write the entry, release
//! ```
//!
//! The store is outside the trust boundary: entries are AES-256-GCM sealed under a key derived
//! (HKDF-SHA256) from the client's credential, salted with the public configuration, and store
//! names are derived the same way, so they reveal nothing about the credential. The lease is only
//! an optimisation: losing it costs one extra token request, never a wrong token. Every store
//! failure is counted and degrades to fetching directly.
//!
//! Entry layout (documented in the README): `b"CCTK"`, format version (1 byte), 12-byte nonce,
//! then the sealed JSON `{access_token, token_type, scope, issued_at_ms, expires_at_ms, extras}`
//! with its 16-byte tag. The associated data is magic, version and store name, so an entry
//! cannot be moved to another name.

mod file;
mod redis;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

use crate::cache::Source;
use crate::config::{Config, Endpoint, RefreshPolicy};
use crate::metrics::Counters;
use crate::response::{Lifetime, Parsed};
use crate::secret::SecretSource;
use crate::token::NulText;
use crate::{Error, Token};

pub(crate) use self::redis::RedisUrl;

const MAGIC: &[u8; 4] = b"CCTK";
/// Bumped on any change of the entry layout or of the key derivation; older entries are ignored.
pub(crate) const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_LEN;
/// Larger entries are refused as corrupt (a token response is capped far below this).
pub(crate) const MAX_ENTRY: usize = 256 * 1024;

/// Which shared store a client uses, from the builder.
#[derive(Clone)]
pub(crate) enum StoreConfig {
    File(PathBuf),
    Redis { url: RedisUrl, ca_pem: Option<Vec<u8>> },
}

/// The Redis URL may carry a password: only the kind and the directory are shown.
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::File(dir) => write!(f, "File({dir:?})"),
            StoreConfig::Redis { url, ca_pem } => {
                write!(f, "Redis({url:?}, ca: {})", if ca_pem.is_some() { "custom" } else { "webpki roots" })
            }
        }
    }
}

/// A store failure. The text names the operation and the cause, never a key or a password.
/// (Only counted for now; the event stream will carry the text.)
#[derive(Debug)]
pub(crate) struct StoreError(#[allow(dead_code)] pub String);

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError(format!("I/O: {}", e.kind()))
    }
}

/// Held while one process fetches for everyone; released on drop (or, if the process dies,
/// by the kernel for a file lock and by expiry for a Redis lease).
pub(crate) trait Lease: Send {}

/// One backend. `name` is the derived, opaque store name of one configuration.
pub(crate) trait Backend: Send + Sync + 'static {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the entry atomically; `ttl` is the token's remaining life.
    fn write(&self, name: &str, entry: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// `Ok(None)`: another process holds the lease.
    fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>, StoreError>;
    /// Deletes the entry only if it still holds exactly `expected`.
    fn delete_if(&self, name: &str, expected: &[u8]) -> Result<(), StoreError>;
}

/// The keys of one configuration: the AEAD key and the store name.
struct Keys {
    aead: LessSafeKey,
    name: String,
}

/// What an entry holds once opened. The access token is wiped on drop.
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    token_type: String,
    scope: Option<String>,
    issued_at_ms: u64,
    expires_at_ms: u64,
    #[serde(default)]
    extras: serde_json::Map<String, serde_json::Value>,
}

/// The store decorator: a [`Source`] that reads and fills the shared store around the fetcher.
pub(crate) struct Shared {
    inner: Arc<dyn Source>,
    backend: Box<dyn Backend>,
    keys: Keys,
    refresh: RefreshPolicy,
    /// How long a Redis lease lives: a fetch normally ends well within it; a dead holder's
    /// lease lapses after it. Waiters fetch on their own after waiting this long.
    lease_ttl: Duration,
    /// Set when the client is gone: a wait for another process's lease ends at once.
    cancelled: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The store of `cfg`, if one is configured. Refuses a directory that is not safely ours.
    pub fn open(cfg: &Config, inner: Arc<dyn Source>) -> Result<Option<Arc<Shared>>, Error> {
        let Some(store) = &cfg.store else { return Ok(None) };
        let backend: Box<dyn Backend> = match store {
            StoreConfig::File(dir) => Box::new(file::FileStore::open(dir)?),
            StoreConfig::Redis { url, ca_pem } => {
                Box::new(redis::RedisStore::open(url, ca_pem.as_deref(), cfg.store_timeout)?)
            }
        };
        Ok(Some(Arc::new(Shared {
            inner,
            backend,
            keys: derive_keys(cfg),
            refresh: cfg.refresh,
            lease_ttl: cfg.request_timeout.min(cfg.call_timeout),
            cancelled: std::sync::atomic::AtomicBool::new(false),
        })))
    }

    /// After a resource server rejected `token`: deletes the store entry if it still holds that
    /// token, so every process that saw the same rejection causes one fetch between them.
    pub fn invalidate(&self, token: &Token, counters: &Counters) {
        let raw = match self.backend.read(&self.keys.name) {
            Ok(Some(raw)) => raw,
            Ok(None) => return,
            Err(_) => return Counters::bump(&counters.store_errors),
        };
        let Ok(stored) = self.open_entry(&raw) else { return };
        // Compared by SHA-256 digest: how long the comparison takes says nothing about the token.
        if Sha256::digest(stored.access_token.as_bytes()) == Sha256::digest(token.access_token().as_bytes())
            && self.backend.delete_if(&self.keys.name, &raw).is_err()
        {
            Counters::bump(&counters.store_errors);
        }
    }

    /// A usable entry as a token; `Ok(None)` when missing or due for refresh; `Err` when the
    /// store failed (already counted).
    fn read_fresh(&self, counters: &Counters) -> Result<Option<Token>, ()> {
        let raw = match self.backend.read(&self.keys.name) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(_) => {
                Counters::bump(&counters.store_errors);
                return Err(());
            }
        };
        match self.open_entry(&raw) {
            Ok(stored) => Ok(self.token_if_fresh(stored)),
            Err(()) => {
                // Corrupt, truncated, foreign or older format: ignored, and replaced by the fetch.
                Counters::bump(&counters.store_errors);
                Ok(None)
            }
        }
    }

    fn token_if_fresh(&self, mut s: Stored) -> Option<Token> {
        let now_ms = unix_ms(SystemTime::now());
        let lifetime = Duration::from_millis(s.expires_at_ms.saturating_sub(s.issued_at_ms));
        let left = Duration::from_millis(s.expires_at_ms.checked_sub(now_ms)?);
        // The same window the cache uses, without jitter: an entry inside it is due for refresh.
        let p = self.refresh;
        let window = lifetime.mul_f64(p.ratio).max(p.min_window).min(lifetime / 2);
        if left <= window {
            return None;
        }
        // Valid for what is left of it, on our own clock from now: never past the entry's
        // absolute expiry.
        Some(Token::from_store(Parsed {
            access_token: NulText::new(&s.access_token)?,
            token_type: NulText::new(&s.token_type)?,
            scope: s.scope.as_deref().and_then(NulText::new),
            lifetime: Lifetime::For(left),
            extras: std::mem::take(&mut s.extras),
        }))
    }

    fn write(&self, token: &Token, counters: &Counters) {
        let (Some(wall), Some(left)) = (token.expires_at_system(), token.expires_at().map(|_| token.expires_in()))
        else {
            return; // single-use: never shared
        };
        if left.is_zero() {
            return;
        }
        let stored = Stored {
            access_token: token.access_token().to_owned(),
            token_type: token.token_type().to_owned(),
            scope: token.scope().map(str::to_owned),
            issued_at_ms: unix_ms(SystemTime::now()),
            expires_at_ms: unix_ms(wall),
            extras: token.extras().clone(),
        };
        let ok = self.seal(&stored).is_ok_and(|entry| self.backend.write(&self.keys.name, &entry, left).is_ok());
        if !ok {
            Counters::bump(&counters.store_errors);
        }
    }

    fn seal(&self, stored: &Stored) -> Result<Vec<u8>, ()> {
        let mut plain = Zeroizing::new(serde_json::to_vec(stored).map_err(|_| ())?);
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| ())?;
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&nonce);
        let aad = self.aad();
        let tag = self
            .keys
            .aead
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut plain[..])
            .map_err(|_| ())?;
        out.extend_from_slice(&plain);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open_entry(&self, raw: &[u8]) -> Result<Stored, ()> {
        if raw.len() < HEADER_LEN || raw.len() > MAX_ENTRY || &raw[..4] != MAGIC || raw[4] != FORMAT_VERSION {
            return Err(());
        }
        let nonce = Nonce::try_assume_unique_for_key(&raw[5..HEADER_LEN]).map_err(|_| ())?;
        let mut sealed = Zeroizing::new(raw[HEADER_LEN..].to_vec());
        let plain = self.keys.aead.open_in_place(nonce, Aad::from(&self.aad()), &mut sealed[..]).map_err(|_| ())?;
        serde_json::from_slice(plain).map_err(|_| ())
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = MAGIC.to_vec();
        aad.push(FORMAT_VERSION);
        aad.extend_from_slice(self.keys.name.as_bytes());
        aad
    }

    /// Without the store's help (it failed, or the lease holder took too long).
    fn fetch_directly(&self, deadline: Instant, counters: &Counters, share: bool) -> Result<Token, Error> {
        let token = self.inner.fetch(deadline, counters)?;
        if share {
            self.write(&token, counters);
        }
        Ok(token)
    }
}

impl Source for Shared {
    /// The fetcher's: a rotated secret ends a cool-down with a store as without one.
    fn config_stamp(&self) -> u64 {
        self.inner.config_stamp()
    }

    fn cancel(&self) {
        self.cancelled.store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.cancel();
    }

    fn fetch(&self, deadline: Instant, counters: &Counters) -> Result<Token, Error> {
        let started = Instant::now();
        let wait_until = deadline.min(started + self.lease_ttl);
        let mut backoff = Duration::from_millis(5);
        let (mut counted_miss, mut counted_wait) = (false, false);
        loop {
            match self.read_fresh(counters) {
                Ok(Some(token)) => {
                    Counters::bump(&counters.store_hits);
                    return Ok(token);
                }
                Ok(None) if !counted_miss => {
                    counted_miss = true;
                    Counters::bump(&counters.store_misses);
                }
                Ok(None) => {}
                Err(()) => return self.fetch_directly(deadline, counters, false),
            }
            match self.backend.try_lease(&self.keys.name, self.lease_ttl) {
                Ok(Some(lease)) => {
                    // The previous holder may have written its entry just before releasing.
                    if let Ok(Some(token)) = self.read_fresh(counters) {
                        Counters::bump(&counters.store_hits);
                        return Ok(token);
                    }
                    let result = self.inner.fetch(deadline, counters);
                    if let Ok(token) = &result {
                        self.write(token, counters);
                    }
                    drop(lease);
                    return result;
                }
                Ok(None) => {
                    if !counted_wait {
                        counted_wait = true;
                        Counters::bump(&counters.store_lease_waits);
                    }
                    if self.cancelled.load(std::sync::atomic::Ordering::SeqCst) {
                        return Err(Error::Transport {
                            kind: crate::TransportKind::Io,
                            message: "the client was dropped while waiting for another process's token request".into(),
                        });
                    }
                    let now = Instant::now();
                    if now + backoff >= wait_until {
                        // The holder is slow or stuck: do not let its health decide ours.
                        return self.fetch_directly(deadline, counters, true);
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err(_) => {
                    Counters::bump(&counters.store_errors);
                    return self.fetch_directly(deadline, counters, false);
                }
            }
        }
    }
}

impl Drop for Stored {
    fn drop(&mut self) {
        self.access_token.zeroize();
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64)
}

/// Length-prefixed fields, so ("ab","c") and ("a","bc") differ.
fn push_field(buf: &mut Vec<u8>, name: &str, value: &[u8]) {
    for part in [name.as_bytes(), value] {
        buf.extend_from_slice(&(part.len() as u64).to_le_bytes());
        buf.extend_from_slice(part);
    }
}

/// Everything public that selects the token: endpoint, client id, auth method, public key
/// identities, sorted scopes, audience, resources and extra parameters.
fn public_identity(cfg: &Config) -> Vec<u8> {
    let mut b = Vec::new();
    match &cfg.endpoint {
        Endpoint::TokenUrl(u) => push_field(&mut b, "token_url", u.as_str().as_bytes()),
        Endpoint::Issuer(u) => push_field(&mut b, "issuer", u.as_str().as_bytes()),
    }
    push_field(&mut b, "client_id", cfg.client_id.as_bytes());
    push_field(&mut b, "auth_method", cfg.auth_method.map_or("auto", |m| m.as_str()).as_bytes());
    if let Some(key) = &cfg.private_key {
        push_field(&mut b, "private_key_jkt", key.jwk_thumbprint().as_bytes());
    }
    if let Some(cert) = &cfg.client_cert {
        push_field(&mut b, "client_certificate", cert.fingerprint.as_bytes());
    }
    push_field(&mut b, "grant_type", cfg.grant_type.as_str().as_bytes());
    if let Some(sub) = &cfg.subject {
        push_field(&mut b, "subject", sub.as_bytes());
    }
    if let Some(cert) = &cfg.assertion_cert {
        push_field(&mut b, "assertion_certificate", cert.x5t_s256.as_bytes());
    }
    // Refused with a store by `validate` (no stable credential); kept here so that the
    // derivation covers every input if that ever changes.
    if let Some(path) = &cfg.assertion_file {
        push_field(&mut b, "client_assertion_file", path.to_string_lossy().as_bytes());
    }
    // A DPoP-bound token is only usable with its key: processes with other keys never share.
    if let Some(key) = &cfg.dpop_key {
        push_field(&mut b, "dpop_jkt", key.jwk_thumbprint().as_bytes());
    }
    let mut scopes: Vec<&str> = cfg.scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes.dedup();
    for s in scopes {
        push_field(&mut b, "scope", s.as_bytes());
    }
    push_field(&mut b, "audience", cfg.audience.as_deref().unwrap_or("").as_bytes());
    let mut resources: Vec<&str> = cfg.resources.iter().map(String::as_str).collect();
    resources.sort_unstable();
    for r in resources {
        push_field(&mut b, "resource", r.as_bytes());
    }
    let mut extras: Vec<&(String, String)> = cfg.extra_params.iter().collect();
    extras.sort();
    for (k, v) in extras {
        push_field(&mut b, k, v.as_bytes());
    }
    b
}

/// The credential itself: the secret, the private key, the client certificate's key. Without
/// any (auth method `none`) the keys follow from public data, as does the token.
fn credential_material(cfg: &Config) -> Zeroizing<Vec<u8>> {
    let mut b = Zeroizing::new(Vec::new());
    match &cfg.secret {
        Some(SecretSource::Value(s)) | Some(SecretSource::File { last: s, .. }) => {
            push_field(&mut b, "secret", s.expose().as_bytes())
        }
        None => {}
    }
    if let Some(key) = &cfg.private_key {
        push_field(&mut b, "private_key", key.secret_digest());
    }
    if let Some(cert) = &cfg.client_cert {
        push_field(&mut b, "client_certificate_key", cert.tls.private_key().der());
    }
    b
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256: salt = SHA-256 of the public identity (so equal secrets under different
/// configurations share nothing), input key material = the credential.
fn derive_keys(cfg: &Config) -> Keys {
    let mut salt_input = b"cctoken store salt v1".to_vec();
    salt_input.extend_from_slice(&public_identity(cfg));
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, &Sha256::digest(&salt_input));
    let prk = salt.extract(&credential_material(cfg));
    let mut aead_key = Zeroizing::new([0u8; 32]);
    let mut name = [0u8; 16];
    // Fixed lengths within HKDF's limit: expansion cannot fail.
    prk.expand(&[b"cctoken store v1 aead key"], Len(32))
        .and_then(|okm| okm.fill(&mut aead_key[..]))
        .expect("HKDF expansion of 32 bytes");
    prk.expand(&[b"cctoken store v1 name"], Len(16))
        .and_then(|okm| okm.fill(&mut name))
        .expect("HKDF expansion of 16 bytes");
    let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &aead_key[..]).expect("32-byte AES-256-GCM key"));
    Keys { aead, name: name.iter().map(|b| format!("{b:02x}")).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    struct NoSource;

    impl Source for NoSource {
        fn fetch(&self, _: Instant, _: &Counters) -> Result<Token, Error> {
            Err(Error::timeout("no token source in this test"))
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("cctoken-unit-{tag}-{}-{:x}", std::process::id(), rand::random::<u64>()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    fn config(dir: &std::path::Path, secret: &str, scope: &str) -> Config {
        crate::Client::builder()
            .token_url("http://127.0.0.1:9/token")
            .client_id("svc")
            .client_secret(secret)
            .scope(scope)
            .cache_dir(dir)
            .validate()
            .unwrap()
    }

    fn token(access: String, life: Duration) -> Token {
        Token::from_store(Parsed {
            access_token: NulText::new(&access).unwrap(),
            token_type: NulText::new("Bearer").unwrap(),
            scope: None,
            lifetime: Lifetime::For(life),
            extras: serde_json::Map::new(),
        })
    }

    #[test]
    fn store_names_depend_on_the_credential_and_reveal_nothing() {
        let dir = temp_dir("names");
        let a = derive_keys(&config(&dir, "secret-one", "read")).name;
        assert_eq!(a, derive_keys(&config(&dir, "secret-one", "read")).name, "stable across processes");
        assert_ne!(a, derive_keys(&config(&dir, "secret-two", "read")).name);
        assert_ne!(a, derive_keys(&config(&dir, "secret-one", "write")).name);
        let unsalted: String = Sha256::digest(b"secret-one").iter().map(|b| format!("{b:02x}")).collect();
        assert!(!unsalted.contains(&a) && a.len() == 32);
    }

    /// Issue 12: the grant, its subject and a federated assertion file take part in the names.
    #[test]
    fn store_names_cover_grant_and_subject() {
        let dir = temp_dir("grant");
        let key = crate::PrivateKey::generate_es256().unwrap();
        let cfg = |grant: crate::GrantType, sub: Option<&str>| {
            let mut b = crate::Client::builder()
                .token_url("http://127.0.0.1:9/token")
                .client_id("svc")
                .private_key(key.clone())
                .grant_type(grant)
                .scope("read")
                .cache_dir(&dir);
            if let Some(sub) = sub {
                b = b.subject(sub);
            }
            b.validate().unwrap()
        };
        let bearer = derive_keys(&cfg(crate::GrantType::JwtBearer, None)).name;
        assert_ne!(bearer, derive_keys(&cfg(crate::GrantType::ClientCredentials, None)).name);
        let alice = derive_keys(&cfg(crate::GrantType::JwtBearer, Some("alice@example.com"))).name;
        assert_ne!(bearer, alice);
        assert_ne!(alice, derive_keys(&cfg(crate::GrantType::JwtBearer, Some("bob@example.com"))).name);
        assert_eq!(alice, derive_keys(&cfg(crate::GrantType::JwtBearer, Some("alice@example.com"))).name);
        // A federated assertion file has no stable credential to derive from: refused.
        let e = crate::Client::builder()
            .token_url("http://127.0.0.1:9/token")
            .client_id("svc")
            .client_assertion_file("/var/run/secrets/token")
            .cache_dir(&dir)
            .validate()
            .unwrap_err();
        assert!(matches!(e, Error::Config { field: "client_assertion_file", .. }), "{e}");
    }

    #[test]
    fn concurrent_writers_never_leave_a_torn_entry() {
        let dir = temp_dir("torn");
        let shared = Shared::open(&config(&dir, "s", "read"), Arc::new(NoSource)).unwrap().unwrap();
        let counters = Counters::default();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (reads, writes) = (AtomicU64::new(0), AtomicU64::new(0));
        std::thread::scope(|s| {
            for w in 0..4u64 {
                let (shared, counters, writes) = (&shared, &counters, &writes);
                s.spawn(move || {
                    for i in 0..80u64 {
                        // Lengths from a few bytes to ~20 KiB, so a torn write would show.
                        let len = 1 + ((w * 7919 + i * 104_729) % 20_000) as usize;
                        shared.write(&token("x".repeat(len), Duration::from_secs(3600)), counters);
                        writes.fetch_add(1, Relaxed);
                    }
                });
            }
            for _ in 0..4 {
                let (shared, stop, reads) = (&shared, &stop, &reads);
                s.spawn(move || {
                    while !stop.load(Relaxed) {
                        if let Some(raw) = shared.backend.read(&shared.keys.name).unwrap() {
                            let stored = shared.open_entry(&raw).expect("a complete, authentic entry");
                            assert!(stored.access_token.bytes().all(|b| b == b'x'));
                            reads.fetch_add(1, Relaxed);
                        }
                    }
                });
            }
            while writes.load(Relaxed) < 320 {
                std::thread::sleep(Duration::from_millis(5));
            }
            stop.store(true, Relaxed);
        });
        assert_eq!(counters.store_errors.load(Relaxed), 0);
        assert!(reads.load(Relaxed) > 0);
        let leftovers =
            std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".tmp"));
        assert_eq!(leftovers.count(), 0, "no temp file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_inside_the_refresh_window_is_due_and_an_expired_one_is_never_served() {
        let dir = temp_dir("window");
        let shared = Shared::open(&config(&dir, "s", "read"), Arc::new(NoSource)).unwrap().unwrap();
        let now = unix_ms(SystemTime::now());
        let stored = |issued_ago: u64, left: i64| Stored {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            scope: None,
            issued_at_ms: now - issued_ago,
            expires_at_ms: (now as i64 + left) as u64,
            extras: serde_json::Map::new(),
        };
        // 600 s token: window = max(60 s, 10%) = 60 s.
        let fresh = shared.token_if_fresh(stored(100_000, 500_000)).expect("fresh entry");
        assert!(fresh.expires_in() <= Duration::from_secs(500) && fresh.expires_in() > Duration::from_secs(490));
        assert!(shared.token_if_fresh(stored(550_000, 50_000)).is_none(), "inside the refresh window");
        assert!(shared.token_if_fresh(stored(700_000, -100_000)).is_none(), "expired");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
