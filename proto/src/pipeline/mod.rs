//! Pipelined dispatch: requests and responses in order over one connection.
//!
//! [`Server`] turns a framed transport into calls of a handler, answering in
//! request order with a bounded number in flight, each response whole or
//! streamed part by part ([`Reply`]); a [`Protocol`] adds what only the
//! protocol knows (error replies, its own end, shutdown, pacing reads). [`Client`] turns calls into
//! requests on one connection and matches responses to callers first-in,
//! first-out.

mod client;
mod ordered;
mod protocol;
mod server;
mod tail;

pub use client::{Client, ClientError, ClientErrorKind, Connection};
pub use protocol::{NoTail, Protocol};
pub use server::{Server, ServerError};
pub use tail::Reply;
