//! Certificates made at test time (rcgen, nothing from the network): a test
//! CA and a leaf it signed for `localhost` and `127.0.0.1`, as rustls values
//! and as PEM files for the real peers (curl, openssl, redis-cli).
//!
//! Behind the `tls` feature, which proto's and service's tests turn on: the
//! rest of the util needs neither rustls nor rcgen.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use ringo_proto::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ringo_proto::tls::rustls::{ClientConfig, ServerConfig};
use ringo_proto::tls::{self, ALPN_HTTP1};

/// A CA, a leaf it signed, and their PEM files in a temp directory.
#[derive(Debug)]
pub struct Certs {
    /// The CA's certificate, to trust.
    pub ca: CertificateDer<'static>,
    /// The leaf, for `localhost` and `127.0.0.1`.
    pub leaf: CertificateDer<'static>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// The CA's certificate as a PEM file (`--cacert`).
    pub ca_pem: PathBuf,
    /// The leaf as a PEM file.
    pub cert_pem: PathBuf,
    /// The leaf's key as a PEM file.
    pub key_pem: PathBuf,
    _dir: TempPath,
}

/// A directory removed on drop.
#[derive(Debug)]
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh CA (named `ca_name`) and a leaf for `localhost` and `127.0.0.1`.
pub fn certs(ca_name: &str) -> Certs {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = ca_params.self_signed(&ca_key).expect("self-sign the CA");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_params =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).expect("leaf params");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("sign the leaf");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ringo-tls-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write PEM");
        path
    };
    Certs {
        ca: ca.der().clone(),
        leaf: leaf.der().clone(),
        key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
        ca_pem: write("ca.pem", ca.pem()),
        cert_pem: write("cert.pem", leaf.pem()),
        key_pem: write("key.pem", leaf_key.serialize_pem()),
        _dir: TempPath(dir),
    }
}

impl Certs {
    /// A server configuration with the leaf, offering `http/1.1` by ALPN.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let mut config = tls::server_config(vec![self.leaf.clone()], self.key.clone_key())
            .expect("server config");
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        Arc::new(config)
    }

    /// A client configuration trusting the CA, asking for `http/1.1`.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut config = tls::client_config_with_ca_file(&self.ca_pem).expect("client config");
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        Arc::new(config)
    }
}

/// Whether `tool` is on the PATH; prints a loud SKIPPED line when not.
pub fn have(tool: &str, test: &str) -> bool {
    // Found if it starts: `sh -c 'command -v'` would need a shell, which
    // Windows lacks, and `--version`'s exit status varies between tools.
    let found = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("SKIPPED: {test}: {tool} is not installed (ci/install-deps.sh installs it)");
    }
    found
}

/// A child process killed on drop, so a failing test leaves none behind.
#[derive(Debug)]
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `addr` accepts connections (a peer process starting up).
pub fn wait_listening(addr: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A free loopback port (bound, then released) for a peer process to listen on.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Waits until a TLS peer process listens on `addr` without connecting to
/// it (a probe connection would use up an `-naccept 1` server): the port must
/// be taken (binding it fails) and, where the kernel says so, in the LISTEN
/// state — a peer binds before it listens, and a connect in between is
/// refused.
pub fn wait_listening_tls(addr: std::net::SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpListener::bind(addr).is_ok() || !listening(addr.port()) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the peer exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{addr} never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a socket listens on `port`: `/proc/net/tcp{,6}` lists it in state
/// `0A` (LISTEN).
#[cfg(target_os = "linux")]
fn listening(port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "0A"
            })
        })
    })
}

/// Elsewhere the taken port is all there is to go on.
#[cfg(not(target_os = "linux"))]
fn listening(_port: u16) -> bool {
    true
}
