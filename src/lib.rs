//! cctoken: an OAuth 2.0 client-credentials token engine (RFC 6749 §4.4).
//!
//! ```no_run
//! let client = cctoken::Client::builder()
//!     .token_url("https://as.example.com/oauth/token")
//!     .client_id("svc-a")
//!     .client_secret(cctoken::Secret::from_env("CCTOKEN_CLIENT_SECRET")?)
//!     .scopes(["read", "write"])
//!     .build()?;
//! let token = client.token()?; // cached; refreshed ahead of expiry
//! println!("Authorization: {} <{} bytes>", token.token_type(), token.access_token().len());
//! # Ok::<(), cctoken::Error>(())
//! ```
//!
//! Layout: `config` (builder, validation) → `fetch` (one HTTP exchange + retries) →
//! `response` (parsing policy) → `cache` (single-flight, refresh-ahead, stale-if-error) →
//! `client` (the public face). `ffi` is the C ABI and the only module with `unsafe`.

mod cache;
mod certificate;
mod client;
mod clock;
mod config;
mod discovery;
mod error;
mod events;
mod federated;
mod fetch;
mod jwt;
mod metrics;
mod net;
mod redact;
mod response;
mod secret;
mod service_account;
mod store;
mod token;

pub mod ffi;

// Entry points for the fuzz targets in fuzz/ (cargo feature `fuzzing`; not a public API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use certificate::Thumbprint;
pub use client::Client;
pub use config::{AssertionAudience, AuthMethod, ClientBuilder, GrantType, RefreshPolicy, RetryPolicy};
pub use error::{Error, OAuthError, TransportKind};
pub use events::{Event, EventKind, FieldValue, Fields, Level};
pub use jwt::{PrivateKey, SigningAlg};
pub use metrics::{FETCH_LATENCY_BUCKETS, Histogram, Metrics, RequestOutcomes};
pub use net::{Proxy, TrustStore};
pub use secret::Secret;
pub use token::Token;

/// The crate version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
