//! Multiplexed dispatch: many requests in flight on one connection, each under
//! a tag, answered in any order.
//!
//! Where [pipelined](crate::pipeline) dispatch answers in request order (so one
//! slow request holds up every response behind it), multiplexed frames carry a
//! request id — a [`Tag`] — and responses go out as soon as they are ready. The
//! codec decodes and encodes `(Tag, message)` pairs; [`TaggedCodec`] provides
//! that framing around any payload codec.
//!
//! - [`Server`] turns a framed transport into calls of a handler (with a
//!   [`Protocol`]'s error reply and shutdown), at most
//!   `max_in_flight` at once, writing each response under its request's tag
//!   when it completes. A request reusing a tag still in flight is a protocol
//!   error ([`ServerError::DuplicateTag`]) that closes the connection.
//! - [`Client`] hands out tags from a bounded table: a call waits for a free
//!   tag, and the response under the tag completes it. A response under a tag
//!   that is not in flight fails every written call with
//!   [`ClientErrorKind::Desynchronized`] and ends the connection. Tags carry a
//!   generation, so a late response to a call that gave up can never complete
//!   a newer call that reuses the slot.
//!
//! The client reports failures with the pipelined client's [`ClientError`]
//! (`NotWritten`: safe to retry; `ConnectionLost`: the server may have acted).
//!
//! # Example
//!
//! ```no_run
//! use ringo_proto::codec::LinesCodec;
//! use ringo_proto::multiplex::{Client, Server, TaggedCodec};
//! use ringo_proto::Framed;
//! use ringo_reactor::net::{TcpListener, TcpStream};
//!
//! ringo_reactor::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:7002")?;
//!     let addr = listener.local_addr()?;
//!     ringo_reactor::spawn(async move {
//!         while let Ok((stream, _)) = listener.accept().await {
//!             ringo_reactor::spawn(async move {
//!                 let handler = |line: String| async move {
//!                     Ok::<_, std::io::Error>(line.to_uppercase())
//!                 };
//!                 let framed = Framed::new(stream, TaggedCodec::new(LinesCodec::new()));
//!                 let _ = Server::new().serve(framed, handler, ()).await;
//!             });
//!         }
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let framed = Framed::new(stream, TaggedCodec::new(LinesCodec::new()));
//!     let (client, connection) = Client::<&str, String>::new(framed);
//!     ringo_reactor::spawn(connection.run());
//!     let answer = client.call("hello").await.expect("call");
//!     assert_eq!(answer, "HELLO");
//!     Ok::<(), std::io::Error>(())
//! })
//! # ; Ok::<(), std::io::Error>(())
//! ```

mod client;
mod codec;
mod protocol;
mod server;
mod tags;
mod unordered;

pub use crate::pipeline::{ClientError, ClientErrorKind};
pub use client::{Client, Connection};
pub use codec::{TaggedCodec, TaggedCodecError};
pub use protocol::Protocol;
pub use server::{Server, ServerError};

/// A request id: names one request in flight on a connection, and its response.
pub type Tag = u32;
