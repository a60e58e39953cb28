//! ringo's protocol layer: codecs, framed transports and dispatch.
//!
//! This crate sits between the event loop (`ringo-reactor`) and services
//! (`ringo-service`). It factors out what every protocol implementation would
//! otherwise write again: framing bytes into messages, and the dispatch that turns a
//! stream of messages into request/response calls.
//!
//! # Which server?
//!
//! Two types here are called `Server`, and both serve **one connection**:
//! [`pipeline::Server`] answers requests in order (HTTP/1.1, RESP, line
//! protocols), [`multiplex::Server`] answers tagged requests in any order. To
//! serve on every core — accepting, workers, graceful shutdown — use
//! `ringo_service::server::Server`, or `ringo_service::http::Server` and
//! `ringo_service::redis::Server`, which wire [`http`] and [`resp`] to a service.
//!
//! # Thread per core
//!
//! Like the reactor's, the types here are `!Send`: a [`Framed`] owns a
//! socket of one runtime, and the dispatchers' clients share their connection
//! state through `Rc`. Make them on the worker thread that uses them (see
//! `ringo_reactor`'s crate docs, "Thread per core"). A transport can be split
//! between a reading and a writing task with [`Framed::split`] over an
//! `Rc<TcpStream>`; [`Framed`] is a `futures` `Stream` and `Sink`, so
//! `StreamExt`/`SinkExt` work on it.

pub mod codec;
mod dispatch;
pub mod framed;
#[cfg(feature = "http")]
pub mod http;
pub mod multiplex;
pub mod pipeline;
#[cfg(feature = "resp")]
pub mod resp;
#[cfg(feature = "tls")]
pub mod tls;

/// The `bytes` crate the codecs use (`BytesMut` buffers, `Bytes` frames).
pub use bytes;
pub use codec::{Decoder, Encoder};
pub use framed::{Framed, FramedParts, FramedRead, FramedWrite};
/// The `http` crate whose `Request`/`Response` the HTTP codecs speak.
#[cfg(feature = "http")]
pub use http as http_types;
