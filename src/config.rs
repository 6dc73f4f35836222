//! Client configuration: the builder users call, and the validated `Config` the rest of the
//! crate reads. Every check happens in `build()`, and a failure names the option.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::certificate::{AssertionCert, Thumbprint};
use crate::jwt::{PrivateKey, SigningAlg};
use crate::net::{Proxy, TrustStore};
use crate::redact::{quote, sanitize};
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
    /// An HS256 JWT assertion signed with the client secret (RFC 7523, OIDC Core §9).
    ClientSecretJwt,
    /// A JWT assertion signed with the client's private key (RFC 7523).
    PrivateKeyJwt,
    /// A PKI-issued TLS client certificate (RFC 8705 §2.1).
    TlsClientAuth,
    /// A self-signed TLS client certificate registered with the server (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

impl AuthMethod {
    /// The name used in configuration and by RFC 8414 metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretBasicRaw => "client_secret_basic_raw",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
            AuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }

    /// The credential this method needs.
    fn needs(self) -> Credential {
        match self {
            AuthMethod::ClientSecretBasic
            | AuthMethod::ClientSecretBasicRaw
            | AuthMethod::ClientSecretPost
            | AuthMethod::ClientSecretJwt => Credential::Secret,
            AuthMethod::PrivateKeyJwt => Credential::PrivateKey,
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth => Credential::Certificate,
            AuthMethod::None => Credential::Nothing,
        }
    }

    pub(crate) fn uses_client_certificate(self) -> bool {
        self.needs() == Credential::Certificate
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Secret,
    PrivateKey,
    Certificate,
    Nothing,
}

/// The `aud` of a JWT client assertion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The token endpoint URL (RFC 7523 §3). The default.
    #[default]
    TokenEndpoint,
    /// The issuer identifier (needs `issuer`; what some servers and FAPI profiles expect).
    Issuer,
    /// A value of your choice.
    Custom(String),
}

impl FromStr for AuthMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_basic_raw" => AuthMethod::ClientSecretBasicRaw,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "none" => AuthMethod::None,
            "client_secret_jwt" => AuthMethod::ClientSecretJwt,
            "private_key_jwt" => AuthMethod::PrivateKeyJwt,
            "tls_client_auth" => AuthMethod::TlsClientAuth,
            "self_signed_tls_client_auth" => AuthMethod::SelfSignedTlsClientAuth,
            other => {
                return Err(Error::config("auth_method", format!("unknown method {}", quote(other))));
            }
        })
    }
}

/// The grant a token request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum GrantType {
    /// `client_credentials` (RFC 6749 §4.4). The default.
    #[default]
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): a JWT signed with the
    /// private key is the grant (Google service accounts). Scopes travel as its `scope` claim.
    JwtBearer,
}

impl GrantType {
    /// The name used in configuration: `client_credentials`, `jwt_bearer`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::JwtBearer => "jwt_bearer",
        }
    }

    /// The `grant_type` form value.
    pub(crate) fn uri(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::JwtBearer => JWT_BEARER_GRANT,
        }
    }
}

/// RFC 7523 §2.1.
pub(crate) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

impl FromStr for GrantType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "client_credentials" => Ok(GrantType::ClientCredentials),
            "jwt_bearer" | JWT_BEARER_GRANT => Ok(GrantType::JwtBearer),
            other => Err(Error::config(
                "grant_type",
                format!("unknown grant type {} (client_credentials, jwt_bearer)", quote(other)),
            )),
        }
    }
}

/// A PKCS#12 source and its password. `Debug` shows the path only.
#[derive(Clone)]
enum Pkcs12Input {
    File(PathBuf, Secret),
    Der(zeroize::Zeroizing<Vec<u8>>, Secret),
}

impl std::fmt::Debug for Pkcs12Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pkcs12Input::File(path, _) => write!(f, "File({path:?}, password: [redacted])"),
            Pkcs12Input::Der(..) => f.write_str("Der([redacted], password: [redacted])"),
        }
    }
}

/// Where a Google service-account key comes from (`Debug` of the JSON is redacted: `Secret`).
#[derive(Clone, Debug)]
enum ServiceAccountInput {
    File(PathBuf),
    Json(Secret),
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
        RefreshPolicy { ratio: 0.10, min_window: Duration::from_secs(60), jitter: 0.25 }
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
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5) }
    }
}

/// Extra form parameters may not replace what the client itself controls.
const RESERVED_PARAMS: [&str; 6] =
    ["grant_type", "client_id", "client_secret", "scope", "client_assertion", "client_assertion_type"];

/// Longest lifetime we believe; larger `expires_in` values are clamped (and keep `Instant`
/// arithmetic far from overflow).
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Builds a [`Client`]. Obtain one with [`Client::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    token_url: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    secret: Option<Secret>,
    secret_file: Option<(PathBuf, bool)>,
    /// `None`: chosen from the credentials given (and, with `issuer`, the server's metadata).
    auth_method: Option<AuthMethod>,
    private_key: Option<Result<PrivateKey, Error>>,
    signing_alg: Option<SigningAlg>,
    key_id: Option<String>,
    assertion_audience: AssertionAudience,
    assertion_lifetime: Duration,
    client_cert: Option<Result<ClientCert, Error>>,
    dpop: bool,
    dpop_key: Option<Result<PrivateKey, Error>>,
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
    trust_store: TrustStore,
    proxy: Proxy,
    user_agent: String,
    allow_insecure_http: bool,
    background_refresh: bool,
    event_sink: Option<crate::events::Sink>,
    cache_dir: Option<PathBuf>,
    redis_url: Option<Result<crate::store::RedisUrl, Error>>,
    redis_ca_pem: Option<Vec<u8>>,
    store_timeout: Duration,
    assertion_cert_pem: Option<Vec<u8>>,
    pkcs12: Option<Pkcs12Input>,
    thumbprint: Option<Thumbprint>,
    x5c: bool,
    assertion_file: Option<PathBuf>,
    grant_type: Option<GrantType>,
    subject: Option<String>,
    service_account: Option<ServiceAccountInput>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            token_url: None,
            issuer: None,
            client_id: None,
            secret: None,
            secret_file: None,
            auth_method: None,
            private_key: None,
            signing_alg: None,
            key_id: None,
            assertion_audience: AssertionAudience::default(),
            assertion_lifetime: Duration::from_secs(60),
            client_cert: None,
            dpop: false,
            dpop_key: None,
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
            trust_store: TrustStore::default(),
            proxy: Proxy::default(),
            user_agent: concat!("cctoken/", env!("CARGO_PKG_VERSION")).to_string(),
            allow_insecure_http: false,
            background_refresh: false,
            event_sink: None,
            cache_dir: None,
            redis_url: None,
            redis_ca_pem: None,
            store_timeout: Duration::from_millis(200),
            assertion_cert_pem: None,
            pkcs12: None,
            thumbprint: None,
            x5c: false,
            assertion_file: None,
            grant_type: None,
            subject: None,
            service_account: None,
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

    /// The client secret. See [`Secret::from_env`] and [`Secret::from_file`]. Setting it
    /// together with [`ClientBuilder::client_secret_file`] is an error at `build()`.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Reads the secret from `path` at build time and, when `reread` is true, again before every
    /// token request, so a rotated file is used without a restart. The file must be a regular
    /// file of at most 64 KiB (see [`Secret::from_file`]). Setting it together with
    /// [`ClientBuilder::client_secret`] is an error at `build()`.
    pub fn client_secret_file(mut self, path: impl Into<PathBuf>, reread: bool) -> Self {
        self.secret_file = Some((path.into(), reread));
        self
    }

    /// The client authentication method. When not set: `private_key_jwt` with a private key,
    /// `tls_client_auth` with only a client certificate, `client_secret_basic` with a secret,
    /// `none` with nothing — or, with `issuer`, the first of those the server supports.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Discovers the token endpoint from the issuer's RFC 8414 metadata (falling back to
    /// OpenID discovery) at the first fetch, instead of `token_url`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The private key for `private_key_jwt` (see [`PrivateKey::from_pem`], [`PrivateKey::from_jwk`]).
    pub fn private_key(mut self, key: PrivateKey) -> Self {
        self.private_key = Some(Ok(key));
        self
    }

    /// A PEM private key for `private_key_jwt` (PKCS#8: RSA, P-256, Ed25519; or PKCS#1 RSA).
    pub fn private_key_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.private_key = Some(PrivateKey::from_pem(pem.as_ref()));
        self
    }

    /// A private JWK for `private_key_jwt`.
    pub fn private_key_jwk(mut self, jwk: &str) -> Self {
        self.private_key = Some(PrivateKey::from_jwk(jwk));
        self
    }

    /// The JWS algorithm of client assertions: HS256 for `client_secret_jwt`; for
    /// `private_key_jwt` RS256 (default for RSA keys), PS256, ES256 or EdDSA.
    pub fn signing_alg(mut self, alg: SigningAlg) -> Self {
        self.signing_alg = Some(alg);
        self
    }

    /// The `kid` header of client assertions.
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    pub fn assertion_audience(mut self, aud: AssertionAudience) -> Self {
        self.assertion_audience = aud;
        self
    }

    /// Lifetime (`exp` − `iat`) of client assertions. Default 60 s, at most one hour.
    pub fn assertion_lifetime(mut self, d: Duration) -> Self {
        self.assertion_lifetime = d;
        self
    }

    /// A TLS client certificate (chain, leaf first) and its private key, both PEM, presented
    /// to the token endpoint: for `tls_client_auth`, `self_signed_tls_client_auth`, or for
    /// certificate-bound tokens with any method (RFC 8705).
    pub fn client_certificate_pem(mut self, cert_chain_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Self {
        self.client_cert = Some(ClientCert::from_pem(cert_chain_pem.as_ref(), key_pem.as_ref()));
        self
    }

    /// Sender-constrained tokens with DPoP (RFC 9449), using a P-256 key generated for this
    /// client unless one is given with [`ClientBuilder::dpop_key`].
    pub fn dpop(mut self, enable: bool) -> Self {
        self.dpop = enable;
        self
    }

    /// The DPoP key (P-256 or Ed25519 PKCS#8 PEM, or any [`PrivateKey`]); implies `dpop(true)`.
    pub fn dpop_key(mut self, key: PrivateKey) -> Self {
        self.dpop = true;
        self.dpop_key = Some(Ok(key));
        self
    }

    /// The DPoP key as PEM; implies `dpop(true)`.
    pub fn dpop_key_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.dpop = true;
        self.dpop_key = Some(PrivateKey::from_pem_for("dpop_key", pem.as_ref()));
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

    /// After a permanent failure (any error that is not retryable: `invalid_client`,
    /// `invalid_request`, `unsupported_grant_type`, a 401/403/404, an HTML 400 from a gateway, a
    /// TLS failure, a malformed token response, an unreadable secret file), callers get the same
    /// error without a request for this long. A configuration change ends it early:
    /// `set_client_secret`, or a re-read secret file that changed. Default 5 s; zero disables.
    pub fn failure_cooldown(mut self, d: Duration) -> Self {
        self.failure_cooldown = d;
        self
    }

    /// Trusts these PEM certificates too (repeatable): in addition to the system store, or the
    /// bundled roots, or alone with [`TrustStore::RootCaOnly`].
    pub fn root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca_pem.push(pem.into());
        self
    }

    /// Which certificate authorities to trust. Default [`TrustStore::System`] (honours
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR`).
    pub fn trust_store(mut self, store: TrustStore) -> Self {
        self.trust_store = store;
        self
    }

    /// Whether requests go through a proxy. Default [`Proxy::Environment`] (`HTTPS_PROXY`,
    /// `NO_PROXY`, ...); `"none".parse()` and `"http://host:3128".parse()` give the others.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
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

    /// Receives every event of the client (see [`crate::Event`]) besides `tracing`. Called from
    /// the thread that did the work (a caller's or a background one), never on a cache hit,
    /// never while the client holds a lock, and never after the client is dropped.
    pub fn on_event(mut self, sink: impl Fn(&crate::Event) + Send + Sync + 'static) -> Self {
        self.event_sink = Some(crate::events::Sink(std::sync::Arc::new(sink)));
        self
    }

    pub(crate) fn without_event_sink(mut self) -> Self {
        self.event_sink = None;
        self
    }

    /// Shares tokens with the other processes of this host through a directory (created 0700 if
    /// missing; refused if owned by another user or writable by group or others). See the
    /// README's "Shared cache stores".
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Shares tokens across machines through Redis: `redis://[user:password@]host:port[/db]`, or
    /// `rediss://` for TLS; several comma-separated seed nodes for a Redis Cluster. The password
    /// never appears in errors or `Debug`.
    pub fn redis_url(mut self, url: &str) -> Self {
        self.redis_url = Some(crate::store::RedisUrl::parse(url));
        self
    }

    /// CA certificate(s), PEM, that the `rediss://` server's certificate must chain to (instead
    /// of the public web roots).
    pub fn redis_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.redis_ca_pem = Some(pem.into());
        self
    }

    /// Bound on each shared store operation (default 200 ms); a slower store counts as failed
    /// and the client fetches on its own.
    pub fn store_timeout(mut self, d: Duration) -> Self {
        self.store_timeout = d;
        self
    }

    /// The certificate of the `private_key_jwt` key (PEM, leaf first, then any intermediates),
    /// named in the assertion header by its thumbprint (see [`ClientBuilder::thumbprint`]), as
    /// Microsoft Entra ID certificate credentials need. It must hold the private key's public
    /// key; `build()` checks.
    pub fn assertion_certificate_pem(mut self, chain_pem: impl AsRef<[u8]>) -> Self {
        self.assertion_cert_pem = Some(chain_pem.as_ref().to_vec());
        self
    }

    /// The private key and certificate chain of `private_key_jwt` from a PKCS#12 (PFX) file, as
    /// Azure hands them out; an empty password for a file without one. Instead of
    /// [`ClientBuilder::private_key_pem`] and [`ClientBuilder::assertion_certificate_pem`].
    /// Read by `build()`; a wrong password is a configuration error naming `pkcs12`.
    pub fn pkcs12_file(mut self, path: impl Into<PathBuf>, password: impl Into<Secret>) -> Self {
        self.pkcs12 = Some(Pkcs12Input::File(path.into(), password.into()));
        self
    }

    /// Like [`ClientBuilder::pkcs12_file`], from the DER bytes of the file.
    pub fn pkcs12_der(mut self, der: impl AsRef<[u8]>, password: impl Into<Secret>) -> Self {
        self.pkcs12 = Some(Pkcs12Input::Der(zeroize::Zeroizing::new(der.as_ref().to_vec()), password.into()));
        self
    }

    /// Which thumbprint headers client assertions carry. Default with a certificate:
    /// [`Thumbprint::Sha1`] (`x5t`), which Entra ID accepts with RS256 and PS256. Setting one
    /// other than `None` without a certificate is an error at `build()`.
    pub fn thumbprint(mut self, t: Thumbprint) -> Self {
        self.thumbprint = Some(t);
        self
    }

    /// Adds the certificate chain as the `x5c` header of client assertions (needs a
    /// certificate). Default false.
    pub fn x5c(mut self, enable: bool) -> Self {
        self.x5c = enable;
        self
    }

    /// A federated client assertion (workload identity: Kubernetes service-account tokens,
    /// Azure Workload Identity, GitHub Actions OIDC): a JWT the platform writes to `path`, read
    /// again before every token request and sent as `client_assertion` (the method reported is
    /// `private_key_jwt`). A missing, empty, malformed or expired file fails the token request
    /// with an error naming the path, never the contents. Excludes a client secret, a private
    /// key, and the shared stores (`cache_dir`, `redis_url`).
    pub fn client_assertion_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.assertion_file = Some(path.into());
        self
    }

    /// The grant. Default [`GrantType::ClientCredentials`]; [`GrantType::JwtBearer`] needs a
    /// private key (or a service account), and authenticates the client only if a secret is
    /// given.
    pub fn grant_type(mut self, g: GrantType) -> Self {
        self.grant_type = Some(g);
        self
    }

    /// The `sub` claim of the jwt-bearer grant: the user to act for (Google domain-wide
    /// delegation). Only with [`GrantType::JwtBearer`].
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }

    /// A Google service-account key file (JSON: `type`, `client_email`, `private_key`,
    /// `private_key_id`, `token_uri`), read by `build()`. Sets the jwt-bearer grant, the client
    /// id (`client_email`), the key, the `kid` (`private_key_id`, unless `key_id` is set) and
    /// the token URL (`token_uri`, unless `token_url` or `issuer` is set).
    pub fn service_account_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.service_account = Some(ServiceAccountInput::File(path.into()));
        self
    }

    /// Like [`ClientBuilder::service_account_file`], from the JSON text.
    pub fn service_account_json(mut self, json: &str) -> Self {
        self.service_account = Some(ServiceAccountInput::Json(Secret::new(json)));
        self
    }

    /// Validates everything and builds the client. No network traffic happens here.
    pub fn build(self) -> Result<Client, Error> {
        Client::from_config(self.validate()?)
    }

    pub(crate) fn validate(mut self) -> Result<Config, Error> {
        // A service account supplies the client id, key, kid, token URL and grant.
        if let Some(input) = self.service_account.take() {
            const F: &str = "service_account";
            if self.private_key.is_some() || self.pkcs12.is_some() {
                return Err(Error::config(F, "set a service account or a private key (or pkcs12), not both"));
            }
            if self.assertion_file.is_some() {
                return Err(Error::config(F, "set a service account or client_assertion_file, not both"));
            }
            if self.grant_type == Some(GrantType::ClientCredentials) {
                return Err(Error::config("grant_type", "a service account uses the jwt_bearer grant"));
            }
            let sa = match &input {
                ServiceAccountInput::File(path) => crate::service_account::from_file(path)?,
                ServiceAccountInput::Json(json) => crate::service_account::from_json(json.expose())?,
            };
            match &self.client_id {
                Some(id) if *id != sa.client_email => {
                    return Err(Error::config("client_id", "differs from the service account's client_email"));
                }
                _ => self.client_id = Some(sa.client_email),
            }
            self.grant_type = Some(GrantType::JwtBearer);
            self.key_id.get_or_insert(sa.private_key_id);
            self.private_key = Some(Ok(sa.private_key));
            if self.token_url.is_none() && self.issuer.is_none() {
                self.token_url = Some(sa.token_uri);
            }
        }

        let insecure = self.allow_insecure_http;
        let endpoint = match (&self.token_url, &self.issuer) {
            (Some(_), Some(_)) => return Err(Error::config("issuer", "set token_url or issuer, not both")),
            (Some(url), None) => Endpoint::TokenUrl(validate_url("token_url", url, insecure)?),
            (None, Some(issuer)) => Endpoint::Issuer(validate_url("issuer", issuer, insecure)?),
            (None, None) => return Err(Error::config("token_url", "missing (set token_url or issuer)")),
        };

        let client_id = self.client_id.ok_or_else(|| Error::config("client_id", "missing"))?;
        check_text("client_id", &client_id)?;

        let secret = match (self.secret, self.secret_file) {
            // Two sources are a mistake to report, not a choice to make silently.
            (Some(_), Some(_)) => {
                return Err(Error::config("client_secret", "set client_secret or client_secret_file, not both"));
            }
            (Some(s), None) => Some(SecretSource::Value(s)),
            (None, Some((path, reread))) => {
                let last = Secret::from_file(&path)?;
                Some(SecretSource::File { path, reread, last })
            }
            (None, None) => None,
        };
        if let Some(SecretSource::Value(s)) = &secret {
            if s.expose().is_empty() {
                return Err(Error::config("client_secret", "empty"));
            }
        }
        let mut private_key = self.private_key.transpose()?;
        let client_cert = self.client_cert.transpose()?;

        // The certificate of the assertion key: from a PKCS#12 file (with the key) or PEM.
        let mut assertion_cert = None;
        if let Some(input) = self.pkcs12 {
            if private_key.is_some() {
                return Err(Error::config("pkcs12", "set pkcs12 or private_key, not both"));
            }
            if self.assertion_cert_pem.is_some() {
                return Err(Error::config("pkcs12", "set pkcs12 or assertion_certificate_pem, not both"));
            }
            let (key, cert) = match &input {
                Pkcs12Input::File(path, pw) => {
                    let der = crate::secret::read_credential_file(path, "pkcs12", "PKCS#12 file")?;
                    crate::certificate::from_pkcs12(&der, pw.expose())?
                }
                Pkcs12Input::Der(der, pw) => crate::certificate::from_pkcs12(der, pw.expose())?,
            };
            private_key = Some(key);
            assertion_cert = Some(cert);
        }
        if let Some(pem) = &self.assertion_cert_pem {
            const F: &str = "assertion_certificate";
            let chain = crate::certificate::chain_from_pem(F, pem)?;
            let key = private_key
                .as_ref()
                .ok_or_else(|| Error::config(F, "needs the private key it certifies (private_key)"))?;
            assertion_cert = Some(AssertionCert::new(F, chain, key)?);
        }
        let thumbprint = match (self.thumbprint, &assertion_cert) {
            (Some(t), Some(_)) => t,
            (None, Some(_)) => Thumbprint::Sha1,
            (None | Some(Thumbprint::None), None) => Thumbprint::None,
            (Some(t), None) => {
                return Err(Error::config(
                    "thumbprint",
                    format!("{} needs a certificate (assertion_certificate_pem or pkcs12)", t.as_str()),
                ));
            }
        };
        if self.x5c && assertion_cert.is_none() {
            return Err(Error::config("x5c", "needs a certificate (assertion_certificate_pem or pkcs12)"));
        }

        let grant_type = self.grant_type.unwrap_or_default();
        if let Some(path) = &self.assertion_file {
            const F: &str = "client_assertion_file";
            if path.as_os_str().is_empty() {
                return Err(Error::config(F, "empty"));
            }
            if secret.is_some() {
                return Err(Error::config(F, "set client_assertion_file or a client secret, not both"));
            }
            if private_key.is_some() {
                return Err(Error::config(F, "set client_assertion_file or a private key, not both"));
            }
            if grant_type == GrantType::JwtBearer {
                return Err(Error::config("grant_type", "jwt_bearer needs a private key, not client_assertion_file"));
            }
            if self.signing_alg.is_some() {
                return Err(Error::config("signing_alg", "not used with client_assertion_file (the platform signs)"));
            }
            if let Some(m) = self.auth_method.filter(|m| *m != AuthMethod::PrivateKeyJwt) {
                return Err(Error::config(
                    "auth_method",
                    format!("{} does not fit client_assertion_file (private_key_jwt)", m.as_str()),
                ));
            }
            if self.cache_dir.is_some() || self.redis_url.is_some() {
                return Err(Error::config(
                    F,
                    "cannot be combined with cache_dir or redis_url: the shared store's key is derived from a \
                     stable credential, and a federated assertion rotates",
                ));
            }
        }
        if grant_type == GrantType::JwtBearer && private_key.is_none() {
            return Err(Error::config("private_key", "missing (required by the jwt_bearer grant)"));
        }
        if let Some(sub) = &self.subject {
            if grant_type != GrantType::JwtBearer {
                return Err(Error::config("subject", "only used by the jwt_bearer grant"));
            }
            check_text("subject", sub)?;
        }
        let dpop_key = match (self.dpop, self.dpop_key) {
            (false, _) => None,
            (true, Some(key)) => Some(key?),
            (true, None) => Some(PrivateKey::generate_es256()?),
        };

        let creds = Credentials {
            secret: secret.is_some(),
            private_key: private_key.is_some() || self.assertion_file.is_some(),
            certificate: client_cert.is_some(),
        };
        let auth_method = match (self.auth_method, &endpoint) {
            (Some(m), _) => {
                creds.check(m)?;
                Some(m)
            }
            (None, _) if self.assertion_file.is_some() => Some(AuthMethod::PrivateKeyJwt),
            // The key signs the grant; the client authenticates only with a secret (or a TLS
            // certificate), else as a public client (RFC 7523 §2.1: authentication is optional).
            (None, _) if grant_type == GrantType::JwtBearer => {
                Some(Credentials { private_key: false, ..creds }.preferences().next().unwrap_or(AuthMethod::None))
            }
            // With discovery, the server's metadata takes part in the choice.
            (None, Endpoint::Issuer(_)) => {
                creds.default_method()?;
                None
            }
            (None, Endpoint::TokenUrl(_)) => Some(creds.default_method()?),
        };
        if auth_method == Some(AuthMethod::None) && secret.is_some() {
            return Err(Error::config("client_secret", "given, but auth_method is none"));
        }
        if auth_method == Some(AuthMethod::ClientSecretBasicRaw) && client_id.contains(':') {
            return Err(Error::config("client_id", "contains `:`, which raw Basic cannot carry"));
        }
        if let Some(alg) = self.signing_alg {
            let fits = match (&private_key, auth_method) {
                (_, Some(AuthMethod::ClientSecretJwt)) => alg == SigningAlg::HS256,
                (Some(key), _) => key.supports(alg),
                (None, _) => alg == SigningAlg::HS256,
            };
            if !fits {
                return Err(Error::config("signing_alg", format!("{} does not fit the credential", alg.as_str())));
            }
        }
        if assertion_cert.is_some()
            && grant_type != GrantType::JwtBearer
            && auth_method.is_some_and(|m| m != AuthMethod::PrivateKeyJwt)
        {
            return Err(Error::config(
                "assertion_certificate",
                "only used in JWT assertions (private_key_jwt or the jwt_bearer grant)",
            ));
        }
        if self.assertion_audience == AssertionAudience::Issuer && !matches!(endpoint, Endpoint::Issuer(_)) {
            return Err(Error::config("assertion_audience", "`issuer` audience needs the issuer option"));
        }
        if self.assertion_lifetime.is_zero() {
            return Err(Error::config("assertion_lifetime", "must be greater than zero"));
        }
        // A long-lived assertion is a replayable credential, and servers refuse them anyway.
        if self.assertion_lifetime > Duration::from_secs(3600) {
            return Err(Error::config("assertion_lifetime", "must be at most one hour"));
        }
        if let Some(kid) = &self.key_id {
            check_text("key_id", kid)?;
        }

        for s in &self.scopes {
            // RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
            if s.is_empty() || !s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
            {
                return Err(Error::config("scopes", format!("invalid scope token {}", quote(s))));
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
                        format!("{} is not an absolute URI without fragment", quote(r)),
                    ));
                }
            }
        }
        for (k, v) in &self.extra_params {
            if k.is_empty() {
                return Err(Error::config("extra_params", "empty parameter name"));
            }
            if RESERVED_PARAMS.contains(&k.as_str()) {
                return Err(Error::config("extra_params", format!("{} is set by the client itself", quote(k))));
            }
            check_text("extra_params", v)?;
        }

        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("call_timeout", self.call_timeout),
            ("default_lifetime", self.default_lifetime),
            ("store_timeout", self.store_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::config(field, "must be greater than zero"));
            }
        }
        let r = self.refresh;
        if !(r.ratio > 0.0 && r.ratio < 1.0) {
            return Err(Error::config("refresh_policy", "ratio must be between 0 and 1"));
        }
        if !(0.0..=1.0).contains(&r.jitter) {
            return Err(Error::config("refresh_policy", "jitter must be between 0 and 1"));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config("retry_policy", "max_attempts must be at least 1"));
        }
        if self.retry.max_delay < self.retry.base_delay {
            return Err(Error::config("retry_policy", "max_delay is shorter than base_delay"));
        }

        let mut root_certs = Vec::new();
        for pem in &self.root_ca_pem {
            let before = root_certs.len();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => root_certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::config(
                            "root_ca_pem",
                            format!("not valid PEM: {}", sanitize(&e.to_string(), 200)),
                        ));
                    }
                }
            }
            if root_certs.len() == before {
                return Err(Error::config("root_ca_pem", "no CERTIFICATE block found"));
            }
        }
        if self.trust_store == TrustStore::RootCaOnly && root_certs.is_empty() {
            return Err(Error::config("root_ca_pem", "missing (trust_store root_ca_only trusts only these)"));
        }
        let proxy = {
            let target = match &endpoint {
                Endpoint::TokenUrl(u) | Endpoint::Issuer(u) => u,
            };
            crate::net::route(&self.proxy, target, insecure, |name| std::env::var(name).ok())?
        };
        check_text("user_agent", &self.user_agent)?;
        let store = match (self.cache_dir, self.redis_url) {
            (Some(_), Some(_)) => return Err(Error::config("cache_dir", "set cache_dir or redis_url, not both")),
            (Some(dir), None) if dir.as_os_str().is_empty() => return Err(Error::config("cache_dir", "empty")),
            (Some(dir), None) => Some(crate::store::StoreConfig::File(dir)),
            (None, Some(url)) => Some(crate::store::StoreConfig::Redis { url: url?, ca_pem: self.redis_ca_pem }),
            (None, None) => None,
        };

        let mut scopes = self.scopes;
        // Keep the caller's order on the wire; only the cache key sorts.
        scopes.dedup();
        let mut cfg = Config {
            endpoint,
            client_id,
            secret,
            auth_method,
            private_key,
            signing_alg: self.signing_alg,
            key_id: self.key_id,
            assertion_audience: self.assertion_audience,
            assertion_lifetime: self.assertion_lifetime,
            client_cert,
            dpop_key,
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
            trust_store: self.trust_store,
            proxy,
            user_agent: self.user_agent,
            background_refresh: self.background_refresh,
            allow_insecure_http: insecure,
            cache_key: String::new(),
            events: crate::events::Events::default(),
            store,
            store_timeout: self.store_timeout,
            assertion_cert,
            thumbprint,
            x5c: self.x5c,
            assertion_file: self.assertion_file,
            grant_type,
            subject: self.subject,
        };
        cfg.cache_key = cfg.compute_cache_key();
        cfg.events = crate::events::Events::new(&cfg, self.event_sink);
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

/// HTTPS, or http:// on a loopback host (or anywhere with `allow_insecure_http`).
pub(crate) fn validate_url(field: &'static str, raw: &str, allow_insecure_http: bool) -> Result<url::Url, Error> {
    let url = url::Url::parse(raw).map_err(|e| Error::config(field, format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(field, "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(Error::config(field, "must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(url),
        "http" => Err(Error::config(
            field,
            "plain http:// is only allowed on loopback hosts (use https, or allow_insecure_http for a test network)",
        )),
        other => Err(Error::config(field, format!("unsupported scheme {}", quote(other)))),
    }
}

/// Which credentials the configuration holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Credentials {
    pub secret: bool,
    pub private_key: bool,
    pub certificate: bool,
}

impl Credentials {
    fn has(self, c: Credential) -> bool {
        match c {
            Credential::Secret => self.secret,
            Credential::PrivateKey => self.private_key,
            Credential::Certificate => self.certificate,
            Credential::Nothing => true,
        }
    }

    fn check(self, m: AuthMethod) -> Result<(), Error> {
        let (ok, field) = match m.needs() {
            Credential::Secret => (self.secret, "client_secret"),
            Credential::PrivateKey => (self.private_key, "private_key"),
            Credential::Certificate => (self.certificate, "client_certificate"),
            Credential::Nothing => (true, ""),
        };
        if ok { Ok(()) } else { Err(Error::config(field, format!("missing (required by {})", m.as_str()))) }
    }

    /// The method to use when none is configured and there is no metadata to ask. No credential
    /// at all is a forgotten secret far more often than a public client, so `none` must be asked
    /// for explicitly.
    pub(crate) fn default_method(self) -> Result<AuthMethod, Error> {
        self.preferences()
            .next()
            .ok_or_else(|| Error::config("client_secret", "missing (or set auth_method none for a public client)"))
    }

    /// Methods these credentials allow, most preferred first.
    pub(crate) fn preferences(self) -> impl Iterator<Item = AuthMethod> {
        [
            AuthMethod::PrivateKeyJwt,
            AuthMethod::TlsClientAuth,
            AuthMethod::SelfSignedTlsClientAuth,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretJwt,
        ]
        .into_iter()
        .filter(move |m| self.has(m.needs()))
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
    pub endpoint: Endpoint,
    pub client_id: String,
    pub secret: Option<SecretSource>,
    /// `None` only with an issuer: picked from the server's metadata at the first fetch.
    pub auth_method: Option<AuthMethod>,
    pub private_key: Option<PrivateKey>,
    pub signing_alg: Option<SigningAlg>,
    pub key_id: Option<String>,
    pub assertion_audience: AssertionAudience,
    pub assertion_lifetime: Duration,
    pub client_cert: Option<ClientCert>,
    pub dpop_key: Option<PrivateKey>,
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
    pub trust_store: TrustStore,
    /// The proxy every request goes through, decided at build time; `None`: direct.
    pub proxy: Option<crate::net::Route>,
    pub user_agent: String,
    pub background_refresh: bool,
    pub allow_insecure_http: bool,
    pub cache_key: String,
    pub events: crate::events::Events,
    /// The shared store under the in-memory cache, if any.
    pub store: Option<crate::store::StoreConfig>,
    pub store_timeout: Duration,
    /// The certificate of the assertion key, named in assertion headers.
    pub assertion_cert: Option<AssertionCert>,
    /// Which thumbprint headers (`None` without a certificate).
    pub thumbprint: Thumbprint,
    pub x5c: bool,
    /// A federated assertion, re-read before every request.
    pub assertion_file: Option<PathBuf>,
    pub grant_type: GrantType,
    /// `sub` of the jwt-bearer grant.
    pub subject: Option<String>,
}

/// Where the token endpoint comes from.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    TokenUrl(url::Url),
    Issuer(url::Url),
}

/// A TLS client certificate chain and key, ready for rustls. `Debug` shows only the leaf's
/// SHA-256 fingerprint.
#[derive(Clone)]
pub(crate) struct ClientCert {
    pub tls: ureq::tls::ClientCert,
    pub fingerprint: String,
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCert(sha256:{})", self.fingerprint)
    }
}

impl ClientCert {
    fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<ClientCert, Error> {
        const F: &str = "client_certificate";
        let chain: Vec<_> = ureq::tls::parse_pem(chain_pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let leaf = chain.first().ok_or_else(|| Error::config(F, "no CERTIFICATE block in the chain PEM"))?;
        let fingerprint = hex(&Sha256::digest(leaf.der()));
        let key = ureq::tls::PrivateKey::from_pem(key_pem)
            .map_err(|_| Error::config(F, "no usable PRIVATE KEY block in the key PEM"))?;
        Ok(ClientCert { tls: ureq::tls::ClientCert::new_with_certs(&chain, key), fingerprint })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Config {
    pub fn credentials(&self) -> Credentials {
        Credentials {
            secret: self.secret.is_some(),
            private_key: self.private_key.is_some() || self.assertion_file.is_some(),
            certificate: self.client_cert.is_some(),
        }
    }

    /// A digest of everything that changes which token the server issues: token URL, client id,
    /// auth method, the public part of a key or certificate credential (JWK thumbprint,
    /// certificate fingerprint), sorted scopes, audience, resources and extra parameters. Hex
    /// SHA-256, deterministic across processes, safe to log.
    ///
    /// The client secret takes no part, in any form: a digest of it would let a dictionary
    /// recover a weak secret from a logged key, and a token identifies the client, not the
    /// version of its secret, so a rotated secret must not change the key.
    fn compute_cache_key(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |name: &str, value: &str| {
            // Length-prefixed so that ("ab","c") and ("a","bc") differ.
            for part in [name, value] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        };
        match &self.endpoint {
            Endpoint::TokenUrl(u) => field("token_url", u.as_str()),
            Endpoint::Issuer(u) => field("issuer", u.as_str()),
        }
        field("client_id", &self.client_id);
        field("auth_method", self.auth_method.map_or("auto", AuthMethod::as_str));
        if let Some(key) = &self.private_key {
            field("private_key", &key.jwk_thumbprint());
        }
        if let Some(cert) = &self.client_cert {
            field("client_certificate", &cert.fingerprint);
        }
        if let Some(key) = &self.dpop_key {
            field("dpop_jkt", &key.jwk_thumbprint());
        }
        field("secret", if self.secret.is_some() { "configured" } else { "" });
        field("grant_type", self.grant_type.as_str());
        if let Some(sub) = &self.subject {
            field("subject", sub);
        }
        if let Some(cert) = &self.assertion_cert {
            field("assertion_certificate", &cert.x5t_s256);
        }
        if let Some(path) = &self.assertion_file {
            field("client_assertion_file", &path.to_string_lossy());
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
        hex(&h.finalize())
    }
}
