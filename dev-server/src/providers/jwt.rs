//! JWTs (RFC 7519) as the stand-ins see them: split and decoded with base64 + serde_json,
//! signatures checked and made with ring. Nothing here is hand-rolled cryptography.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Map, Value};

/// A JWT split into its decoded parts. The signature is kept for verification only.
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Decodes a compact JWS. `None` when it is not three base64url parts of JSON objects.
    pub fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let object = |part: &str| -> Option<Map<String, Value>> {
            let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
            match serde_json::from_slice(&bytes).ok()? {
                Value::Object(map) => Some(map),
                _ => None,
            }
        };
        Some(Jwt {
            header: object(header)?,
            claims: object(claims)?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        })
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (RFC 7519 section 2): a JSON number of seconds; fractions truncate.
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let value = self.claims.get(name)?;
        value.as_i64().or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
    }

    /// Checks the signature with an RSA public key (PKCS#1 RSAPublicKey DER) for `alg`
    /// (RS256 or PS256). Any other algorithm fails.
    pub fn verify_rsa(&self, alg: &str, public_key_pkcs1_der: &[u8]) -> bool {
        let params: &dyn signature::VerificationAlgorithm = match alg {
            "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
            "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
            _ => return false,
        };
        UnparsedPublicKey::new(params, public_key_pkcs1_der)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

/// Signs `header` and `claims` with RS256.
pub fn sign_rs256(key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signing_input = format!("{}.{}", encode(header), encode(claims));
    let mut sig = vec![0u8; key.public().modulus_len()];
    // Signing with a key generated a moment ago into a buffer of its modulus size cannot fail.
    key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut sig)
        .expect("RSA signing");
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_only_three_base64url_json_objects() {
        let part = |v: &str| URL_SAFE_NO_PAD.encode(v);
        let good = format!("{}.{}.{}", part(r#"{"alg":"RS256"}"#), part(r#"{"exp":1.9e9}"#), part("sig"));
        let jwt = Jwt::parse(&good).unwrap();
        assert_eq!(jwt.header_str("alg"), Some("RS256"));
        assert_eq!(jwt.claim_time("exp"), Some(1_900_000_000));
        assert!(!jwt.verify_rsa("RS256", b"not a key"));
        assert!(!jwt.verify_rsa("HS256", b"not a key"));
        for bad in [
            format!("{}.{}", part("{}"), part("{}")),
            format!("{}.{}.{}.{}", part("{}"), part("{}"), part("s"), part("s")),
            format!("{}.{}.{}", part("[]"), part("{}"), part("s")),
            format!("{}.{}.{}", part("{}"), part("not json"), part("s")),
            format!("{}.{}.!!", part("{}"), part("{}")),
        ] {
            assert!(Jwt::parse(&bad).is_none(), "{bad}");
        }
    }
}
