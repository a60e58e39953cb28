//! TLS on rustls over ringo's owned-buffer streams (feature `tls`, on by
//! default).
//!
//! [`TlsStream`] wraps any stream with ringo's [`AsyncRead`] and
//! [`AsyncWrite`] (a [`TcpStream`], a `UnixStream`) and is one itself, so
//! [`Framed`](crate::Framed), the pipeline and multiplex dispatchers, the
//! HTTP and RESP codecs — and every service above them — run over TLS
//! unchanged. It lives here rather than in the reactor because it is a
//! protocol over a byte stream, like the others in this crate, and the
//! reactor stays free of cryptography.
//!
//! rustls is driven through its buffer API: one socket read feeds
//! `read_tls`, one socket write carries every pending record, on the
//! connection's own task — no thread, no per-record allocation, and a dropped
//! read or write loses nothing (see `engine.rs`).
//!
//! [`TlsAcceptor`] and [`TlsConnector`] run the handshake under a time limit;
//! the `config` functions build the configurations: certificates from PEM
//! files, client trust in the bundled roots, the system's or a CA file, [`SniResolver`],
//! session tickets and a client session cache for resumption.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ringo_proto::tls::{self, TlsAcceptor};
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::TcpListener;
//!
//! ringo_reactor::run(async {
//!     let mut config = tls::server_config_from_pem("cert.pem", "key.pem")?;
//!     config.alpn_protocols = vec![tls::ALPN_HTTP1.to_vec()];
//!     let acceptor = TlsAcceptor::new(Arc::new(config));
//!     let listener = TcpListener::bind("127.0.0.1:8443")?;
//!     let (tcp, _) = listener.accept().await?;
//!     let tls = acceptor.accept(tcp).await?;
//!     let (n, buf) = tls.read(vec![0u8; 1024]).await;
//!     tls.write_all(buf[..n?].to_vec()).await.0?;
//!     tls.shutdown().await
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`AsyncRead`]: ringo_reactor::io::AsyncRead
//! [`AsyncWrite`]: ringo_reactor::io::AsyncWrite
//! [`TcpStream`]: ringo_reactor::net::TcpStream

mod config;
mod engine;
mod handshake;
mod stream;

pub use config::{
    client_config, client_config_with_ca_file, client_config_with_roots,
    client_config_with_system_roots,
    dangerous_client_config_accepting_any_certificate_for_tests_only, load_certs, load_private_key,
    provider, server_config, server_config_from_pem, server_config_with_resolver, SniResolver,
    ALPN_HTTP1,
};
pub use handshake::{TlsAcceptor, TlsConnector};
pub use stream::{TlsRead, TlsStream, TlsWrite};

/// The rustls crate this module is built on, for its configuration types.
pub use rustls;
