//! Faults queued with POST /_dev/fault, applied to coming /token requests.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One queued fault. Unknown fields are rejected so a misspelled field fails the test that sent it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// How many /token requests this applies to; 0 = until the queue is cleared.
    #[serde(default = "one")]
    pub count: u64,
    #[serde(default)]
    pub latency_ms: u64,
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub body: Option<BodyKind>,
    /// Sent verbatim; an explicit `null` is kept (as `Some(Value::Null)`), unlike absence.
    #[serde(default, deserialize_with = "present")]
    pub expires_in: Option<Value>,
    #[serde(default)]
    pub omit_expires_in: bool,
    pub token_type: Option<String>,
    #[serde(default)]
    pub omit_token_type: bool,
    #[serde(default)]
    pub omit_scope: bool,
    #[serde(default)]
    pub access_token_format: TokenFormat,
    #[serde(default)]
    pub extra: Map<String, Value>,
    #[serde(default)]
    pub redirect: bool,
    /// Answer (without authenticating) with what the request carried, in this encoding.
    pub echo: Option<EchoKind>,
}

/// How an `echo` fault quotes the credentials it received: what a careless server or proxy
/// puts into an error page. The status is `status`, else 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EchoKind {
    /// The decoded secret as it is (tabs and all), in a text/plain body.
    Verbatim,
    /// The decoded secret HTML-escaped in a text/html page, with a line break in the middle.
    Html,
    /// A non-OAuth JSON body whose string holds the secret with every character `\u`-escaped.
    JsonEscaped,
    /// The request body as it came (form-encoded), in a text/plain body.
    Percent,
    /// The Authorization header's base64 value without its `=` padding.
    BasicUnpadded,
    /// The first two thirds of the Authorization header's base64 value.
    BasicTruncated,
    /// The first half of the decoded secret.
    SecretTruncated,
    /// An RFC 6749 `invalid_client` error whose `error_description` quotes the secret and the
    /// client assertion.
    Oauth,
    /// The client assertion (a JWT) as it came, in a text/plain body.
    Assertion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    Malformed,
    Truncated,
    Oversized,
    Html,
    Empty,
    Form,
    CloseMidBody,
}

impl BodyKind {
    /// Body kinds that carry a real, issued token (and so need an authenticated client).
    fn carries_token(self) -> bool {
        matches!(self, BodyKind::Oversized | BodyKind::Form)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    #[default]
    Opaque,
    Jwt,
}

fn one() -> u64 {
    1
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl Fault {
    /// Parses and checks a fault; the error text goes back to the test that queued it.
    pub fn from_json(body: &[u8]) -> Result<Fault, String> {
        let fault: Fault = serde_json::from_slice(body).map_err(|e| format!("invalid fault: {e}"))?;
        fault.validate()?;
        Ok(fault)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(status) = self.status.filter(|s| !(200..=599).contains(s)) {
            return Err(format!("status {status} is not between 200 and 599"));
        }
        let printable = |value: &String| value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        if self.retry_after.as_ref().is_some_and(|value| !printable(value)) {
            return Err("retry_after must be printable ASCII (a header value)".into());
        }
        if self.echo.is_some() && (self.body.is_some() || self.error.is_some() || self.redirect) {
            return Err("echo cannot be combined with body, error or redirect".into());
        }
        if let Some(body) = self.body {
            if self.error.is_some() {
                return Err("error and body cannot be combined".into());
            }
            if body.carries_token() && self.error_status().is_some() {
                return Err(format!("body {body:?} is a success answer and cannot have status {:?}", self.status));
            }
        }
        Ok(())
    }

    /// The status of an error answer, when the fault asks for one (any status but 200).
    pub fn error_status(&self) -> Option<u16> {
        self.status.filter(|&s| s != 200)
    }

    /// Faults that answer without looking at the request: no authentication happens.
    pub fn skips_auth(&self) -> bool {
        self.redirect
            || self.echo.is_some()
            || self.error_status().is_some()
            || self.body.is_some_and(|b| !b.carries_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let fault = Fault::from_json(br#"{"status": 503, "retry_after": "1", "expires_in": null}"#).unwrap();
        assert_eq!(fault.count, 1);
        assert_eq!(fault.expires_in, Some(Value::Null));
        assert!(fault.skips_auth());

        let fault = Fault::from_json(br#"{"error": "invalid_client", "count": 0}"#).unwrap();
        assert!(!fault.skips_auth());

        assert!(Fault::from_json(br#"{"stauts": 500}"#).is_err());
        assert!(Fault::from_json(br#"{"body": "bogus"}"#).is_err());
        assert!(Fault::from_json(br#"{"body": "form", "status": 500}"#).is_err());
        assert!(Fault::from_json(br#"{"status": 99}"#).is_err());
        assert!(Fault::from_json(b"not json").is_err());

        let fault = Fault::from_json(br#"{"echo": "json_escaped", "status": 502}"#).unwrap();
        assert_eq!(fault.echo, Some(EchoKind::JsonEscaped));
        assert!(fault.skips_auth());
        assert!(Fault::from_json(br#"{"echo": "html", "error": "invalid_client"}"#).is_err());
        assert!(Fault::from_json(br#"{"echo": "loud"}"#).is_err());
    }
}
