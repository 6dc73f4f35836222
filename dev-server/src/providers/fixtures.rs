//! Generating the fixtures into the providers directory and writing providers.json.

use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, date_time_ymd,
};
use ring::digest;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde_json::json;

use super::entra::{CertClient, Entra, FederatedClient, SecretClient};
use super::federation::Federation;
use super::google::Google;
use super::keys::{self, RsaKey};
use super::util::{guid, hex, random_b64, random_bytes, write_private};
use super::{BoxError, Providers, TENANT};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const ENTRA_SCOPE: &str = "api://cctoken-demo/.default";
pub const FEDERATED_SUBJECT: &str = "system:serviceaccount:default:workload";
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
pub const GOOGLE_CLIENT_EMAIL: &str = "cctoken-test@cctoken-dev.iam.gserviceaccount.com";
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Generates every key, certificate and file into `dir`, writes `dir/providers.json`, and
/// returns the stand-ins that know them. `base_url` is this server's `http://127.0.0.1:PORT`.
pub fn generate(dir: &Path, base_url: &str) -> Result<Providers, BoxError> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir = dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let path = |name: &str| dir.join(name);
    let text = |p: &Path| p.to_string_lossy().into_owned();

    let google_key_id = hex(&random_bytes(20));
    let mut generated = keys::generate_all(vec![
        "entra-cert".into(),
        format!("tenant-{}", &random_b64(9)),
        format!("federation-{}", &random_b64(9)),
        google_key_id.clone(),
    ])?
    .into_iter();
    let mut next = || generated.next().ok_or("missing generated key");
    let (cert_key, tenant_key, federation_key, google_key) = (next()?, next()?, next()?, next()?);

    // Entra certificate credential: a CA, the registered leaf signed by it, and a second,
    // unregistered self-signed certificate for the same key (so its thumbprint differs).
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "cctoken-dev-server providers test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut ca_params);
    let ca = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(cert_key.pkcs8_der.as_slice()),
        &PKCS_RSA_SHA256,
    )?;
    let mut leaf_params = CertificateParams::new(Vec::<String>::new())?;
    leaf_params.distinguished_name.push(DnType::CommonName, "cctoken-entra-client");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut leaf_params);
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key)?;

    let mut other_params = CertificateParams::new(Vec::<String>::new())?;
    other_params.distinguished_name.push(DnType::CommonName, "cctoken-entra-client (not registered)");
    validity(&mut other_params);
    let other = other_params.self_signed(&leaf_key)?;

    let leaf_der = leaf.der().to_vec();
    let x5t = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &leaf_der));
    let x5t_s256 = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &leaf_der));

    let key_pem = path("entra-cert-key.pem");
    let cert_pem = path("entra-cert.pem");
    let other_pem = path("entra-other-cert.pem");
    let pfx = path("entra-cert.pfx");
    let pfx_nopass = path("entra-cert-nopass.pfx");
    let pfx_password = random_b64(12);
    write_private(&key_pem, cert_key.pkcs8_pem.as_bytes())?;
    write_private(&cert_pem, format!("{}{}", leaf.pem(), ca.pem()).as_bytes())?;
    write_private(&other_pem, other.pem().as_bytes())?;
    let chain = [leaf_der.as_slice(), ca.der().as_ref()];
    write_private(&pfx, &pkcs12(&cert_key, &chain, &pfx_password)?)?;
    // "Without a password" is the empty password: PKCS#12 files are always encrypted (what
    // `openssl pkcs12 -export -passout pass:` and Windows' export without a password write).
    write_private(&pfx_nopass, &pkcs12(&cert_key, &chain, "")?)?;

    // Federation issuer: its key and published JWKS.
    let federation_issuer = format!("{base_url}/federation");
    write_private(&path("federation-key.pem"), federation_key.pkcs8_pem.as_bytes())?;
    write_private(&path("federation-jwks.json"), json!({"keys": [federation_key.jwk()]}).to_string().as_bytes())?;

    // Google service account JSON key, in the shape the Cloud console downloads.
    let google_token_url = format!("{base_url}/google/token");
    let google_client_id: String = random_bytes(21).iter().map(|b| char::from(b'0' + b % 10)).collect();
    let google_client_id = format!("1{}", &google_client_id[1..]);
    let sa_file = path("google-sa.json");
    let sa = json!({
        "type": "service_account",
        "project_id": "cctoken-dev",
        "private_key_id": google_key_id,
        "private_key": google_key.pkcs8_pem,
        "client_email": GOOGLE_CLIENT_EMAIL,
        "client_id": google_client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": google_token_url,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            GOOGLE_CLIENT_EMAIL.replace('@', "%40")
        ),
        "universe_domain": "googleapis.com",
    });
    write_private(&sa_file, serde_json::to_string_pretty(&sa)?.as_bytes())?;

    let secret_client = SecretClient { id: guid(), secret: format!("{}~{}", random_b64(6), random_b64(24)) };
    let cert_client = CertClient {
        id: guid(),
        cert_der: leaf_der,
        public_pkcs1_der: cert_key.public_pkcs1_der.clone(),
        x5t: x5t.clone(),
        x5t_s256: x5t_s256.clone(),
    };
    let federated_client = FederatedClient {
        id: guid(),
        issuer: federation_issuer.clone(),
        subject: FEDERATED_SUBJECT.into(),
        audience: FEDERATED_AUDIENCE.into(),
    };
    let token_url = format!("{base_url}/{TENANT}/oauth2/v2.0/token");
    let issuer = format!("{base_url}/{TENANT}/v2.0");

    let manifest = json!({
        "entra": {
            "tenant": TENANT,
            "token_url": token_url,
            "issuer": issuer,
            "scope": ENTRA_SCOPE,
            "secret_client": {"client_id": secret_client.id, "client_secret": secret_client.secret},
            "cert_client": {
                "client_id": cert_client.id,
                "key_pem": text(&key_pem),
                "cert_pem": text(&cert_pem),
                "pfx": text(&pfx),
                "pfx_password": pfx_password,
                "pfx_no_password": text(&pfx_nopass),
                "unregistered_cert_pem": text(&other_pem),
                "x5t": x5t,
                "x5t_s256": x5t_s256,
            },
            "federated_client": {
                "client_id": federated_client.id,
                "subject": FEDERATED_SUBJECT,
                "audience": FEDERATED_AUDIENCE,
            },
        },
        "federation": {
            "issuer": federation_issuer,
            "token_endpoint": format!("{base_url}/_dev/federated-token"),
        },
        "google": {
            "token_url": google_token_url,
            "service_account_file": text(&sa_file),
            "client_email": GOOGLE_CLIENT_EMAIL,
            "scope": GOOGLE_SCOPE,
        },
        "last_assertion": format!("{base_url}/_dev/last-assertion"),
    });
    // Written last, so a reader that sees it finds every file it names.
    write_private(&path("providers.json"), serde_json::to_string_pretty(&manifest)?.as_bytes())?;

    Ok(Providers {
        entra: Entra::new(
            base_url,
            token_url,
            issuer,
            tenant_key,
            secret_client,
            cert_client,
            federated_client,
            federation_key.public_pkcs1_der.clone(),
            federation_key.kid.clone(),
        ),
        federation: Federation::new(federation_issuer, federation_key),
        google: Google::new(google_token_url, google_key, google_client_id),
        last_assertion: Mutex::new(None),
        entra_token_requests: AtomicU64::new(0),
        google_token_requests: AtomicU64::new(0),
    })
}

/// Certificates valid from 2024 to 2036: current, and stable across a long test run.
fn validity(params: &mut CertificateParams) {
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2036, 1, 1);
}

/// A PKCS#12 file with the key and its chain (leaf first), the way Azure Key Vault exports one
/// (PBES2 / AES-256, HMAC-SHA-256: readable by OpenSSL 1.1.1+, Windows 10 1709+, .NET, Java).
fn pkcs12(key: &RsaKey, chain: &[&[u8]], password: &str) -> Result<Vec<u8>, BoxError> {
    let certs = chain.iter().map(|der| Certificate::from_der(der)).collect::<Result<Vec<_>, _>>()?;
    let local_key_id = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, chain[0]).as_ref().to_vec();
    let entry = PrivateKeyChain::new(local_key_id, PrivateKey::from_der(&key.pkcs8_der)?, certs);
    let mut store = KeyStore::new();
    store.add_entry("cctoken-entra-client", KeyStoreEntry::PrivateKeyChain(entry));
    Ok(store.writer(password).write()?)
}
