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

pub use codec::{Decoder, Encoder};
pub use framed::{Framed, FramedRead, FramedWrite};
