//! RESP, the Redis serialization protocol: the codec Redis servers and clients
//! speak, RESP2 and RESP3
//! (<https://redis.io/docs/latest/develop/reference/protocol-spec/>).
//!
//! [`RespCodec`] turns bytes into [`Frame`]s and back. On the server side it
//! also reads inline commands (`PING\r\n`, as typed over telnet), exactly as
//! redis-server does. Its decoder enforces [`Limits`]; a peer that breaks the
//! protocol or a limit gets an [`Error`] whose [`reply`](Error::reply) is the
//! `-ERR Protocol error: ...` line redis-server would send before closing.
//!
//! ```
//! use bytes::BytesMut;
//! use ringo_proto::resp::{command, Frame, RespCodec};
//! use ringo_proto::{Decoder, Encoder};
//!
//! // A client encodes a command ...
//! let mut client = RespCodec::new().accept_inline(false);
//! let mut wire = BytesMut::new();
//! client.encode(command(["ECHO", "hi"]), &mut wire).unwrap();
//! assert_eq!(&wire[..], b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");
//!
//! // ... which the server decodes, even when it arrives in pieces.
//! let mut server = RespCodec::new();
//! let mut input = BytesMut::new();
//! let mut decoded = None;
//! for byte in wire {
//!     input.extend_from_slice(&[byte]);
//!     decoded = decoded.or(server.decode(&mut input).unwrap());
//! }
//! assert_eq!(decoded, Some(command(["ECHO", "hi"])));
//! ```

mod codec;
mod command;
mod connection;
mod decode;
mod encode;
mod error;
mod frame;
mod inline;
mod limits;
#[cfg(test)]
mod tests;

pub use codec::RespCodec;
pub use connection::{serve_connection, RespProtocol, ServerConfig};
pub use error::{Error, ErrorKind};
pub use frame::{command, Frame};
pub use limits::Limits;
