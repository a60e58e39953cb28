//! The certificates of the HTTPS cells, made once per run (a CA and an
//! ECDSA P-256 leaf for `localhost`, with rcgen; nothing from the network),
//! and the load generator's client configuration trusting that CA.
//!
//! Every HTTPS server gets the same PEM files and builds its configuration
//! with `ringo_proto::tls::server_config_from_pem`, so ringo and the hyper
//! baseline serve the same key type, rustls version, provider and suites.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use ringo_proto::tls::rustls::ClientConfig;

/// The PEM files of one run.
#[derive(Debug)]
pub struct Files {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The run's PEM files, written on first use into a temp directory.
pub fn files() -> io::Result<&'static Files> {
    static FILES: OnceLock<Result<Files, String>> = OnceLock::new();
    FILES
        .get_or_init(|| make().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))
}

fn make() -> io::Result<Files> {
    let fail = |e: rcgen::Error| io::Error::other(format!("making the bench certificates: {e}"));
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).map_err(fail)?;
    let key = KeyPair::generate().map_err(fail)?;
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .map_err(fail)?
        .signed_by(&key, &ca, &ca_key)
        .map_err(fail)?;
    let dir = std::env::temp_dir().join(format!("ringo-bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let files = Files {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca, ca.pem())?;
    std::fs::write(&files.cert, leaf.pem())?;
    std::fs::write(&files.key, key.serialize_pem())?;
    Ok(files)
}

/// The load generator's configuration: trusts the run's CA, asks for
/// `http/1.1`, and keeps a session cache (so the handshake cell's
/// reconnects resume, as a real client's would).
pub fn client_config() -> io::Result<Arc<ClientConfig>> {
    let mut config = ringo_proto::tls::client_config_with_ca_file(&files()?.ca)?;
    config.alpn_protocols = vec![ringo_proto::tls::ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// The load generator's TLS configuration for `cell`: `None` unless it is
/// an HTTPS cell.
pub fn for_cell(cell: &crate::cells::Cell) -> io::Result<Option<Arc<ClientConfig>>> {
    match cell.protocol {
        crate::servers::Protocol::Https => client_config().map(Some),
        _ => Ok(None),
    }
}
