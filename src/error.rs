//! The one error type. Every message is safe to log: secrets and tokens are never put into an
//! error, and text that comes from the server is scrubbed, bounded and put on one line before
//! it is stored (see `crate::redact`).

use std::fmt;
use std::time::Duration;

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// DNS resolution or TCP connect failed.
    Connect,
    /// A connect, request or whole-call deadline passed.
    Timeout,
    /// The TLS handshake failed (bad certificate, wrong host name, protocol error).
    Tls,
    /// The connection broke while sending or receiving.
    Io,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Tls => "TLS",
            TransportKind::Io => "I/O",
        })
    }
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code, e.g. `invalid_client`.
    pub error: String,
    /// `error_description`: bounded, on one line, withheld if it quoted a credential.
    pub description: Option<String>,
    /// `error_uri`.
    pub uri: Option<String>,
    /// The HTTP status it came with (a 200 that carries `error` keeps 200).
    pub http_status: u16,
    /// A parsed `Retry-After`, when the server sent one.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token endpoint returned OAuth error `{}` (HTTP {})", self.error, self.http_status)?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Everything that can fail in cctoken.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; `field` names the option.
    #[error("invalid configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },

    /// The request did not get an HTTP answer.
    #[error("{kind} error talking to the token endpoint: {message}")]
    Transport { kind: TransportKind, message: String },

    /// A non-success HTTP status without an OAuth error body (e.g. an HTML page from a proxy).
    #[error("token endpoint answered HTTP {status}{}", snippet_suffix(.body_snippet))]
    Http { status: u16, retry_after: Option<Duration>, body_snippet: String },

    /// The server answered with an RFC 6749 §5.2 error.
    #[error("{0}")]
    OAuth(Box<OAuthError>),

    /// A 2xx whose body is not a usable token response.
    #[error("invalid token response: {0}")]
    InvalidResponse(String),
}

fn snippet_suffix(snippet: &str) -> String {
    if snippet.is_empty() { String::new() } else { format!(": {snippet}") }
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Config { field, reason: reason.into() }
    }

    pub(crate) fn timeout(message: impl Into<String>) -> Self {
        Error::Transport { kind: TransportKind::Timeout, message: message.into() }
    }

    /// The HTTP status the error came with, if any.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            Error::OAuth(e) => Some(e.http_status),
            _ => None,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Http { retry_after, .. } => *retry_after,
            Error::OAuth(e) => e.retry_after,
            _ => None,
        }
    }

    /// The OAuth error details, when the server sent an RFC 6749 §5.2 error.
    pub fn oauth(&self) -> Option<&OAuthError> {
        match self {
            Error::OAuth(e) => Some(e),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: connection failures, timeouts, 408, 425, 429 and
    /// 5xx (with or without an OAuth error body). TLS failures, other 4xx, OAuth errors on a 4xx
    /// or a 200, configuration errors and malformed 2xx bodies are permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => *kind != TransportKind::Tls,
            Error::Http { status, .. } => transient_status(*status),
            Error::OAuth(e) => transient_status(e.http_status),
            Error::Config { .. } | Error::InvalidResponse(_) => false,
        }
    }

    /// A failure that asking again at once will not fix: every permanent (non-retryable) error
    /// (bad credentials, `invalid_request`, `unsupported_grant_type`, a 404 from a wrong token
    /// URL, an HTML 400 from a gateway, a TLS failure, a malformed 2xx, an unreadable secret
    /// file). The cache repeats it to callers for `failure_cooldown` instead of sending a new
    /// request each time; a configuration change ends that early.
    pub(crate) fn cools_down(&self) -> bool {
        !self.is_retryable()
    }
}

pub(crate) fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || (500..=599).contains(&status)
}
