//! HTTPS and mTLS mode (`--tls-dir DIR`).
//!
//! At start the server generates a throw-away CA, a server certificate for 127.0.0.1 only (so a
//! client that connects as `localhost` sees a host-name mismatch), and a client certificate for
//! every client that authenticates with one: signed by the CA for `tls_client_auth`, self-signed
//! for `self_signed_tls_client_auth`. All of them are written to DIR as PEM files for the tests.
//!
//! TLS is terminated in front of the HTTP server, the way a reverse proxy does it: each TLS
//! connection gets its own plaintext connection to the internal tiny_http listener, and the
//! client certificate it presented is registered under that connection's local port, where the
//! token endpoint looks it up (tiny_http reports that port as the request's remote address).

use std::collections::HashMap;
use std::error::Error;
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, ServerConnection, SignatureScheme,
};

use crate::state::{AuthMethod, ClientConfig, PeerCert, State};

/// A TLS handshake that takes longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the relay waits for the TLS side before looking at the plaintext side again.
const POLL: Duration = Duration::from_millis(2);

type BoxError = Box<dyn Error + Send + Sync>;

/// The generated certificates and the rustls configuration that serves them.
pub struct Tls {
    config: Arc<ServerConfig>,
    /// Checks whether a client certificate chains to the generated CA.
    ca_verifier: Arc<dyn ClientCertVerifier>,
    /// Client id → SHA-256 of the certificate generated for it (base64url, as in `x5t#S256`).
    pub client_cert_sha256: HashMap<String, String>,
}

impl Tls {
    /// Generates the CA and the certificates and writes them to `dir`:
    /// `ca.pem`, `server.pem`, `server-key.pem`, and `<client id>.pem` / `<client id>-key.pem`
    /// for every client that authenticates with a certificate.
    pub fn generate(dir: &Path, clients: &[ClientConfig]) -> Result<Tls, BoxError> {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let write = |name: &str, text: &str| -> Result<(), BoxError> {
            let path = dir.join(name);
            fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()).into())
        };

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "cctoken-dev-server test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key)?;
        write("ca.pem", &ca.pem())?;

        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(Vec::<String>::new())?;
        server_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        server_params.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = server_params.signed_by(&server_key, &ca, &ca_key)?;
        write("server.pem", &server.pem())?;
        write("server-key.pem", &server_key.serialize_pem())?;

        let mut client_cert_sha256 = HashMap::new();
        for client in clients.iter().filter(|c| matches!(c.auth, AuthMethod::Tls | AuthMethod::SelfSignedTls)) {
            if !client.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
                return Err(format!("client id {:?} cannot name a certificate file", client.id).into());
            }
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.distinguished_name.push(DnType::CommonName, client.id.as_str());
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let cert = match client.auth {
                AuthMethod::Tls => params.signed_by(&key, &ca, &ca_key)?,
                _ => params.self_signed(&key)?,
            };
            write(&format!("{}.pem", client.id), &cert.pem())?;
            write(&format!("{}-key.pem", client.id), &key.serialize_pem())?;
            client_cert_sha256.insert(client.id.clone(), sha256_b64(cert.der()));
        }

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone())?;
        let ca_verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider)).build()?;
        let accept_any = Arc::new(AnyClientCert { algorithms: provider.signature_verification_algorithms });
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(accept_any)
            .with_single_cert(
                vec![server.der().clone()],
                PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes())?,
            )?;
        Ok(Tls { config: Arc::new(config), ca_verifier, client_cert_sha256 })
    }

    /// Accepts TLS connections on `listener` and relays each to the HTTP server at `inner`.
    pub fn serve(self: Arc<Self>, listener: TcpListener, inner: SocketAddr, state: Arc<State>) {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (tls, state) = (Arc::clone(&self), Arc::clone(&state));
            let spawned = thread::Builder::new().name("tls".into()).spawn(move || {
                if let Err(e) = tls.relay(stream, inner, &state) {
                    // Handshake failures are expected in the tests of wrong CAs and host names.
                    if !state.quiet {
                        eprintln!("tls connection ended: {e}");
                    }
                }
            });
            if let Err(e) = spawned {
                eprintln!("cannot start a TLS thread: {e}");
            }
        }
    }

    fn relay(&self, tcp: TcpStream, inner: SocketAddr, state: &State) -> io::Result<()> {
        tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let conn = ServerConnection::new(Arc::clone(&self.config)).map_err(io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        let peer = tls.conn.peer_certificates().and_then(|chain| chain.split_first()).map(|(leaf, rest)| PeerCert {
            sha256: sha256_b64(leaf),
            chains_to_ca: self.ca_verifier.verify_client_cert(leaf, rest, UnixTime::now()).is_ok(),
        });

        let mut plain = TcpStream::connect(inner)?;
        let _registration = state.register_peer_cert(plain.local_addr()?.port(), peer);
        plain.set_nonblocking(true)?;
        tls.sock.set_read_timeout(Some(POLL))?;

        // Neither std nor rustls offers a select over both sides, so poll them in turn: the TLS
        // side with a short read timeout, the plaintext side without blocking.
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match tls.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    plain.set_nonblocking(false)?;
                    plain.write_all(&buf[..n])?;
                    plain.set_nonblocking(true)?;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
            match plain.read(&mut buf) {
                Ok(0) => {
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                    return Ok(());
                }
                Ok(n) => {
                    tls.write_all(&buf[..n])?;
                    tls.flush()?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The RFC 8705 certificate thumbprint: base64url of the SHA-256 of the DER certificate.
fn sha256_b64(der: &CertificateDer<'_>) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, der.as_ref()))
}

/// Requests a client certificate and accepts any whose holder proves it has the key; the token
/// endpoint decides what the certificate is worth (CA-issued for `tls_client_auth`, the
/// registered one for `self_signed_tls_client_auth`). Connections without one are accepted too.
#[derive(Debug)]
struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
