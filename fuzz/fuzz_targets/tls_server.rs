//! The TLS record path a server exposes to anyone who connects: a
//! `TlsAcceptor`'s handshake and then `TlsStream` reads, over an in-memory
//! stream whose peer sends the fuzzer's bytes. Checks, for the stream whole,
//! in two reads and one byte per read:
//!
//! - the same outcome: handshake done or not, the same error kind, the same
//!   plaintext (rustls reads records the same however they arrive);
//! - every error is one the TLS layer documents (`InvalidData` for a broken
//!   record or handshake, `UnexpectedEof` for a stream cut short), never a
//!   panic, and no more bytes read than were offered.
//!
//! The checks on memory come from the run's `-malloc_limit_mb`: a record
//! announcing 16 KiB and sending nothing must not cost more than the record
//! buffer rustls bounds.
#![no_main]

use std::io;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::Feeding;
use ringo_fuzz::input::Input;
use ringo_fuzz::memory_stream::{block_on, MemoryStream};
use ringo_proto::tls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use ringo_proto::tls::rustls::ServerConfig;
use ringo_proto::tls::{self, TlsAcceptor};
use ringo_reactor::io::AsyncRead;

/// A server configuration with a self-signed certificate for `localhost`,
/// made once: key generation would cost more than a run.
fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
                .expect("a self-signed certificate");
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
            let mut config =
                tls::server_config(vec![cert.cert.der().clone()], key).expect("a server config");
            config.alpn_protocols = vec![tls::ALPN_HTTP1.to_vec()];
            Arc::new(config)
        })
        .clone()
}

/// What one connection came to.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    handshake_done: bool,
    error: Option<io::ErrorKind>,
    plaintext: Vec<u8>,
}

/// Most plaintext read after a handshake: the fuzzer's input is at most a
/// few KiB, so more would mean bytes made from nothing.
const MAX_PLAINTEXT: usize = 64 * 1024;

fn serve(stream: &[u8], feeding: Feeding) -> Outcome {
    let io = MemoryStream::new(feeding.chunks(stream));
    let acceptor = TlsAcceptor::new(config());
    let outcome = block_on(async {
        let tls = match acceptor.accept(io.clone()).await {
            Ok(tls) => tls,
            Err(e) => {
                return Outcome {
                    handshake_done: false,
                    error: Some(e.kind()),
                    plaintext: Vec::new(),
                }
            }
        };
        let mut plaintext = Vec::new();
        let error = loop {
            let (n, buf) = tls.read(vec![0u8; 4096]).await;
            match n {
                Ok(0) => break None,
                Ok(n) => plaintext.extend_from_slice(&buf[..n]),
                Err(e) => break Some(e.kind()),
            }
            assert!(plaintext.len() <= MAX_PLAINTEXT, "plaintext from nothing");
        };
        Outcome {
            handshake_done: true,
            error,
            plaintext,
        }
    });
    if let Some(kind) = outcome.error {
        assert!(
            matches!(
                kind,
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ),
            "undocumented error kind {kind:?}"
        );
    }
    assert!(io.unread() <= stream.len(), "read more than was offered");
    outcome
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let split = usize::from(input.u16());
    let stream = input.rest();
    let whole = serve(stream, Feeding::Whole);
    for feeding in [
        Feeding::SplitAt(split % (stream.len() + 1)),
        Feeding::ByteByByte,
    ] {
        let other = serve(stream, feeding);
        assert_eq!(whole, other, "whole vs {feeding:?} differ");
    }
});
