//! The certificate of the `private_key_jwt` key, named in the assertion header (RFC 7515
//! §4.1.6-4.1.8): `x5t` (base64url SHA-1 of the DER certificate), `x5t#S256` (base64url
//! SHA-256) and `x5c` (the chain, standard base64 DER, leaf first). Microsoft Entra ID finds a
//! certificate credential by its thumbprint
//! (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>).
//!
//! Parsing is x509-parser's (certificates) and p12-keystore's (PKCS#12 / PFX files); digests
//! are ring's. The certificate must carry the public key of the configured private key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::Error;
use crate::jwt::PrivateKey;
use crate::redact::sanitize;

/// Which thumbprint headers a client assertion carries (needs a certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Thumbprint {
    /// `x5t`: base64url SHA-1 of the DER certificate. The default with a certificate; Entra ID
    /// accepts it with RS256 and PS256.
    Sha1,
    /// `x5t#S256`: base64url SHA-256 of the DER certificate (what Microsoft now documents, with PS256).
    Sha256,
    /// Both headers.
    Both,
    /// Neither (the certificate is then only used for `x5c`, or for checking the key).
    None,
}

impl Thumbprint {
    /// The name used in configuration: `x5t`, `x5t#S256`, `both`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Thumbprint::Sha1 => "x5t",
            Thumbprint::Sha256 => "x5t#S256",
            Thumbprint::Both => "both",
            Thumbprint::None => "none",
        }
    }
}

impl std::str::FromStr for Thumbprint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "x5t" => Thumbprint::Sha1,
            "x5t#S256" => Thumbprint::Sha256,
            "both" => Thumbprint::Both,
            "none" => Thumbprint::None,
            other => {
                return Err(Error::config(
                    "thumbprint",
                    format!("unknown thumbprint {} (x5t, x5t#S256, both, none)", crate::redact::quote(other)),
                ));
            }
        })
    }
}

/// A certificate chain (leaf first) that matches the assertion key, with its thumbprints.
/// Certificates are public: `Debug` shows the SHA-256 thumbprint.
#[derive(Clone)]
pub(crate) struct AssertionCert {
    chain: Vec<Vec<u8>>,
    /// base64url SHA-1 of the leaf.
    pub x5t: String,
    /// base64url SHA-256 of the leaf.
    pub x5t_s256: String,
}

impl fmt::Debug for AssertionCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssertionCert(x5t#S256:{}, {} in chain)", self.x5t_s256, self.chain.len())
    }
}

impl AssertionCert {
    /// The chain, checked against `key`: the leaf must hold `key`'s public key.
    pub fn new(field: &'static str, chain: Vec<Vec<u8>>, key: &PrivateKey) -> Result<AssertionCert, Error> {
        let leaf = chain.first().ok_or_else(|| Error::config(field, "no certificate"))?;
        if spki_bits(field, leaf)? != key.public_key_bytes() {
            return Err(Error::config(field, "the certificate does not match the private key (public keys differ)"));
        }
        let x5t = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, leaf));
        let x5t_s256 = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, leaf));
        Ok(AssertionCert { chain, x5t, x5t_s256 })
    }

    /// The `x5c` header: each certificate's DER, standard base64 (RFC 7515 §4.1.6), leaf first.
    pub fn x5c(&self) -> Vec<String> {
        self.chain.iter().map(|der| STANDARD.encode(der)).collect()
    }
}

/// The `subjectPublicKey` bits of a DER certificate.
fn spki_bits(field: &'static str, der: &[u8]) -> Result<Vec<u8>, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::config(field, format!("not an X.509 certificate: {}", sanitize(&e.to_string(), 120))))?;
    Ok(cert.tbs_certificate.subject_pki.subject_public_key.data.to_vec())
}

/// The DER certificates of a PEM chain, in order; at least one, each a parseable X.509
/// certificate.
pub(crate) fn chain_from_pem(field: &'static str, pem: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut chain = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        let der =
            item.map_err(|e| Error::config(field, format!("not valid PEM: {}", sanitize(&e.to_string(), 120))))?;
        spki_bits(field, &der)?;
        chain.push(der.to_vec());
    }
    if chain.is_empty() {
        return Err(Error::config(field, "no CERTIFICATE block in the PEM"));
    }
    Ok(chain)
}

/// The private key and its certificate chain from a PKCS#12 (PFX) file. The leaf is the
/// certificate holding the key's public key; the rest of the chain follows issuer names.
/// A wrong password is reported as such, naming neither it nor the file's contents.
pub(crate) fn from_pkcs12(der: &[u8], password: &str) -> Result<(PrivateKey, AssertionCert), Error> {
    const F: &str = "pkcs12";
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(der, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => {
            Error::config(F, "wrong password (or a corrupt file): the integrity check failed")
        }
        p12_keystore::error::Error::UnpadError | p12_keystore::error::Error::Pkcs5Error(_) => {
            Error::config(F, "wrong password (or a corrupt file): the key cannot be decrypted")
        }
        other => Error::config(F, format!("not a readable PKCS#12 file: {}", sanitize(&other.to_string(), 120))),
    })?;
    let certs: Vec<Vec<u8>> = archive.certs.iter().map(|b| b.cert.as_der().to_vec()).collect();
    let mut failure = Error::config(F, "no private key in the file");
    for bag in &archive.keys {
        let secret = Zeroizing::new(bag.key.as_der().to_vec());
        let key = match PrivateKey::from_pkcs8_der_for(F, &secret) {
            Ok(k) => k,
            Err(e) => {
                failure = e;
                continue;
            }
        };
        let Some(leaf) = certs.iter().find(|c| spki_bits(F, c).is_ok_and(|b| b == key.public_key_bytes())) else {
            failure = Error::config(F, "no certificate in the file matches its private key");
            continue;
        };
        let chain = order_chain(leaf, &certs);
        let cert = AssertionCert::new(F, chain, &key)?;
        return Ok((key, cert));
    }
    Err(failure)
}

/// `leaf`, then each issuer found among `certs` (by name), stopping at a self-signed one.
fn order_chain(leaf: &[u8], certs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let names = |der: &[u8]| -> Option<(Vec<u8>, Vec<u8>)> {
        let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
        Some((c.subject().as_raw().to_vec(), c.issuer().as_raw().to_vec()))
    };
    let mut chain = vec![leaf.to_vec()];
    while chain.len() < certs.len().max(1) {
        let Some((subject, issuer)) = names(chain.last().expect("non-empty")) else { break };
        if subject == issuer {
            break;
        }
        let next = certs.iter().find(|c| !chain.contains(c) && names(c).is_some_and(|(s, _)| s == issuer));
        match next {
            Some(c) => chain.push(c.clone()),
            None => break,
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 key (PKCS#8 DER) and a certificate for it issued by a fresh CA: (key, leaf, ca).
    fn fixture() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(vec![]).unwrap();
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "cctoken unit CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "cctoken unit client");
        let leaf = params.signed_by(&key, &ca, &ca_key).unwrap();
        (key.serialize_der(), leaf.der().to_vec(), ca.der().to_vec())
    }

    fn pem(label: &str, ders: &[&[u8]]) -> Vec<u8> {
        ders.iter()
            .map(|d| format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", STANDARD.encode(d)))
            .collect::<String>()
            .into_bytes()
    }

    fn pkcs12(key: &[u8], chain: &[&[u8]], password: &str) -> Vec<u8> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey as P12Key, PrivateKeyChain};
        let certs = chain.iter().map(|c| Certificate::from_der(c).unwrap());
        let entry = PrivateKeyChain::new(vec![1u8, 2, 3, 4], P12Key::from_der(key).unwrap(), certs);
        let mut store = KeyStore::new();
        store.add_entry("unit", KeyStoreEntry::PrivateKeyChain(entry));
        store.writer(password).write().unwrap()
    }

    #[test]
    fn thumbprints_are_digests_of_the_der_leaf_and_x5c_is_the_chain() {
        let (key_der, leaf, ca) = fixture();
        let key = PrivateKey::from_pem(&pem("PRIVATE KEY", &[&key_der])).unwrap();
        let chain = chain_from_pem("assertion_certificate", &pem("CERTIFICATE", &[&leaf, &ca])).unwrap();
        assert_eq!(chain, vec![leaf.clone(), ca.clone()]);
        let cert = AssertionCert::new("assertion_certificate", chain, &key).unwrap();
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &leaf);
        let sha256 = ring::digest::digest(&ring::digest::SHA256, &leaf);
        assert_eq!(URL_SAFE_NO_PAD.decode(&cert.x5t).unwrap(), sha1.as_ref());
        assert_eq!(URL_SAFE_NO_PAD.decode(&cert.x5t_s256).unwrap(), sha256.as_ref());
        assert_eq!((cert.x5t.len(), cert.x5t_s256.len()), (27, 43));
        assert_eq!(cert.x5c(), vec![STANDARD.encode(&leaf), STANDARD.encode(&ca)]);
        assert!(format!("{cert:?}").contains(&cert.x5t_s256));
    }

    #[test]
    fn a_certificate_of_another_key_is_refused() {
        let (_, leaf, _) = fixture();
        let (other_key, _, ca) = fixture();
        let key = PrivateKey::from_pem(&pem("PRIVATE KEY", &[&other_key])).unwrap();
        for first in [&leaf, &ca] {
            let e = AssertionCert::new("assertion_certificate", vec![first.clone()], &key).unwrap_err();
            assert!(e.to_string().contains("does not match the private key"), "{e}");
        }
    }

    #[test]
    fn pkcs12_gives_the_key_and_the_ordered_chain() {
        let (key_der, leaf, ca) = fixture();
        // Stored CA first: the leaf is found by its key, and the chain ordered from it.
        let p12 = pkcs12(&key_der, &[&ca, &leaf], "Hunter2-Password");
        let (key, cert) = from_pkcs12(&p12, "Hunter2-Password").unwrap();
        let expected = PrivateKey::from_pem(&pem("PRIVATE KEY", &[&key_der])).unwrap();
        assert_eq!(key.public_key_bytes(), expected.public_key_bytes());
        assert_eq!(cert.x5c(), vec![STANDARD.encode(&leaf), STANDARD.encode(&ca)]);

        let e = from_pkcs12(&p12, "wrong").unwrap_err();
        assert!(matches!(e, Error::Config { field: "pkcs12", .. }), "{e}");
        assert!(e.to_string().contains("wrong password"), "{e}");
        assert!(!format!("{e} {e:?}").contains("Hunter2"));

        let no_password = pkcs12(&key_der, &[&leaf], "");
        assert!(from_pkcs12(&no_password, "").is_ok());

        // A key whose certificate is not in the file.
        let (_, foreign, _) = fixture();
        let e = from_pkcs12(&pkcs12(&key_der, &[&foreign], "pw-9"), "pw-9").unwrap_err();
        assert!(e.to_string().contains("no certificate in the file matches"), "{e}");
    }

    #[test]
    fn thumbprint_names_round_trip() {
        for t in [Thumbprint::Sha1, Thumbprint::Sha256, Thumbprint::Both, Thumbprint::None] {
            assert_eq!(t.as_str().parse::<Thumbprint>().unwrap(), t);
        }
        assert!(matches!("x5t#s256".parse::<Thumbprint>(), Err(Error::Config { field: "thumbprint", .. })));
        for g in [crate::GrantType::ClientCredentials, crate::GrantType::JwtBearer] {
            assert_eq!(g.as_str().parse::<crate::GrantType>().unwrap(), g);
        }
        assert_eq!(
            "urn:ietf:params:oauth:grant-type:jwt-bearer".parse::<crate::GrantType>().unwrap(),
            crate::GrantType::JwtBearer
        );
        assert!("password".parse::<crate::GrantType>().is_err());
    }

    #[test]
    fn bad_pem_names_the_field() {
        for pem in [&b"nothing"[..], b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
            let e = chain_from_pem("assertion_certificate", pem).unwrap_err();
            assert!(matches!(e, Error::Config { field: "assertion_certificate", .. }), "{e}");
        }
    }

    #[test]
    fn garbage_pkcs12_is_a_config_error() {
        let e = from_pkcs12(b"\x30\x03\x02\x01\x03", "Hunter2-Password").unwrap_err();
        assert!(matches!(e, Error::Config { field: "pkcs12", .. }), "{e}");
        assert!(!e.to_string().contains("Hunter2") && !format!("{e:?}").contains("Hunter2"));
    }
}
