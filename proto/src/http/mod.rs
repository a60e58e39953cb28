//! HTTP/1.1 codecs (RFC 9112) on `httparse` and the `http` crate's types.
//!
//! Pure codecs, no I/O: [`ServerCodec`] decodes requests and encodes responses,
//! [`ClientCodec`] the reverse. Both stream bodies: a message arrives as a head,
//! then zero or more data parts split off the read buffer without copying, then
//! an end marker — so a body is never buffered whole, and pipelined messages
//! come out in order. [`serve_connection`] wires the server codec to pipelined
//! dispatch; its handlers answer with whole or streamed bodies ([`Outgoing`]).
//!
//! Framing is where HTTP/1.1 goes wrong (request smuggling is two parsers
//! disagreeing on where a message ends), so the decoders reject every ambiguous
//! head with an [`Error`] naming the rule and the status a server answers with,
//! and the encoders write the framing fields themselves. Every limit is in
//! [`Limits`], with finite defaults.
//!
//! ```
//! use bytes::BytesMut;
//! use ringo_proto::http::{RequestPart, ServerCodec};
//! use ringo_proto::{Decoder, Encoder};
//!
//! let mut codec = ServerCodec::new();
//! let mut read = BytesMut::from(&b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"[..]);
//! let Ok(Some(RequestPart::Head(head))) = codec.decode(&mut read) else {
//!     panic!("a whole head was buffered");
//! };
//! assert_eq!(head.request.uri(), "/");
//! assert!(matches!(codec.decode(&mut read), Ok(Some(RequestPart::End))));
//!
//! let mut write = BytesMut::new();
//! let response = http::Response::new(bytes::Bytes::from_static(b"hi"));
//! codec.encode(response, &mut write).expect("a plain 200 encodes");
//! assert!(write.starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(write.ends_with(b"content-length: 2\r\n\r\nhi"));
//! ```

mod body;
mod client;
mod connection;
mod date;
mod encode;
mod error;
mod fields;
mod gather;
mod head;
mod incoming;
mod limits;
mod outgoing;
mod parse;
mod server;

#[cfg(test)]
mod tests;

pub use client::ClientCodec;
pub use connection::{serve_connection, serve_connection_streamed, ServerConfig};
pub use date::format_imf_fixdate;
pub use error::{Error, ErrorKind};
pub use gather::response::{GatheredResponse, GatheringClientCodec};
pub use incoming::{BodyReader, FromRequestBody, RequestBody, BODY_BACKLOG, STREAM_ABOVE};
pub use limits::Limits;
pub use outgoing::{BodyStream, Outgoing};
pub use server::{ServerCodec, MAX_UNANSWERED};

use bytes::Bytes;

/// How a message body is delimited on the wire (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body: the message ends with its head.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// Chunked transfer coding (RFC 9112 §7.1).
    Chunked,
    /// The body runs until the connection closes. Responses only.
    CloseDelimited,
}

/// A decoded request head, and what it means for framing and the connection.
#[derive(Debug)]
pub struct RequestHead {
    /// Method, target, version and header fields; header values share the
    /// buffer the head was read into.
    pub request: ::http::Request<()>,
    /// How the body that follows is delimited.
    pub body: BodyLength,
    /// The connection may carry another request after this one (RFC 9112 §9.3).
    /// False for `Connection: close`, for HTTP/1.0 without `keep-alive`, and
    /// when both `Transfer-Encoding` and `Content-Length` were sent.
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue` and waits for a `100 Continue`
    /// before sending the body; see [`ServerCodec::continue_needed`].
    pub expect_continue: bool,
}

/// One step of a request: the head, body data, then the end.
// The head is large next to the other parts, but boxing it would cost an
// allocation per request to save copying a few hundred bytes per part.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RequestPart {
    /// The head; the body parts follow.
    Head(RequestHead),
    /// Body bytes as they arrived, never empty.
    Data(Bytes),
    /// The request is complete; comes after the last body byte, and right after
    /// the head of a request without a body.
    End,
}

/// One step of a response: the head, body data, then the end.
///
/// An informational (1xx) head stands alone: no data or end follows it, and the
/// final head comes next.
#[derive(Debug)]
pub enum ResponsePart {
    /// The head, and how its body is delimited. When encoding, the codec writes
    /// the framing fields from the [`BodyLength`].
    Head(::http::Response<()>, BodyLength),
    /// Body bytes, never empty when decoded.
    Data(Bytes),
    /// The response is complete.
    End,
}
