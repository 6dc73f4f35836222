//! Redis store: a fleet shares the operator's Redis: standalone (one URL) or Redis Cluster
//! (several seed-node URLs, comma-separated); `rediss://` for TLS, ACL user and password in the
//! URL.
//!
//! Keys: `cctoken:{<name>}:entry` (the sealed entry, expiring with the token) and
//! `cctoken:{<name>}:lease` (`SET NX PX` with a random owner value, deleted by a script only by
//! its owner). The `{<name>}` hash tag keeps both in one Redis Cluster slot. Every command is
//! bounded by the store timeout; a broken connection is dropped and reopened on the next use.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use redis::ConnectionLike;

use super::{Backend, Lease, StoreError};
use crate::Error;

/// One `redis://` or `rediss://` URL, or several (comma-separated) seed nodes of a Redis Cluster.
/// They may hold a password, so `Debug` shows only scheme, host and port.
#[derive(Clone)]
pub(crate) struct RedisUrl(Vec<url::Url>);

impl RedisUrl {
    /// Checks the URL(s) without connecting. Errors never repeat a URL (it may hold a password).
    pub fn parse(raw: &str) -> Result<RedisUrl, Error> {
        let mut urls = Vec::new();
        for part in raw.split(',').map(str::trim) {
            let url = url::Url::parse(part).map_err(|_| Error::config("redis_url", "not a valid URL"))?;
            if !matches!(url.scheme(), "redis" | "rediss") {
                return Err(Error::config("redis_url", "the scheme must be redis:// or rediss://"));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err(Error::config("redis_url", "missing host"));
            }
            urls.push(url);
        }
        if urls.iter().any(|u| u.scheme() != urls[0].scheme()) {
            return Err(Error::config("redis_url", "cluster seed nodes mix redis:// and rediss://"));
        }
        Ok(RedisUrl(urls))
    }

    fn tls(&self) -> bool {
        self.0[0].scheme() == "rediss"
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, u) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}://{}:{}", u.scheme(), u.host_str().unwrap_or(""), u.port().unwrap_or(6379))?;
        }
        if self.0.iter().any(|u| u.password().is_some()) { f.write_str(" (password: [redacted])") } else { Ok(()) }
    }
}

type Conn = Box<dyn ConnectionLike + Send>;

pub(crate) struct RedisStore {
    client: Client,
    timeout: Duration,
    conn: Arc<Mutex<Option<Conn>>>,
}

/// Standalone or cluster; both hand out a connection that runs commands.
#[derive(Clone)]
enum Client {
    Single(redis::Client),
    Cluster(redis::cluster::ClusterClient),
}

impl Client {
    fn connect(&self, timeout: Duration) -> redis::RedisResult<Conn> {
        match self {
            Client::Single(c) => {
                let conn = c.get_connection_with_timeout(timeout)?;
                conn.set_read_timeout(Some(timeout))?;
                conn.set_write_timeout(Some(timeout))?;
                Ok(Box::new(conn))
            }
            Client::Cluster(c) => {
                let conn = c.get_connection()?;
                conn.set_read_timeout(Some(timeout))?;
                conn.set_write_timeout(Some(timeout))?;
                Ok(Box::new(conn))
            }
        }
    }
}

/// Deletes KEYS[1] only if it still holds ARGV[1]: lease release and entry compare-and-delete.
const DELETE_IF: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

fn fail(op: &str, e: &redis::RedisError) -> StoreError {
    // The kind only: redis error texts can echo parts of the request.
    StoreError(format!("redis {op}: {:?}", e.kind()))
}

impl RedisStore {
    pub fn open(url: &RedisUrl, ca_pem: Option<&[u8]>, timeout: Duration) -> Result<RedisStore, Error> {
        let bad = |_| Error::config("redis_url", "not usable as a Redis connection URL");
        let bad_ca = |_| Error::config("redis_ca_pem", "not a usable PEM CA certificate");
        if ca_pem.is_some() && !url.tls() {
            return Err(Error::config("redis_ca_pem", "given, but the Redis URL is not rediss://"));
        }
        let certs = || redis::TlsCertificates { client_tls: None, root_cert: ca_pem.map(<[u8]>::to_vec) };
        let client = match &url.0[..] {
            [one] if ca_pem.is_some() => {
                Client::Single(redis::Client::build_with_tls(one.as_str(), certs()).map_err(bad_ca)?)
            }
            [one] => Client::Single(redis::Client::open(one.as_str()).map_err(bad)?),
            seeds => {
                let mut b = redis::cluster::ClusterClientBuilder::new(seeds.iter().map(url::Url::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    // One retry (a MOVED after a failover); anything slower is a store failure.
                    .retries(1)
                    .min_retry_wait(10)
                    .max_retry_wait(timeout.as_millis().min(u64::MAX as u128) as u64);
                if ca_pem.is_some() {
                    b = b.certs(certs());
                }
                Client::Cluster(b.build().map_err(bad)?)
            }
        };
        Ok(RedisStore { client, timeout, conn: Arc::new(Mutex::new(None)) })
    }

    /// Runs `f` on the connection, opening one if needed; drops it after an I/O-level failure.
    fn with<T>(&self, op: &str, f: impl FnOnce(&mut Conn) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        with_conn(&self.conn, &self.client, self.timeout, op, f)
    }

    fn key(name: &str, what: &str) -> String {
        format!("cctoken:{{{name}}}:{what}")
    }
}

fn with_conn<T>(
    slot: &Mutex<Option<Conn>>,
    client: &Client,
    timeout: Duration,
    op: &str,
    f: impl FnOnce(&mut Conn) -> redis::RedisResult<T>,
) -> Result<T, StoreError> {
    let mut slot = slot.lock();
    if slot.is_none() {
        *slot = Some(client.connect(timeout).map_err(|e| fail("connect", &e))?);
    }
    let conn = slot.as_mut().expect("connection just opened");
    let result = f(conn);
    if let Err(e) = &result {
        // Anything but a plain command error may leave the connection mid-reply: start over.
        if e.kind() != redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) || !conn.is_open() {
            *slot = None;
        }
    }
    result.map_err(|e| fail(op, &e))
}

struct RedisLease {
    store_conn: Arc<Mutex<Option<Conn>>>,
    client: Client,
    timeout: Duration,
    key: String,
    owner: String,
}

impl Lease for RedisLease {}

impl Drop for RedisLease {
    fn drop(&mut self) {
        // If this fails the lease simply expires.
        let _ = with_conn(&self.store_conn, &self.client, self.timeout, "release", |c| {
            redis::Script::new(DELETE_IF).key(&self.key).arg(&self.owner).invoke::<i64>(c.as_mut())
        });
    }
}

impl Backend for RedisStore {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = Self::key(name, "entry");
        self.with("GET", |c| redis::cmd("GET").arg(&key).query::<Option<Vec<u8>>>(c.as_mut()))
    }

    fn write(&self, name: &str, entry: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let key = Self::key(name, "entry");
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        self.with("SET", |c| redis::cmd("SET").arg(&key).arg(entry).arg("PX").arg(ms).query::<()>(c.as_mut()))
    }

    fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>, StoreError> {
        let key = Self::key(name, "lease");
        let owner = format!("{:032x}", rand::random::<u128>());
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        let got: Option<String> = self.with("SET NX", |c| {
            redis::cmd("SET").arg(&key).arg(&owner).arg("NX").arg("PX").arg(ms).query(c.as_mut())
        })?;
        Ok(got.map(|_| {
            Box::new(RedisLease {
                store_conn: Arc::clone(&self.conn),
                client: self.client.clone(),
                timeout: self.timeout,
                key,
                owner,
            }) as Box<dyn Lease>
        }))
    }

    fn delete_if(&self, name: &str, expected: &[u8]) -> Result<(), StoreError> {
        let key = Self::key(name, "entry");
        self.with("delete", |c| redis::Script::new(DELETE_IF).key(&key).arg(expected).invoke::<i64>(c.as_mut()))
            .map(drop)
    }
}
