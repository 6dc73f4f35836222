//! Google service-account JSON keys (what `gcloud iam service-accounts keys create` writes and
//! google-auth reads): `type` = `service_account`, `client_email`, `private_key` (PKCS#8 PEM),
//! `private_key_id`, `token_uri`. The client then uses the JWT bearer grant (RFC 7523 §2.1), as
//! Google documents for server-to-server applications
//! (<https://developers.google.com/identity/protocols/oauth2/service-account>).
//! Errors name the field and the file, never the key.

use std::path::Path;

use serde_json::Value;

use crate::Error;
use crate::jwt::PrivateKey;
use crate::redact::quote;

const F: &str = "service_account";

/// What a service-account key file configures.
#[derive(Debug)]
pub(crate) struct ServiceAccount {
    pub client_email: String,
    pub private_key: PrivateKey,
    pub private_key_id: String,
    pub token_uri: String,
}

/// Reads and parses the key file at `path` (a regular file of at most 64 KiB).
pub(crate) fn from_file(path: &Path) -> Result<ServiceAccount, Error> {
    let bytes = crate::secret::read_credential_file(path, F, "service account file")?;
    let origin = format!("service account file {}", quote(&path.to_string_lossy()));
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::config(F, format!("{origin} is not UTF-8")))?;
    parse(text, &origin)
}

/// Parses a key given as JSON text.
pub(crate) fn from_json(json: &str) -> Result<ServiceAccount, Error> {
    parse(json, "service account JSON")
}

fn parse(json: &str, origin: &str) -> Result<ServiceAccount, Error> {
    // Only the position of a syntax error is reported: serde's messages may quote the input.
    let v: Value = serde_json::from_str(json).map_err(|e| {
        Error::config(F, format!("{origin} is not valid JSON (line {}, column {})", e.line(), e.column()))
    })?;
    let field = |name: &str| -> Result<&str, Error> {
        match v.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
            Some(Value::String(_)) => Err(Error::config(F, format!("{origin}: field `{name}` is empty"))),
            Some(_) => Err(Error::config(F, format!("{origin}: field `{name}` is not a string"))),
            None => Err(Error::config(F, format!("{origin}: missing field `{name}`"))),
        }
    };
    if !v.is_object() {
        return Err(Error::config(F, format!("{origin} is not a JSON object")));
    }
    let kind = field("type")?;
    if kind != "service_account" {
        // Google's types (`authorized_user`, `external_account`, ...) are worth naming; any
        // other text is not repeated, since a damaged file may hold key material there.
        let named = kind.len() <= 40 && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let shown = if named { format!("is {}", quote(kind)) } else { "is not a key type".to_string() };
        return Err(Error::config(
            F,
            format!("{origin}: `type` {shown}, not `service_account` (only service-account keys are supported)"),
        ));
    }
    let client_email = field("client_email")?.to_string();
    let private_key_id = field("private_key_id")?.to_string();
    let token_uri = field("token_uri")?.to_string();
    let pem = field("private_key")?;
    let private_key = PrivateKey::from_pem_for(F, pem.as_bytes())
        .map_err(|e| Error::config(F, format!("{origin}: field `private_key`: {}", reason(&e))))?;
    Ok(ServiceAccount { client_email, private_key, private_key_id, token_uri })
}

fn reason(e: &Error) -> String {
    match e {
        Error::Config { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_pem() -> String {
        // A P-256 PKCS#8 key is enough to test parsing (Google issues RSA keys; the signing path
        // is the same `PrivateKey`).
        let rng = ring::rand::SystemRandom::new();
        let der =
            ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .unwrap();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    }

    fn sa(drop: &str) -> String {
        let mut v = serde_json::json!({
            "type": "service_account",
            "project_id": "p",
            "private_key_id": "kid-1",
            "private_key": key_pem(),
            "client_email": "svc@p.iam.gserviceaccount.com",
            "client_id": "1234",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        v.as_object_mut().unwrap().remove(drop);
        v.to_string()
    }

    #[test]
    fn a_key_file_parses() {
        let s = from_json(&sa("")).unwrap();
        assert_eq!(s.client_email, "svc@p.iam.gserviceaccount.com");
        assert_eq!(s.private_key_id, "kid-1");
        assert_eq!(s.token_uri, "https://oauth2.googleapis.com/token");
        assert!(!format!("{s:?}").contains("BEGIN"));
    }

    #[test]
    fn a_missing_field_is_named_and_the_key_never_is() {
        for f in ["type", "client_email", "private_key", "private_key_id", "token_uri"] {
            let json = sa(f);
            let e = from_json(&json).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, Error::Config { field: F, .. }), "{text}");
            assert!(text.contains(&format!("missing field `{f}`")), "{text}");
            assert!(!text.contains("PRIVATE KEY"), "{text}");
        }
    }

    #[test]
    fn bad_values_are_config_errors_without_contents() {
        let bad_key = sa("").replace("-----BEGIN PRIVATE KEY-----\\n", "-----BEGIN PRIVATE KEY-----\\nAAAA");
        let e = from_json(&bad_key).unwrap_err().to_string();
        assert!(e.contains("`private_key`") && !e.contains("AAAA"), "{e}");
        let user = sa("").replace("\"service_account\"", "\"authorized_user\"");
        assert!(from_json(&user).unwrap_err().to_string().contains("not `service_account`"));
        assert!(from_json(&user).unwrap_err().to_string().contains("`authorized_user`"));
        // Fuzzing: a damaged file with key text in `type` must not have it repeated.
        let damaged =
            sa("").replace("\"service_account\"", "\"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\"");
        let e = from_json(&damaged).unwrap_err().to_string();
        assert!(e.contains("is not a key type") && !e.contains("MIIEvQ") && !e.contains("PRIVATE KEY"), "{e}");
        let e = from_json("{\"private_key\": \"SECRET-KEY-TEXT").unwrap_err().to_string();
        assert!(e.contains("not valid JSON") && !e.contains("SECRET"), "{e}");
    }

    #[test]
    fn a_file_error_names_the_path() {
        let p = std::env::temp_dir().join(format!("cctoken-sa-unit-{}.json", std::process::id()));
        std::fs::write(&p, sa("token_uri")).unwrap();
        let e = from_file(&p).unwrap_err().to_string();
        assert!(e.contains(&*p.to_string_lossy()) && e.contains("`token_uri`"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }
}
