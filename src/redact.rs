//! Keeping credentials out of error messages that quote server text, and keeping quoted text
//! short and on one line.
//!
//! A server (or a proxy in front of it) may echo what it received: the secret, the Basic value,
//! a client assertion (from which a weak `client_secret_jwt` secret can be guessed offline),
//! verbatim or HTML-, JSON- or percent-escaped, whole or cut short. So server text is checked
//! in every decoded form *before* anything else touches it; exact copies become `[redacted]`,
//! and a field that still holds a credential in any form, or a fragment of one, is withheld
//! whole. What is kept is bounded and sanitized (see [`sanitize`]).

use std::fmt;

use zeroize::Zeroizing;

/// What replaces a field that quoted a credential in some form.
pub(crate) const WITHHELD: &str = "[withheld: it quoted a credential]";
const REDACTED: &str = "[redacted]";
/// Fragments this long of a secret count as a leak.
const SECRET_FRAGMENT: usize = 4;
/// Fragments this long of a Basic value or of an assertion's signature count as a leak.
const ENCODED_FRAGMENT: usize = 8;
/// How much of a configured or server-given value an error message quotes.
pub(crate) const QUOTE_CHARS: usize = 200;

/// The credentials one request sent. Only what was sent is kept per request; the forms a
/// server may echo them in are worked out when there is server text to scrub (an error).
/// `Debug` shows none.
#[derive(Default)]
pub(crate) struct Echoes {
    sent: Vec<Sent>,
}

enum Sent {
    Secret(Zeroizing<String>),
    /// The base64 of a Basic value and the length of the (public) client id inside it.
    Basic(Zeroizing<String>, usize),
    Assertion(Zeroizing<String>),
}

impl fmt::Debug for Echoes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Echoes({} credentials, [redacted])", self.sent.len())
    }
}

impl Echoes {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A client secret (nothing for an empty one).
    pub(crate) fn secret(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.sent.push(Sent::Secret(Zeroizing::new(secret.to_string())));
        }
    }

    /// The base64 part of a Basic `Authorization` value, whose first `id_len` decoded bytes
    /// are the (public) client id.
    pub(crate) fn basic(&mut self, b64: &str, id_len: usize) {
        self.sent.push(Sent::Basic(Zeroizing::new(b64.to_string()), id_len));
    }

    /// A client assertion (a JWT).
    pub(crate) fn assertion(&mut self, jwt: &str) {
        self.sent.push(Sent::Assertion(Zeroizing::new(jwt.to_string())));
    }

    /// Server text made safe to quote: exact copies redacted, the whole field withheld when a
    /// credential or a fragment of one survives in any decoded form, else at most `max`
    /// characters on one line.
    pub(crate) fn scrub(&self, text: &str, max: usize) -> String {
        self.forms().scrub_with(text, max, false)
    }

    /// [`Echoes::scrub`] for a page of text (an HTML error page): runs of whitespace become
    /// one space, after the credentials are out.
    pub(crate) fn scrub_page(&self, text: &str, max: usize) -> String {
        self.forms().scrub_with(text, max, true)
    }

    fn forms(&self) -> Forms {
        let mut forms = Forms::default();
        for sent in &self.sent {
            match sent {
                Sent::Secret(s) => forms.secret(s),
                Sent::Basic(b64, id_len) => forms.basic(b64, *id_len),
                Sent::Assertion(jwt) => forms.assertion(jwt),
            }
        }
        forms
    }
}

/// The forms in which server text may carry the credentials.
#[derive(Default)]
struct Forms {
    /// Replaced by `[redacted]` where they appear verbatim (longest first).
    exact: Vec<Zeroizing<String>>,
    /// Found in any decoded view of the text, they withhold the whole field.
    fragments: Vec<Zeroizing<String>>,
}

impl Forms {
    /// A client secret: itself, its form/percent/JSON/HTML encodings, and every fragment of
    /// [`SECRET_FRAGMENT`] characters (the whole secret when shorter).
    fn secret(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        for s in [secret.to_string(), form, percent, json, html_escape(secret)] {
            self.exact.push(Zeroizing::new(s));
        }
        self.fragments.extend(windows(secret, SECRET_FRAGMENT));
    }

    /// A Basic value: itself, unpadded, and every fragment of [`ENCODED_FRAGMENT`] characters
    /// from the first base64 group that holds secret bytes on.
    fn basic(&mut self, b64: &str, id_len: usize) {
        self.exact.push(Zeroizing::new(b64.to_string()));
        self.exact.push(Zeroizing::new(b64.trim_end_matches('=').to_string()));
        // Base64 turns 3 bytes into 4 characters; the group holding the `:` may hold secret bytes.
        let start = (id_len / 3) * 4;
        if let Some(tail) = b64.trim_end_matches('=').get(start..) {
            self.fragments.extend(windows(tail, ENCODED_FRAGMENT));
        }
    }

    /// A client assertion: itself, and fragments of its signature (what an offline guess of a
    /// `client_secret_jwt` secret needs). Header and claims are public.
    fn assertion(&mut self, jwt: &str) {
        self.exact.push(Zeroizing::new(jwt.to_string()));
        if let Some((_, signature)) = jwt.rsplit_once('.') {
            self.fragments.extend(windows(signature, ENCODED_FRAGMENT));
        }
    }

    fn scrub_with(&self, text: &str, max: usize, collapse: bool) -> String {
        let mut exact: Vec<&str> = self.exact.iter().map(|s| s.as_str()).filter(|s| !s.is_empty()).collect();
        exact.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = Zeroizing::new(text.to_string());
        for needle in &exact {
            if out.contains(needle) {
                out = Zeroizing::new(out.replace(needle, REDACTED));
            }
        }
        if self.leaks(&out) {
            return WITHHELD.to_string();
        }
        if collapse {
            out = Zeroizing::new(out.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        sanitize(&out, max)
    }

    /// Whether any decoded view of `text` holds a credential form or fragment.
    fn leaks(&self, text: &str) -> bool {
        let needles: Vec<&str> =
            self.exact.iter().chain(&self.fragments).map(|s| s.as_str()).filter(|s| !s.is_empty()).collect();
        if needles.is_empty() {
            return false;
        }
        let compact = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
        let compact_needles: Vec<String> =
            needles.iter().map(|n| compact(n)).filter(|n| n.chars().count() >= SECRET_FRAGMENT).collect();
        views(text).iter().any(|view| {
            needles.iter().any(|n| view.contains(n)) || {
                // A server may wrap or re-indent what it echoes.
                let view = compact(view);
                compact_needles.iter().any(|n| view.contains(n.as_str()))
            }
        })
    }
}

/// Every `len`-character window of `s` (or `s` itself when shorter).
fn windows(s: &str, len: usize) -> Vec<Zeroizing<String>> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= len {
        return vec![Zeroizing::new(s.to_string())];
    }
    chars.windows(len).map(|w| Zeroizing::new(w.iter().collect())).collect()
}

/// The text as it is and as HTML, JSON and percent/form decoding would show it, alone and
/// combined (an HTML page quoting a JSON string, a JSON string holding a form body...).
fn views(text: &str) -> Vec<Zeroizing<String>> {
    let mut out: Vec<Zeroizing<String>> = vec![Zeroizing::new(text.to_string())];
    for _ in 0..2 {
        let mut next = Vec::new();
        for v in &out {
            let decoded = [html_unescape(v), json_unescape(v), percent_decode(v, false), percent_decode(v, true)];
            for d in decoded.into_iter().flatten() {
                if !out.iter().chain(&next).any(|seen| **seen == d) {
                    next.push(Zeroizing::new(d));
                }
            }
        }
        out.extend(next);
    }
    out
}

fn percent_decode(text: &str, form: bool) -> Option<String> {
    if !(text.contains('%') || (form && text.contains('+'))) {
        return None;
    }
    let text = if form { text.replace('+', " ") } else { text.to_string() };
    Some(percent_encoding::percent_decode_str(&text).decode_utf8_lossy().into_owned())
}

/// JSON string escapes decoded by serde_json: the text is wrapped into a JSON string literal
/// (quotes and control characters escaped, backslashes that start no valid escape doubled).
fn json_unescape(text: &str) -> Option<String> {
    if !text.contains('\\') {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = chars.get(i + 1).copied();
                let valid = match next {
                    Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => true,
                    Some('u') => chars.get(i + 2..i + 6).is_some_and(|h| h.iter().all(char::is_ascii_hexdigit)),
                    _ => false,
                };
                if valid {
                    literal.push('\\');
                    literal.push(next.unwrap_or_default());
                    i += 2;
                    continue;
                }
                literal.push_str("\\\\");
            }
            '"' => literal.push_str("\\\""),
            c if (c as u32) < 0x20 => literal.push_str(&format!("\\u{:04x}", c as u32)),
            c => literal.push(c),
        }
        i += 1;
    }
    literal.push('"');
    // A lone surrogate escape makes serde refuse the string: no view then, the others remain.
    serde_json::from_str::<String>(&literal).ok()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// HTML character references: the five named ones XML knows plus decimal and hex numeric ones.
/// Only a view for leak detection, never text that is displayed.
fn html_unescape(text: &str) -> Option<String> {
    if !text.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Bytes, not a str slice: byte 12 may fall inside a multi-byte character (found by
        // fuzzing); `;` is ASCII, so its position is a char boundary.
        let end = rest.as_bytes()[..rest.len().min(12)].iter().position(|&b| b == b';');
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let code = match name.strip_prefix('#') {
                        Some(hex) if hex.starts_with(['x', 'X']) => u32::from_str_radix(&hex[1..], 16).ok(),
                        Some(dec) => dec.parse::<u32>().ok(),
                        None => None,
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

/// At most `max` characters on one line: control characters and Unicode line/paragraph
/// separators and direction overrides are escaped (`\n`, `\u{1b}`), so a quoted value can
/// neither forge log lines nor hide text; longer text ends with `…`.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::new();
    // Counts what is written, not what is read: an escape is several characters (fuzzing found
    // 200 DEL characters quoted as 1,200).
    let mut written = 0;
    for c in text.chars() {
        if written >= max {
            out.push('…');
            break;
        }
        let unsafe_char = c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if unsafe_char {
            let escaped = c.escape_default();
            written += escaped.len();
            out.extend(escaped);
        } else {
            written += 1;
            out.push(c);
        }
    }
    out
}

/// A configured or server-given value as error messages quote it: sanitized, at most
/// [`QUOTE_CHARS`] characters, in backticks.
pub(crate) fn quote(value: &str) -> String {
    format!("`{}`", sanitize(value, QUOTE_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_bounds_what_it_writes() {
        let quoted = sanitize(&"\u{7f}".repeat(500), QUOTE_CHARS);
        assert!(quoted.chars().count() <= QUOTE_CHARS + 10 + 1, "{} chars", quoted.chars().count());
        assert!(quoted.ends_with('…') && !quoted.contains('\u{7f}'));
        assert_eq!(sanitize("ab\ncd", 10), "ab\\ncd");
    }

    #[test]
    fn html_unescape_never_splits_a_character() {
        // An `&` followed by multi-byte characters across the 12-byte look-ahead (fuzzing).
        assert_eq!(
            html_unescape("&\u{fffd}\u{fffd}\u{fffd}\u{fffd}").as_deref(),
            Some("&\u{fffd}\u{fffd}\u{fffd}\u{fffd}")
        );
        assert_eq!(
            html_unescape("a&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};").as_deref(),
            Some("a&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};")
        );
    }

    const SECRET: &str = "Zq7\t<&\"'+ %é/Wx9k";

    fn echoes() -> Echoes {
        let mut e = Echoes::new();
        e.secret(SECRET);
        e
    }

    #[test]
    fn every_encoding_and_fragment_is_caught() {
        let e = echoes();
        let form: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
        let json = serde_json::to_string(SECRET).unwrap();
        let every_char_escaped: String = SECRET.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
        let html_numeric: String = SECRET.chars().map(|c| format!("&#{};", c as u32)).collect();
        let half: String = SECRET.chars().skip(5).take(6).collect();
        for text in [
            format!("bad secret {SECRET} here"),
            format!("got {form}"),
            format!("got {json}"),
            format!("<p>got {}</p>", html_escape(SECRET)),
            format!("{{\"m\": \"{every_char_escaped}\"}}"),
            format!("<p>{html_numeric}</p>"),
            format!("cut: {half}"),
            format!("wrapped: {}\n   {}", &SECRET[..6], &SECRET[6..]),
            format!("twice: {}", form_urlencoded::byte_serialize(form.as_bytes()).collect::<String>()),
        ] {
            let out = e.scrub(&text, 300);
            assert!(!out.contains(&half) && !out.contains("Zq7") && !out.contains("Wx9k"), "leaked: {out:?}");
        }
    }

    #[test]
    fn plain_text_is_kept_sanitized_and_bounded() {
        let e = echoes();
        assert_eq!(e.scrub("client authentication failed", 300), "client authentication failed");
        assert_eq!(e.scrub("a\r\nFAKE: line\u{202e}", 300), "a\\r\\nFAKE: line\\u{202e}");
        let long = e.scrub(&"x".repeat(1000), 200);
        assert_eq!(long.chars().count(), 201);
        assert_eq!(quote("ab\ncd"), "`ab\\ncd`");
    }

    #[test]
    fn short_secret_basic_value_and_assertion() {
        let mut e = Echoes::new();
        e.secret("abc");
        assert_eq!(e.scrub("xabcx", 100), "x[redacted]x");
        assert_eq!(e.scrub("x%61bcx", 100), WITHHELD);
        let mut e = Echoes::new();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "svc-a:a-long-secret-value");
        e.basic(&b64, "svc-a".len());
        assert_eq!(e.scrub(&format!("Basic {}", &b64[..16]), 100), WITHHELD);
        assert_eq!(e.scrub(&format!("Basic {}", b64.trim_end_matches('=')), 100), "Basic [redacted]");
        let mut e = Echoes::new();
        e.assertion("aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJlLXNpZ25hdHVyZQ");
        assert_eq!(e.scrub("sig c2lnbmF0dXJl", 100), WITHHELD);
        assert_eq!(e.scrub("header aGVhZGVy is fine", 100), "header aGVhZGVy is fine");
    }
}
