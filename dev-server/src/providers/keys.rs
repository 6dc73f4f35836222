//! RSA keys generated per run: the `rsa` crate makes them, ring signs and verifies with them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::OsRng;
use ring::signature::RsaKeyPair;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use super::BoxError;

/// An RSA-2048 key pair in the forms the stand-ins need.
pub struct RsaKey {
    /// PKCS#8 PEM ("PRIVATE KEY"), as Azure exports and Google's JSON key holds.
    pub pkcs8_pem: String,
    pub pkcs8_der: Vec<u8>,
    /// PKCS#1 RSAPublicKey DER, the form ring's RSA verification takes.
    pub public_pkcs1_der: Vec<u8>,
    public: RsaPublicKey,
    pub signer: RsaKeyPair,
    pub kid: String,
}

impl RsaKey {
    pub fn generate(kid: String) -> Result<RsaKey, BoxError> {
        let private = RsaPrivateKey::new(&mut OsRng, 2048)?;
        let pkcs8_pem = private.to_pkcs8_pem(LineEnding::LF)?.to_string();
        let pkcs8_der = private.to_pkcs8_der()?.as_bytes().to_vec();
        let public = RsaPublicKey::from(&private);
        let public_pkcs1_der = public.to_pkcs1_der()?.as_bytes().to_vec();
        let signer = RsaKeyPair::from_pkcs8(&pkcs8_der).map_err(|e| format!("ring rejects the RSA key: {e}"))?;
        Ok(RsaKey { pkcs8_pem, pkcs8_der, public_pkcs1_der, public, signer, kid })
    }

    /// The public key as a JWK (RFC 7517 section 4, RFC 7518 section 6.3.1).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        })
    }
}

/// Generates several keys at once: each takes a noticeable moment even optimized.
pub fn generate_all(kids: Vec<String>) -> Result<Vec<RsaKey>, BoxError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = kids.into_iter().map(|kid| scope.spawn(move || RsaKey::generate(kid))).collect();
        handles.into_iter().map(|h| h.join().map_err(|_| BoxError::from("RSA key generation panicked"))?).collect()
    })
}
