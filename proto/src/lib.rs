//! ringo's protocol layer: codecs, framed transports and dispatch.
//!
//! This crate sits between the event loop (`ringo-reactor`) and services
//! (`ringo-service`). It factors out what every protocol implementation would
//! otherwise write again: framing bytes into messages, and the dispatch that turns a
//! stream of messages into request/response calls.

#![warn(missing_docs, missing_debug_implementations)]

pub mod codec;
mod dispatch;
pub mod framed;
pub mod http;
pub mod multiplex;
pub mod pipeline;
pub mod resp;

pub use codec::{Decoder, Encoder};
pub use framed::{Framed, FramedParts, FramedRead, FramedWrite};
