//! `Token`: an access token with its metadata. Cheap to clone (one `Arc`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use zeroize::Zeroizing;

use crate::clock::BootTime;

/// An access token as issued by the token endpoint.
///
/// `Debug` never shows the access token itself.
#[derive(Clone)]
pub struct Token(pub(crate) Arc<TokenInner>);

/// Text stored with a trailing NUL, so the C ABI can lend it out without a copy per call.
/// Zeroized on drop (it may hold the access token).
#[derive(Clone)]
pub(crate) struct NulText(Zeroizing<String>);

/// Redacted: a `NulText` may hold the access token.
impl fmt::Debug for NulText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl NulText {
    /// `None` if `s` contains a NUL (it could not be a C string).
    pub fn new(s: &str) -> Option<NulText> {
        if s.contains('\0') {
            return None;
        }
        let mut text = Zeroizing::new(String::with_capacity(s.len() + 1));
        text.push_str(s);
        text.push('\0');
        Some(NulText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// The text as a NUL-terminated C string, valid as long as `self`.
    pub fn as_c_str(&self) -> &std::ffi::CStr {
        std::ffi::CStr::from_bytes_with_nul(self.0.as_bytes()).unwrap_or_default()
    }
}

/// One token as the cache hands it out. The cache gives every thread its own `TokenInner` (see
/// `cache::Cache::hit`), so this is what a per-thread copy costs: one `Arc` clone. Everything
/// the response brought, however large (extras, a big JWT), lives once in the shared [`Issued`].
#[derive(Clone)]
pub(crate) struct TokenInner(pub Arc<Issued>);

impl std::ops::Deref for TokenInner {
    type Target = Issued;

    fn deref(&self) -> &Issued {
        &self.0
    }
}

/// A token response, shared by every copy of the token.
pub(crate) struct Issued {
    pub access_token: NulText,
    pub token_type: NulText,
    pub scope: Option<NulText>,
    /// Expiry on [`BootTime`] (it counts suspended time, as the server's clock does); `None` only
    /// for single-use tokens (`expires_in` ≤ 0), which are already expired for the cache and are
    /// handed to the callers of the one fetch that produced them.
    pub expires_at: Option<BootTime>,
    /// Wall-clock expiry, for display and for the C/Python/Go `expires_at` accessors.
    pub expires_at_wall: Option<SystemTime>,
    /// Response fields cctoken does not interpret (e.g. `id_token`, vendor extensions).
    pub extras: serde_json::Map<String, serde_json::Value>,
    /// Distinguishes tokens for `Client::invalidate`: unique per fetch within a process.
    pub serial: u64,
    /// When the cache that issued this token will want to refresh it, set once by the cache.
    /// Bindings that keep their own copy of the token serve it until then without asking.
    pub refresh_at: std::sync::OnceLock<BootTime>,
}

impl Issued {
    /// Time left before expiry (zero once expired, and for a single-use token).
    pub fn expires_in(&self) -> Duration {
        self.expires_at.map_or(Duration::ZERO, BootTime::remaining)
    }

    /// Time left before the issuing cache's refresh point (zero if passed or unset).
    pub fn fresh_for(&self) -> Duration {
        self.refresh_at.get().map_or(Duration::ZERO, |t| t.remaining())
    }
}

impl Token {
    /// The access token, to send as `Authorization: <token_type> <access_token>`.
    pub fn access_token(&self) -> &str {
        self.0.access_token.as_str()
    }

    /// The token type as the server sent it, with the common `bearer` spellings normalized to
    /// `Bearer` (RFC 6750 §4 makes the type case-insensitive).
    pub fn token_type(&self) -> &str {
        self.0.token_type.as_str()
    }

    /// Time left before the token expires (zero once expired or for a single-use token).
    ///
    /// Lifetimes count on `CLOCK_BOOTTIME` on Linux: time the machine spent suspended counts.
    pub fn expires_in(&self) -> Duration {
        self.0.expires_in()
    }

    /// Expiry as an `Instant`, i.e. now plus [`Token::expires_in`] (`None` for a single-use
    /// token). `Instant` does not advance while the machine is suspended, whereas the token's
    /// lifetime does: after a suspend this moves earlier. Prefer [`Token::expires_in`] or
    /// [`Token::is_expired`], which are always current.
    pub fn expires_at(&self) -> Option<Instant> {
        let left = self.0.expires_at?.remaining();
        let now = Instant::now();
        // Lifetimes are capped by the parser; the `min` only keeps the addition from overflowing.
        Some(now.checked_add(left.min(Duration::from_secs(1 << 32))).unwrap_or(now))
    }

    /// Wall-clock expiry, e.g. for logs (`None` for a single-use token).
    pub fn expires_at_system(&self) -> Option<SystemTime> {
        self.0.expires_at_wall
    }

    /// How long this token may be reused without asking the client again: until the cache's
    /// refresh point (zero inside the refresh window, for an uncached or single-use token).
    /// This is what lets a binding keep a copy of the current token while the core still
    /// decides every fetch.
    pub fn fresh_for(&self) -> Duration {
        self.0.fresh_for()
    }

    /// Whether the token has expired (single-use tokens count as expired: never reuse them).
    pub fn is_expired(&self) -> bool {
        self.0.expires_at.is_none_or(|t| BootTime::now() >= t)
    }

    /// The granted scope: the server's `scope`, else the scope that was requested.
    pub fn scope(&self) -> Option<&str> {
        self.0.scope.as_ref().map(NulText::as_str)
    }

    /// Response fields cctoken does not interpret.
    pub fn extras(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0.extras
    }

    /// The `Authorization` header value: `Bearer <token>` (or the server's token type).
    pub fn authorization_header(&self) -> String {
        format!("{} {}", self.token_type(), self.access_token())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type())
            .field("scope", &self.scope())
            .field("expires_in", &self.expires_in())
            .finish()
    }
}

/// Process-wide serial numbers, so `invalidate` can tell two tokens apart without comparing
/// secrets.
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Token {
    /// A token read from a shared store, valid for `parsed.lifetime` from now on this process's
    /// own clock (see `store`).
    pub(crate) fn from_store(parsed: crate::response::Parsed) -> Token {
        Token::issued(parsed, BootTime::now())
    }

    /// A token from a parsed response whose request was sent at `sent_at`.
    pub(crate) fn issued(parsed: crate::response::Parsed, sent_at: BootTime) -> Token {
        // The parser refuses NULs in access_token and token_type, and drops a scope with one.
        let expires_at = match parsed.lifetime {
            crate::response::Lifetime::For(d) => Some(sent_at.saturating_add(d)),
            crate::response::Lifetime::SingleUse => None,
        };
        let now = SystemTime::now();
        let expires_at_wall = expires_at.map(|t| now.checked_add(t.remaining()).unwrap_or(now));
        Token(Arc::new(TokenInner(Arc::new(Issued {
            access_token: parsed.access_token,
            token_type: parsed.token_type,
            scope: parsed.scope,
            expires_at,
            expires_at_wall,
            extras: parsed.extras,
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            refresh_at: std::sync::OnceLock::new(),
        }))))
    }
}
