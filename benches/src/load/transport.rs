//! A load connection's socket: plain TCP, or TLS on rustls over it.
//!
//! The TLS side uses rustls's `StreamOwned` on the non-blocking socket: a
//! read or write that would block returns `WouldBlock` like the plain
//! socket, with the handshake done along the way, so the load loop treats
//! both alike. [`Transport::flush`] pushes out records rustls still holds.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::rustls::{ClientConfig, ClientConnection, StreamOwned};

/// One load connection's byte stream.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Transport {
    /// `stream`, over TLS (checking the certificate for `localhost`) when
    /// `tls` is given.
    pub fn new(stream: TcpStream, tls: Option<&Arc<ClientConfig>>) -> io::Result<Transport> {
        let Some(config) = tls else {
            return Ok(Transport::Plain(stream));
        };
        let name = ServerName::try_from("localhost").expect("a valid DNS name");
        let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
        Ok(Transport::Tls(Box::new(StreamOwned::new(conn, stream))))
    }

    /// Runs the TLS handshake to its end on a still blocking socket (idle
    /// connections); nothing to do on plain TCP.
    pub fn finish_handshake(&mut self) -> io::Result<()> {
        if let Transport::Tls(tls) = self {
            while tls.conn.is_handshaking() {
                tls.conn.complete_io(&mut tls.sock)?;
            }
        }
        Ok(())
    }

    /// The socket, to register with the poller.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(stream) => stream,
            Transport::Tls(tls) => &mut tls.sock,
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.read(buf),
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.write(buf),
            Transport::Tls(tls) => tls.write(buf),
        }
    }

    /// Sends the records rustls holds (`WouldBlock` if the socket is full).
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::Tls(tls) => {
                while tls.conn.wants_write() {
                    tls.conn.write_tls(&mut tls.sock)?;
                }
                Ok(())
            }
        }
    }
}
