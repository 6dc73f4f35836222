//! Signed JWTs for client authentication (RFC 7523 assertions) and DPoP proofs (RFC 9449).
//!
//! All cryptography is ring's; this module only assembles the JOSE header and claims (JSON via
//! serde_json, base64url via base64) and picks the ring algorithm for a JWS `alg`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::Error;

/// JWS algorithms cctoken signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlg {
    /// HMAC SHA-256 with the client secret (`client_secret_jwt`).
    HS256,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    RS256,
    /// RSASSA-PSS SHA-256.
    PS256,
    /// ECDSA P-256 SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::HS256 => "HS256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}

impl std::str::FromStr for SigningAlg {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "HS256" => SigningAlg::HS256,
            "RS256" => SigningAlg::RS256,
            "PS256" => SigningAlg::PS256,
            "ES256" => SigningAlg::ES256,
            "EdDSA" => SigningAlg::EdDSA,
            other => {
                return Err(Error::config(
                    "signing_alg",
                    format!("unsupported algorithm {}", crate::redact::quote(other)),
                ));
            }
        })
    }
}

/// A private key for `private_key_jwt` or DPoP. `Debug` never shows key material.
#[derive(Clone)]
pub struct PrivateKey(Arc<KeyPair>, Option<Arc<str>>, Arc<Zeroizing<[u8; 32]>>);

/// SHA-256 of the private key material: input to the shared store's key derivation (ring does
/// not hand the material back once a key pair is loaded).
fn material_digest(material: &[u8]) -> Arc<Zeroizing<[u8; 32]>> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"cctoken private key material");
    h.update(material);
    Arc::new(Zeroizing::new(h.finalize().into()))
}

enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &*self.0 {
            KeyPair::Rsa(_) => "RSA",
            KeyPair::Ec(_) => "EC P-256",
            KeyPair::Ed(_) => "Ed25519",
        };
        write!(f, "PrivateKey({kind}, [redacted])")
    }
}

fn bad_key(field: &'static str, why: impl Into<String>) -> Error {
    Error::config(field, why)
}

impl PrivateKey {
    /// Parses a PEM private key: PKCS#8 (RSA, EC P-256, Ed25519) or PKCS#1 (RSA).
    /// (SEC1 `EC PRIVATE KEY` files: convert with `openssl pkcs8 -topk8 -nocrypt`.)
    pub fn from_pem(pem: &[u8]) -> Result<PrivateKey, Error> {
        Self::from_pem_for("private_key", pem)
    }

    pub(crate) fn from_pem_for(field: &'static str, pem: &[u8]) -> Result<PrivateKey, Error> {
        use rustls_pki_types::PrivateKeyDer;
        use rustls_pki_types::pem::PemObject as _;
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| bad_key(field, "no PRIVATE KEY block in the PEM"))?;
        let pair = match &key {
            PrivateKeyDer::Pkcs1(der) => {
                RsaKeyPair::from_der(der.secret_pkcs1_der()).map(KeyPair::Rsa).map_err(|e| e.to_string())
            }
            PrivateKeyDer::Pkcs8(der) => pkcs8_pair(der.secret_pkcs8_der()),
            PrivateKeyDer::Sec1(_) => {
                Err("SEC1 EC keys are not supported: convert with `openssl pkcs8 -topk8 -nocrypt`".to_string())
            }
            _ => Err("unsupported private key format".to_string()),
        };
        let digest = material_digest(key.secret_der());
        pair.map(|p| PrivateKey(Arc::new(p), None, digest)).map_err(|why| bad_key(field, why))
    }

    /// A PKCS#8 DER private key (RSA, EC P-256, Ed25519), as found in a PKCS#12 file.
    pub(crate) fn from_pkcs8_der_for(field: &'static str, der: &[u8]) -> Result<PrivateKey, Error> {
        let pair = pkcs8_pair(der).map_err(|why| bad_key(field, why))?;
        Ok(PrivateKey(Arc::new(pair), None, material_digest(der)))
    }

    /// The public key as an X.509 `subjectPublicKey` holds it: the DER `RSAPublicKey` for
    /// RSA, the uncompressed point for P-256, the 32 raw bytes for Ed25519.
    pub(crate) fn public_key_bytes(&self) -> &[u8] {
        match &*self.0 {
            KeyPair::Rsa(k) => k.public_key().as_ref(),
            KeyPair::Ec(k) => k.public_key().as_ref(),
            KeyPair::Ed(k) => k.public_key().as_ref(),
        }
    }

    /// Parses a private JWK (RFC 7517): `RSA` (n, e, d, p, q, dp, dq, qi), `EC` P-256
    /// (x, y, d) or `OKP` Ed25519 (x, d).
    pub fn from_jwk(jwk: &str) -> Result<PrivateKey, Error> {
        const F: &str = "private_key";
        let v: Value = serde_json::from_str(jwk).map_err(|_| bad_key(F, "JWK is not JSON"))?;
        let part = |name: &str| -> Result<Zeroizing<Vec<u8>>, Error> {
            let s = v.get(name).and_then(Value::as_str).ok_or_else(|| bad_key(F, format!("JWK lacks `{name}`")))?;
            B64.decode(s).map(Zeroizing::new).map_err(|_| bad_key(F, format!("JWK `{name}` is not base64url")))
        };
        let pair = match v.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let components = ring::rsa::KeyPairComponents {
                    public_key: ring::rsa::PublicKeyComponents { n: part("n")?.to_vec(), e: part("e")?.to_vec() },
                    d: part("d")?.to_vec(),
                    p: part("p")?.to_vec(),
                    q: part("q")?.to_vec(),
                    dP: part("dp")?.to_vec(),
                    dQ: part("dq")?.to_vec(),
                    qInv: part("qi")?.to_vec(),
                };
                RsaKeyPair::from_components(&components).map(KeyPair::Rsa).map_err(|e| e.to_string())
            }
            Some("EC") if v.get("crv").and_then(Value::as_str) == Some("P-256") => {
                let mut public = vec![4u8];
                public.extend_from_slice(&part("x")?);
                public.extend_from_slice(&part("y")?);
                EcdsaKeyPair::from_private_key_and_public_key(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &part("d")?,
                    &public,
                    &SystemRandom::new(),
                )
                .map(KeyPair::Ec)
                .map_err(|e| e.to_string())
            }
            Some("OKP") if v.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
                Ed25519KeyPair::from_seed_and_public_key(&part("d")?, &part("x")?)
                    .map(KeyPair::Ed)
                    .map_err(|e| e.to_string())
            }
            _ => Err("supported JWKs: RSA, EC P-256, OKP Ed25519".to_string()),
        };
        let digest = material_digest(&part("d")?);
        // The JWK's own `kid` names the key to servers that hold several for one client.
        let kid = v.get("kid").and_then(Value::as_str).filter(|k| !k.is_empty()).map(Arc::from);
        pair.map(|p| PrivateKey(Arc::new(p), kid, digest)).map_err(|why| bad_key(F, format!("invalid JWK: {why}")))
    }

    /// The key's own `kid` (from a JWK), used as the assertion's `kid` unless `key_id` is set.
    pub fn key_id(&self) -> Option<&str> {
        self.1.as_deref()
    }

    /// A digest of the private material, for deriving the shared store's keys.
    pub(crate) fn secret_digest(&self) -> &[u8] {
        &self.2[..]
    }

    /// A fresh P-256 key (for DPoP when none is supplied).
    pub fn generate_es256() -> Result<PrivateKey, Error> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::config("dpop_key", "cannot generate a P-256 key"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| Error::config("dpop_key", "cannot load the generated key"))?;
        Ok(PrivateKey(Arc::new(KeyPair::Ec(pair)), None, material_digest(pkcs8.as_ref())))
    }

    /// The algorithm a key of this type signs with by default.
    pub fn default_alg(&self) -> SigningAlg {
        match &*self.0 {
            KeyPair::Rsa(_) => SigningAlg::RS256,
            KeyPair::Ec(_) => SigningAlg::ES256,
            KeyPair::Ed(_) => SigningAlg::EdDSA,
        }
    }

    /// Whether this key can sign with `alg`.
    pub(crate) fn supports(&self, alg: SigningAlg) -> bool {
        matches!(
            (&*self.0, alg),
            (KeyPair::Rsa(_), SigningAlg::RS256 | SigningAlg::PS256)
                | (KeyPair::Ec(_), SigningAlg::ES256)
                | (KeyPair::Ed(_), SigningAlg::EdDSA)
        )
    }

    /// The public key as a JWK (for DPoP headers and thumbprints).
    pub fn public_jwk(&self) -> Value {
        match &*self.0 {
            KeyPair::Ec(k) => {
                let point = k.public_key().as_ref(); // 0x04 || x || y
                json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
            }
            KeyPair::Ed(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(k.public_key().as_ref())}),
            KeyPair::Rsa(k) => {
                let p = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(k.public());
                json!({"kty": "RSA", "n": B64.encode(trim_zeros(&p.n)), "e": B64.encode(trim_zeros(&p.e))})
            }
        }
    }

    /// RFC 7638 JWK SHA-256 thumbprint, base64url: what `cnf.jkt` of a DPoP-bound token holds.
    pub fn jwk_thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        // Required members only, in lexicographic order, no whitespace (RFC 7638 §3).
        let members: &[&str] = match jwk["kty"].as_str() {
            Some("EC") => &["crv", "kty", "x", "y"],
            Some("OKP") => &["crv", "kty", "x"],
            _ => &["e", "kty", "n"],
        };
        let canonical: serde_json::Map<String, Value> =
            members.iter().map(|m| ((*m).to_string(), jwk[*m].clone())).collect();
        let digest = ring::digest::digest(&ring::digest::SHA256, Value::Object(canonical).to_string().as_bytes());
        B64.encode(digest.as_ref())
    }

    fn sign(&self, alg: SigningAlg, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        let failed = || Error::config("private_key", "signing failed");
        match (&*self.0, alg) {
            (KeyPair::Rsa(k), SigningAlg::RS256 | SigningAlg::PS256) => {
                let padding: &dyn signature::RsaEncoding =
                    if alg == SigningAlg::RS256 { &signature::RSA_PKCS1_SHA256 } else { &signature::RSA_PSS_SHA256 };
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(padding, &rng, message, &mut sig).map_err(|_| failed())?;
                Ok(sig)
            }
            (KeyPair::Ec(k), SigningAlg::ES256) => Ok(k.sign(&rng, message).map_err(|_| failed())?.as_ref().to_vec()),
            (KeyPair::Ed(k), SigningAlg::EdDSA) => Ok(k.sign(message).as_ref().to_vec()),
            _ => Err(Error::config("signing_alg", format!("{} does not fit this key", alg.as_str()))),
        }
    }
}

fn pkcs8_pair(der: &[u8]) -> Result<KeyPair, String> {
    RsaKeyPair::from_pkcs8(der)
        .map(KeyPair::Rsa)
        .or_else(|_| {
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map(KeyPair::Ec)
        })
        .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(KeyPair::Ed))
        .map_err(|_| "not an RSA, P-256 or Ed25519 PKCS#8 key".to_string())
}

fn trim_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len().saturating_sub(1));
    &b[start..]
}

/// What signs a JWT: the client secret (HS256) or a private key.
pub(crate) enum Signer<'a> {
    Secret(&'a str),
    Key(&'a PrivateKey),
}

/// `header.claims.signature`, compact serialization.
pub(crate) fn sign_jwt(
    header: &Value,
    claims: &Value,
    alg: SigningAlg,
    signer: Signer<'_>,
) -> Result<Zeroizing<String>, Error> {
    let mut jwt = Zeroizing::new(format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string())));
    let sig = match signer {
        Signer::Secret(secret) => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
            ring::hmac::sign(&key, jwt.as_bytes()).as_ref().to_vec()
        }
        Signer::Key(key) => key.sign(alg, jwt.as_bytes())?,
    };
    jwt.push('.');
    jwt.push_str(&B64.encode(sig));
    Ok(jwt)
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A random `jti`: 16 bytes straight from the OS (getrandom via ring), base64url. Not a
/// user-space generator: one seeded before a `fork()` would give parent and child the same
/// values, and servers reject a replayed `jti`.
pub(crate) fn random_id() -> Result<String, Error> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| Error::config("jti", "the OS random source failed"))?;
    Ok(B64.encode(bytes))
}

/// The certificate headers of an assertion (RFC 7515 §4.1.6-4.1.8).
pub(crate) struct CertHeaders<'a> {
    pub cert: &'a crate::certificate::AssertionCert,
    pub thumbprint: crate::Thumbprint,
    pub x5c: bool,
}

/// The JOSE header of an assertion: `alg`, `typ` JWT, `kid`, and the certificate headers.
pub(crate) fn assertion_header(alg: SigningAlg, kid: Option<&str>, cert: Option<&CertHeaders<'_>>) -> Value {
    use crate::Thumbprint;
    let mut header = json!({"alg": alg.as_str(), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = Value::from(kid);
    }
    if let Some(c) = cert {
        if matches!(c.thumbprint, Thumbprint::Sha1 | Thumbprint::Both) {
            header["x5t"] = Value::from(c.cert.x5t.as_str());
        }
        if matches!(c.thumbprint, Thumbprint::Sha256 | Thumbprint::Both) {
            header["x5t#S256"] = Value::from(c.cert.x5t_s256.as_str());
        }
        if c.x5c {
            header["x5c"] = Value::from(c.cert.x5c());
        }
    }
    header
}

/// An RFC 7523 client assertion under `header` (see [`assertion_header`]): `iss` = `sub` =
/// client id, `aud`, random `jti`, `iat`, `nbf`, `exp`.
pub(crate) fn client_assertion(
    header: &Value,
    client_id: &str,
    audience: &str,
    lifetime: Duration,
    alg: SigningAlg,
    signer: Signer<'_>,
) -> Result<Zeroizing<String>, Error> {
    let iat = now_unix();
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": random_id()?,
        "iat": iat,
        // Entra ID lists `nbf` among the assertion claims (certificate-credentials); MSAL sends it.
        "nbf": iat,
        "exp": iat.saturating_add(lifetime.as_secs().max(1)),
    });
    sign_jwt(header, &claims, alg, signer)
}

/// The claims of an RFC 7523 §2.1 authorization grant: `iss` (the client id, e.g. a Google
/// service account's email), `aud`, `scope` (space-joined, when any), `iat`, `exp`, and `sub`
/// when acting for someone (Google domain-wide delegation).
pub(crate) struct GrantClaims<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub scope: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub lifetime: Duration,
}

/// A signed jwt-bearer grant assertion.
pub(crate) fn grant_assertion(
    header: &Value,
    c: &GrantClaims<'_>,
    alg: SigningAlg,
    key: &PrivateKey,
) -> Result<Zeroizing<String>, Error> {
    let iat = now_unix();
    let mut claims = json!({
        "iss": c.issuer,
        "aud": c.audience,
        "iat": iat,
        "exp": iat.saturating_add(c.lifetime.as_secs().max(1)),
    });
    if let Some(scope) = c.scope {
        claims["scope"] = Value::from(scope);
    }
    if let Some(sub) = c.subject {
        claims["sub"] = Value::from(sub);
    }
    sign_jwt(header, &claims, alg, Signer::Key(key))
}

/// An RFC 9449 DPoP proof for `method` `url` (query and fragment are not part of `htu`),
/// with `ath` when it accompanies an access token and the server's `nonce` when it gave one.
pub(crate) fn dpop_proof(
    key: &PrivateKey,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
) -> Result<Zeroizing<String>, Error> {
    let mut htu = url::Url::parse(url).map_err(|e| Error::config("dpop", format!("bad URL for a DPoP proof: {e}")))?;
    htu.set_query(None);
    htu.set_fragment(None);
    let alg = key.default_alg();
    let header = json!({"typ": "dpop+jwt", "alg": alg.as_str(), "jwk": key.public_jwk()});
    let mut claims = json!({"jti": random_id()?, "htm": method, "htu": htu.as_str(), "iat": now_unix()});
    if let Some(token) = access_token {
        claims["ath"] = Value::from(B64.encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref()));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = Value::from(nonce);
    }
    sign_jwt(&header, &claims, alg, Signer::Key(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client assertion with the plain header (`alg`, `typ`, `kid`).
    fn client_assertion(
        client_id: &str,
        audience: &str,
        lifetime: Duration,
        alg: SigningAlg,
        kid: Option<&str>,
        signer: Signer<'_>,
    ) -> Result<Zeroizing<String>, Error> {
        super::client_assertion(&assertion_header(alg, kid, None), client_id, audience, lifetime, alg, signer)
    }

    fn verify(jwt: &str, alg: &'static dyn signature::VerificationAlgorithm, public: &[u8]) {
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        signature::UnparsedPublicKey::new(alg, public).verify(signed.as_bytes(), &B64.decode(sig).unwrap()).unwrap();
    }

    fn claims(jwt: &str) -> Value {
        serde_json::from_slice(&B64.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn es256_assertion_verifies_and_has_rfc7523_claims() {
        let key = PrivateKey::generate_es256().unwrap();
        let KeyPair::Ec(pair) = &*key.0 else { unreachable!() };
        let jwt = client_assertion(
            "svc",
            "https://as/token",
            Duration::from_secs(60),
            SigningAlg::ES256,
            Some("k1"),
            Signer::Key(&key),
        )
        .unwrap();
        verify(&jwt, &signature::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref());
        let c = claims(&jwt);
        assert_eq!(
            (c["iss"].as_str(), c["sub"].as_str(), c["aud"].as_str()),
            (Some("svc"), Some("svc"), Some("https://as/token"))
        );
        assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 60);
        let other =
            client_assertion("svc", "a", Duration::from_secs(60), SigningAlg::ES256, None, Signer::Key(&key)).unwrap();
        assert_ne!(claims(&other)["jti"], c["jti"], "fresh jti per assertion");
    }

    #[test]
    fn hs256_assertion_verifies() {
        let jwt =
            client_assertion("svc", "aud", Duration::from_secs(60), SigningAlg::HS256, None, Signer::Secret("s3cret"))
                .unwrap();
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        ring::hmac::verify(&key, signed.as_bytes(), &B64.decode(sig).unwrap()).unwrap();
    }

    #[test]
    fn dpop_proof_binds_method_url_and_token() {
        let key = PrivateKey::generate_es256().unwrap();
        let proof = dpop_proof(&key, "GET", "https://rs/x?q=1#f", Some("tok"), Some("n1")).unwrap();
        let c = claims(&proof);
        assert_eq!(
            (c["htm"].as_str(), c["htu"].as_str(), c["nonce"].as_str()),
            (Some("GET"), Some("https://rs/x"), Some("n1"))
        );
        let expected_ath = B64.encode(ring::digest::digest(&ring::digest::SHA256, b"tok").as_ref());
        assert_eq!(c["ath"].as_str(), Some(expected_ath.as_str()));
        assert_eq!(key.jwk_thumbprint().len(), 43);
    }

    /// A `jti` made in a forked child must differ from the parent's next one: a user-space
    /// generator seeded before `fork()` repeats itself in both processes.
    #[test]
    fn jti_differs_between_parent_and_forked_child() {
        let jti = || {
            let jwt =
                client_assertion("svc", "aud", Duration::from_secs(60), SigningAlg::HS256, None, Signer::Secret("s"))
                    .unwrap();
            claims(&jwt)["jti"].as_str().unwrap().to_string()
        };
        let _warm_up = jti(); // seed whatever per-thread state the generator keeps, before fork
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // Child: write its jti to the pipe and leave without running the test harness on.
            let id = jti();
            unsafe {
                libc::write(fds[1], id.as_ptr().cast(), id.len());
                libc::_exit(0);
            }
        }
        unsafe { libc::close(fds[1]) };
        let parent = jti();
        let mut buf = [0u8; 64];
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        let mut status = 0;
        unsafe {
            libc::close(fds[0]);
            libc::waitpid(pid, &mut status, 0);
        }
        assert!(n > 0, "the child wrote no jti");
        let child = std::str::from_utf8(&buf[..n as usize]).unwrap();
        assert_eq!(child.len(), parent.len());
        assert_ne!(child, parent, "parent and forked child sent the same jti");
    }

    #[test]
    fn jwk_kid_is_kept() {
        assert_eq!(PrivateKey::generate_es256().unwrap().key_id(), None);
        // RFC 8037 A.1's Ed25519 key, with a `kid`.
        let ed = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed-1",
            "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(PrivateKey::from_jwk(ed).unwrap().key_id(), Some("ed-1"));
    }

    #[test]
    fn key_debug_is_redacted_and_bad_input_names_the_field() {
        let key = PrivateKey::generate_es256().unwrap();
        assert_eq!(format!("{key:?}"), "PrivateKey(EC P-256, [redacted])");
        assert!(matches!(PrivateKey::from_pem(b"nope"), Err(Error::Config { field: "private_key", .. })));
        assert!(matches!(PrivateKey::from_jwk(r#"{"kty":"oct"}"#), Err(Error::Config { field: "private_key", .. })));
    }
}
