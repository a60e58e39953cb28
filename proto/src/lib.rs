//! ringo's protocol layer: codecs, framed transports and dispatch.
//!
//! This crate sits between the event loop (`ringo-reactor`) and services
//! (`ringo-service`). It factors out what every protocol implementation would
//! otherwise write again: framing bytes into messages, and the dispatch that turns a
//! stream of messages into request/response calls.

pub mod codec;
mod dispatch;
pub mod framed;
#[cfg(feature = "http")]
pub mod http;
pub mod multiplex;
pub mod pipeline;
#[cfg(feature = "resp")]
pub mod resp;

pub use codec::{Decoder, Encoder};
pub use framed::{Framed, FramedRead, FramedWrite};
