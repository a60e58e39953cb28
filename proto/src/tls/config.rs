//! Building rustls configurations the way users expect to: a certificate
//! chain and key from PEM files, a client that trusts the usual roots or a
//! given CA file, a resolver that picks a certificate by SNI name, and one
//! loudly named way to skip verification in tests.
//!
//! Every configuration names the `ring` provider explicitly rather than
//! rustls's process-wide default, which panics when a build links two
//! providers (another dependency's `aws-lc-rs`, say).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

/// The ALPN name of HTTP/1.1.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The crypto provider of every configuration made here: *ring*.
// rustls deprecates *ring*'s provider only to steer users to aws-lc-rs for
// post-quantum key exchange; *ring* builds here in a fraction of the time
// and offers the same classical suites.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Reads every certificate of a PEM file, leaf first.
///
/// # Errors
/// The file cannot be read, or holds no certificate.
pub fn load_certs(path: impl AsRef<Path>) -> io::Result<Vec<CertificateDer<'static>>> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE section"));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
///
/// # Errors
/// The file cannot be read, or holds no private key.
pub fn load_private_key(path: impl AsRef<Path>) -> io::Result<PrivateKeyDer<'static>> {
    let path = path.as_ref();
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, e))
}

fn pem_error(path: &Path, e: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("tls: {}: {e}", path.display()),
    )
}

/// A server configuration serving one certificate chain to every client,
/// TLS 1.2 and 1.3, with session tickets (and a session cache) for
/// resumption. Set `alpn_protocols` on it for ALPN.
///
/// # Errors
/// The key does not match the certificate or is of an unsupported type.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<ServerConfig> {
    let key = certified_key(certs, &key)?;
    Ok(server_config_with_resolver(Arc::new(OneCert(Arc::new(
        key,
    )))))
}

/// [`server_config`] from a certificate chain and a key in PEM files.
///
/// # Errors
/// As [`load_certs`], [`load_private_key`] and [`server_config`].
pub fn server_config_from_pem(
    cert_path: impl AsRef<Path>,
    key_path: impl AsRef<Path>,
) -> io::Result<ServerConfig> {
    server_config(load_certs(cert_path)?, load_private_key(key_path)?)
}

/// A server configuration whose certificate `resolver` picks per client
/// (see [`SniResolver`]); otherwise as [`server_config`].
pub fn server_config_with_resolver(resolver: Arc<dyn ResolvesServerCert>) -> ServerConfig {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    // The ticketer fails only when the system has no randomness for its
    // key; resumption then falls back to the session cache alone.
    if let Ok(ticketer) = ring::Ticketer::new() {
        config.ticketer = ticketer;
    }
    config
}

fn certified_key(
    certs: Vec<CertificateDer<'static>>,
    key: &PrivateKeyDer<'static>,
) -> io::Result<CertifiedKey> {
    let invalid = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidInput, e);
    let key = CertifiedKey::from_der(certs, key.clone_key(), &provider()).map_err(invalid)?;
    key.keys_match().map_err(invalid)?;
    Ok(key)
}

/// Serves the same certificate whatever the client asks for.
#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Picks the server certificate by the name the client asks for (SNI). A
/// name it does not know fails the handshake with an alert, unless a default
/// certificate was set; a client that names nothing gets the default too.
#[derive(Debug, Default)]
pub struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl SniResolver {
    /// A resolver that knows no name yet.
    pub fn new() -> SniResolver {
        SniResolver::default()
    }

    /// Serves `certs` (leaf first) with `key` to clients asking for `name`
    /// (a DNS name, matched without regard to case).
    ///
    /// # Errors
    /// The key does not match the certificate or is of an unsupported type.
    pub fn add(
        &mut self,
        name: &str,
        certs: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'static>,
    ) -> io::Result<()> {
        let key = certified_key(certs, key)?;
        self.by_name
            .insert(name.to_ascii_lowercase(), Arc::new(key));
        Ok(())
    }

    /// Serves `certs` with `key` to clients asking for a name not added, or
    /// for none.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn set_default(
        &mut self,
        certs: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'static>,
    ) -> io::Result<()> {
        self.default = Some(Arc::new(certified_key(certs, key)?));
        Ok(())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let known = hello
            .server_name()
            .and_then(|name| self.by_name.get(&name.to_ascii_lowercase()));
        known.or(self.default.as_ref()).cloned()
    }
}

/// A client configuration that trusts the Mozilla root certificates bundled
/// with `webpki-roots` (the roots browsers trust, without reading the
/// system's store), TLS 1.2 and 1.3, with a session cache for resumption.
pub fn client_config() -> ClientConfig {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    client_config_with_roots(roots)
}

/// A client configuration that trusts the system's root certificates (on
/// Linux, the `ca-certificates` bundle, or `SSL_CERT_FILE`/`SSL_CERT_DIR`).
///
/// # Errors
/// The system store could not be read or holds no usable certificate
/// (certificates it cannot parse are skipped while others load).
pub fn client_config_with_system_roots() -> io::Result<ClientConfig> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("tls: no system root certificates: {why}"),
        ));
    }
    Ok(client_config_with_roots(roots))
}

/// A client configuration that trusts only the certificates of a PEM file
/// (a private CA, or a self-signed server certificate).
///
/// # Errors
/// As [`load_certs`], or a certificate in it is not a valid trust anchor.
pub fn client_config_with_ca_file(path: impl AsRef<Path>) -> io::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path.as_ref())? {
        roots.add(cert).map_err(|e| pem_error(path.as_ref(), e))?;
    }
    Ok(client_config_with_roots(roots))
}

/// A client configuration that trusts `roots`.
pub fn client_config_with_roots(roots: RootCertStore) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// **For tests only: accepts any server certificate, so anyone on the path
/// can read and change the traffic.** A client configuration that still
/// checks the handshake signatures but not who signed the certificate nor
/// which name it is for.
pub fn dangerous_client_config_accepting_any_certificate_for_tests_only() -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
        .with_no_client_auth()
}

/// The verifier of
/// [`dangerous_client_config_accepting_any_certificate_for_tests_only`].
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
