//! Client configuration: the builder users call, and the validated `Config` the rest of the
//! crate reads. Every check happens in `build()`, and a failure names the option.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::secret::{Secret, SecretSource};
use crate::{Client, Error};

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with id and secret form-encoded first (RFC 6749 §2.3.1). The default.
    #[default]
    ClientSecretBasic,
    /// HTTP Basic with id and secret as they are, for servers that do not decode them.
    ClientSecretBasicRaw,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// `client_id` in the body and no secret (public clients).
    None,
}

impl AuthMethod {
    /// The name used in configuration and by RFC 8414 metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretBasicRaw => "client_secret_basic_raw",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    fn needs_secret(self) -> bool {
        self != AuthMethod::None
    }
}

impl FromStr for AuthMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_basic_raw" => AuthMethod::ClientSecretBasicRaw,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "none" => AuthMethod::None,
            other => {
                return Err(Error::config(
                    "auth_method",
                    format!("unknown method `{other}`"),
                ));
            }
        })
    }
}

/// When a cached token is refreshed ahead of its expiry.
///
/// The refresh window is the last `max(ratio × lifetime, min_window)` of a token's life, capped
/// at half the lifetime. Each token's refresh starts at a random point of the first `jitter`
/// fraction of its window, so a fleet started together does not refresh together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshPolicy {
    pub ratio: f64,
    pub min_window: Duration,
    pub jitter: f64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            ratio: 0.10,
            min_window: Duration::from_secs(60),
            jitter: 0.25,
        }
    }
}

/// How transient failures are retried: exponential backoff with full jitter, `Retry-After`
/// honoured, at most `max_attempts` requests in all, never past the call's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Extra form parameters may not replace what the client itself controls.
const RESERVED_PARAMS: [&str; 6] = [
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "client_assertion",
    "client_assertion_type",
];

/// Longest lifetime we believe; larger `expires_in` values are clamped (and keep `Instant`
/// arithmetic far from overflow).
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Builds a [`Client`]. Obtain one with [`Client::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    token_url: Option<String>,
    client_id: Option<String>,
    secret: Option<Secret>,
    secret_file: Option<(PathBuf, bool)>,
    auth_method: AuthMethod,
    scopes: Vec<String>,
    audience: Option<String>,
    resources: Vec<String>,
    extra_params: Vec<(String, String)>,
    connect_timeout: Duration,
    request_timeout: Duration,
    call_timeout: Duration,
    default_lifetime: Duration,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    failure_cooldown: Duration,
    root_ca_pem: Vec<Vec<u8>>,
    user_agent: String,
    allow_insecure_http: bool,
    background_refresh: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            token_url: None,
            client_id: None,
            secret: None,
            secret_file: None,
            auth_method: AuthMethod::default(),
            scopes: Vec::new(),
            audience: None,
            resources: Vec::new(),
            extra_params: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            default_lifetime: Duration::from_secs(300),
            refresh: RefreshPolicy::default(),
            retry: RetryPolicy::default(),
            failure_cooldown: Duration::from_secs(5),
            root_ca_pem: Vec::new(),
            user_agent: concat!("cctoken/", env!("CARGO_PKG_VERSION")).to_string(),
            allow_insecure_http: false,
            background_refresh: false,
        }
    }
}

impl ClientBuilder {
    /// The token endpoint. HTTPS, or `http://` on a loopback host.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The client secret. See [`Secret::from_env`] and [`Secret::from_file`].
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secret = Some(secret.into());
        self.secret_file = None;
        self
    }

    /// Reads the secret from `path` at build time and, when `reread` is true, again before every
    /// token request, so a rotated file is used without a restart.
    pub fn client_secret_file(mut self, path: impl Into<PathBuf>, reread: bool) -> Self {
        self.secret_file = Some((path.into(), reread));
        self.secret = None;
        self
    }

    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Requested scopes, sent space-joined. Their order does not matter to the cache.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one requested scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Adds an RFC 8707 resource indicator (repeatable).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Adds an extra form parameter to the token request (repeatable).
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// Limit for DNS + TCP + TLS connect. Default 5 s.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Limit for one HTTP exchange, connect included. Default 10 s.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Limit for one `token()` call, retries and waiting for another caller's fetch included.
    /// Default 30 s.
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self
    }

    /// Lifetime assumed when the response has no `expires_in` and the token is not a JWT with
    /// `exp`. Default 300 s.
    pub fn default_lifetime(mut self, d: Duration) -> Self {
        self.default_lifetime = d;
        self
    }

    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// After a credential failure (`invalid_client`, `unauthorized_client`, `invalid_scope`, a
    /// bare 401/403), callers get the same error without a request for this long. Default 5 s;
    /// zero disables.
    pub fn failure_cooldown(mut self, d: Duration) -> Self {
        self.failure_cooldown = d;
        self
    }

    /// Trusts these PEM certificates in addition to the Mozilla root store (repeatable).
    pub fn root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca_pem.push(pem.into());
        self
    }

    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Allows `http://` token URLs on non-loopback hosts. Only for test networks.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Starts a thread that refreshes the token ahead of expiry even when nobody asks.
    /// Off by default: callers inside the refresh window trigger the refresh themselves.
    pub fn background_refresh(mut self, enable: bool) -> Self {
        self.background_refresh = enable;
        self
    }

    /// Validates everything and builds the client. No network traffic happens here.
    pub fn build(self) -> Result<Client, Error> {
        Client::from_config(self.validate()?)
    }

    fn validate(self) -> Result<Config, Error> {
        let token_url = validate_url(self.token_url.as_deref(), self.allow_insecure_http)?;

        let client_id = self
            .client_id
            .ok_or_else(|| Error::config("client_id", "missing"))?;
        check_text("client_id", &client_id)?;
        if self.auth_method == AuthMethod::ClientSecretBasicRaw && client_id.contains(':') {
            return Err(Error::config(
                "client_id",
                "contains `:`, which raw Basic cannot carry",
            ));
        }

        let secret = match (self.secret, self.secret_file) {
            (Some(s), _) => Some(SecretSource::Value(s)),
            (None, Some((path, reread))) => {
                let last = Secret::from_file(&path)?;
                Some(SecretSource::File { path, reread, last })
            }
            (None, None) => None,
        };
        match (&secret, self.auth_method.needs_secret()) {
            (None, true) => {
                return Err(Error::config(
                    "client_secret",
                    format!("missing (required by {})", self.auth_method.as_str()),
                ));
            }
            (Some(_), false) => {
                return Err(Error::config(
                    "client_secret",
                    "given, but auth_method is none",
                ));
            }
            _ => {}
        }
        if let Some(SecretSource::Value(s)) = &secret {
            if s.expose().is_empty() {
                return Err(Error::config("client_secret", "empty"));
            }
        }

        for s in &self.scopes {
            // RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
            {
                return Err(Error::config(
                    "scopes",
                    format!("invalid scope token {s:?}"),
                ));
            }
        }
        if let Some(a) = &self.audience {
            check_text("audience", a)?;
        }
        for r in &self.resources {
            // RFC 8707 §2: an absolute URI without a fragment.
            match url::Url::parse(r) {
                Ok(u) if u.fragment().is_none() => {}
                _ => {
                    return Err(Error::config(
                        "resource",
                        format!("{r:?} is not an absolute URI without fragment"),
                    ));
                }
            }
        }
        for (k, v) in &self.extra_params {
            if k.is_empty() {
                return Err(Error::config("extra_params", "empty parameter name"));
            }
            if RESERVED_PARAMS.contains(&k.as_str()) {
                return Err(Error::config(
                    "extra_params",
                    format!("`{k}` is set by the client itself"),
                ));
            }
            check_text("extra_params", v)?;
        }

        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("call_timeout", self.call_timeout),
            ("default_lifetime", self.default_lifetime),
        ] {
            if d.is_zero() {
                return Err(Error::config(field, "must be greater than zero"));
            }
        }
        let r = self.refresh;
        if !(r.ratio > 0.0 && r.ratio < 1.0) {
            return Err(Error::config(
                "refresh_policy",
                "ratio must be between 0 and 1",
            ));
        }
        if !(0.0..=1.0).contains(&r.jitter) {
            return Err(Error::config(
                "refresh_policy",
                "jitter must be between 0 and 1",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config(
                "retry_policy",
                "max_attempts must be at least 1",
            ));
        }
        if self.retry.max_delay < self.retry.base_delay {
            return Err(Error::config(
                "retry_policy",
                "max_delay is shorter than base_delay",
            ));
        }

        let mut root_certs = Vec::new();
        for pem in &self.root_ca_pem {
            let before = root_certs.len();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => root_certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::config("root_ca_pem", format!("not valid PEM: {e}")));
                    }
                }
            }
            if root_certs.len() == before {
                return Err(Error::config("root_ca_pem", "no CERTIFICATE block found"));
            }
        }
        check_text("user_agent", &self.user_agent)?;

        let mut scopes = self.scopes;
        // Keep the caller's order on the wire; only the cache key sorts.
        scopes.dedup();
        let mut cfg = Config {
            token_url,
            client_id,
            secret,
            auth_method: self.auth_method,
            scopes,
            audience: self.audience,
            resources: self.resources,
            extra_params: self.extra_params,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            call_timeout: self.call_timeout,
            default_lifetime: self.default_lifetime.min(MAX_LIFETIME),
            refresh: self.refresh,
            retry: self.retry,
            failure_cooldown: self.failure_cooldown,
            root_certs,
            user_agent: self.user_agent,
            background_refresh: self.background_refresh,
            cache_key: String::new(),
        };
        cfg.cache_key = cfg.compute_cache_key();
        Ok(cfg)
    }
}

fn check_text(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::config(field, "empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::config(field, "contains control characters"));
    }
    Ok(())
}

fn validate_url(url: Option<&str>, allow_insecure_http: bool) -> Result<url::Url, Error> {
    let raw = url.ok_or_else(|| Error::config("token_url", "missing"))?;
    let url =
        url::Url::parse(raw).map_err(|e| Error::config("token_url", format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config("token_url", "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(Error::config("token_url", "must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(url),
        "http" => Err(Error::config(
            "token_url",
            "plain http:// is only allowed on loopback hosts (use https, or allow_insecure_http for a test network)",
        )),
        other => Err(Error::config(
            "token_url",
            format!("unsupported scheme `{other}`"),
        )),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The validated configuration. Immutable once built (the secret source is held by the fetcher,
/// which may replace it).
#[derive(Debug)]
pub(crate) struct Config {
    pub token_url: url::Url,
    pub client_id: String,
    pub secret: Option<SecretSource>,
    pub auth_method: AuthMethod,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub resources: Vec<String>,
    pub extra_params: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub call_timeout: Duration,
    pub default_lifetime: Duration,
    pub refresh: RefreshPolicy,
    pub retry: RetryPolicy,
    pub failure_cooldown: Duration,
    pub root_certs: Vec<ureq::tls::Certificate<'static>>,
    pub user_agent: String,
    pub background_refresh: bool,
    pub cache_key: String,
}

impl Config {
    /// A digest of everything that changes which token the server issues: token URL, client id,
    /// auth method, the credential (hashed; for a re-read file, its path), sorted scopes,
    /// audience, resources and extra parameters. Hex SHA-256, safe to log.
    fn compute_cache_key(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |name: &str, value: &str| {
            // Length-prefixed so that ("ab","c") and ("a","bc") differ.
            for part in [name, value] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        };
        field("token_url", self.token_url.as_str());
        field("client_id", &self.client_id);
        field("auth_method", self.auth_method.as_str());
        match &self.secret {
            Some(SecretSource::Value(s)) => field("secret", s.expose()),
            Some(SecretSource::File { path, .. }) => field("secret_file", &path.to_string_lossy()),
            None => field("secret", ""),
        }
        let mut scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();
        for s in scopes {
            field("scope", s);
        }
        field("audience", self.audience.as_deref().unwrap_or(""));
        let mut resources: Vec<&str> = self.resources.iter().map(String::as_str).collect();
        resources.sort_unstable();
        for r in resources {
            field("resource", r);
        }
        let mut extras: Vec<&(String, String)> = self.extra_params.iter().collect();
        extras.sort();
        for (k, v) in extras {
            field(k, v);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}
