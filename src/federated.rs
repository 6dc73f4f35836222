//! Federated client assertions (workload identity): a JWT that the platform (Kubernetes, Azure
//! Workload Identity, GitHub Actions OIDC, SPIFFE) writes to a file and rotates. The file is
//! read again before every token request and sent as `client_assertion` (RFC 7521 §4.2,
//! RFC 7523 §2.2). Errors name the path, never the contents.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::Error;
use crate::redact::quote;

const F: &str = "client_assertion_file";

/// Reads the assertion in `path` now: a regular file of at most 64 KiB holding one compact JWT
/// (surrounding whitespace ignored) whose `exp`, if present, is still ahead of `now` (Unix
/// seconds). The JWT is not verified: the token endpoint does that.
pub(crate) fn read_assertion(path: &Path, now: u64) -> Result<Zeroizing<String>, Error> {
    let bytes = crate::secret::read_credential_file(path, F, "assertion file")?;
    parse_assertion(&bytes, path, now)
}

/// Checks the contents of an assertion file (`path` only names it in errors).
pub(crate) fn parse_assertion(bytes: &[u8], path: &Path, now: u64) -> Result<Zeroizing<String>, Error> {
    let shown = quote(&path.to_string_lossy());
    let fail = |why: &str| Error::config(F, format!("assertion file {shown} {why}"));
    let text = std::str::from_utf8(bytes).map_err(|_| fail("is not UTF-8"))?;
    let jwt = Zeroizing::new(text.trim().to_string());
    if jwt.is_empty() {
        return Err(fail("is empty"));
    }
    let claims = jwt_claims(&jwt).ok_or_else(|| fail("does not hold a JWT (header.payload.signature)"))?;
    match claims.get("exp") {
        None => {}
        Some(exp) => {
            let exp = exp.as_f64().ok_or_else(|| fail("holds a JWT whose `exp` is not a number"))?;
            if exp <= now as f64 {
                let ago = (now as f64 - exp) as u64;
                return Err(fail(&format!(
                    "holds an expired JWT (expired {ago} s ago): the platform did not rotate it"
                )));
            }
        }
    }
    Ok(jwt)
}

/// The claims of a compact JWS, if `jwt` has its shape: three base64url parts, the first two
/// JSON objects.
fn jwt_claims(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    let mut parts = jwt.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || signature.is_empty() {
        return None;
    }
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !(ok(header) && ok(payload) && ok(signature)) {
        return None;
    }
    let object = |p: &str| -> Option<serde_json::Map<String, Value>> {
        let bytes = Zeroizing::new(B64.decode(p).ok()?);
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    };
    object(header)?;
    object(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!("{}.{}.c2lnbmF0dXJl", B64.encode(r#"{"alg":"RS256","typ":"JWT"}"#), B64.encode(claims))
    }

    fn file(content: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "cctoken-federated-unit-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn a_valid_jwt_is_read_trimmed() {
        let token = jwt(r#"{"iss":"i","exp":2000}"#);
        let p = file(&format!("{token}\n"));
        assert_eq!(read_assertion(&p, 1000).unwrap().as_str(), token);
        let no_exp = jwt(r#"{"iss":"i"}"#);
        std::fs::write(&p, &no_exp).unwrap();
        assert_eq!(read_assertion(&p, 1000).unwrap().as_str(), no_exp);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn failures_name_the_path_never_the_contents() {
        let secretish = jwt(r#"{"sub":"TOPSECRET-CLAIM","exp":1000}"#);
        let cases = [
            (secretish.clone(), "expired"),
            ("".to_string(), "empty"),
            ("TOPSECRET-not-a-jwt".to_string(), "does not hold a JWT"),
            (format!("{secretish}.extra"), "does not hold a JWT"),
            (format!("{}.{}.sig", B64.encode("[1]"), B64.encode("{}")), "does not hold a JWT"),
            (jwt(r#"{"exp":"TOPSECRET"}"#), "not a number"),
        ];
        for (content, why) in cases {
            let p = file(&content);
            let e = read_assertion(&p, 1000).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, Error::Config { field: F, .. }), "{text}");
            assert!(text.contains(why), "{text}");
            assert!(text.contains(&*p.to_string_lossy()), "{text}");
            assert!(!text.contains("TOPSECRET") && !text.contains(&secretish), "{text}");
            std::fs::remove_file(&p).unwrap();
        }
        let missing = std::env::temp_dir().join("cctoken-federated-unit-missing-file");
        let e = read_assertion(&missing, 1000).unwrap_err().to_string();
        assert!(e.contains("cctoken-federated-unit-missing-file") && e.contains("not found"), "{e}");
    }

    #[test]
    fn oversized_files_are_refused() {
        let p = file(&"a".repeat(70 * 1024));
        let e = read_assertion(&p, 1000).unwrap_err().to_string();
        assert!(e.contains("larger than 64 KiB"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }
}
