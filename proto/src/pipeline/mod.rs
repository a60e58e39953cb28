//! Pipelined dispatch: requests and responses in order over one connection.
//!
//! [`Server`] turns a framed transport into calls of a handler, answering in
//! request order with a bounded number in flight, each response whole or
//! streamed part by part ([`Reply`]); a [`Protocol`] adds what only the
//! protocol knows (error replies, its own end, shutdown, pacing reads).
//! [`Server::serve_parking`] also parks a connection while it idles: it then
//! holds its transport and little else. [`Client`] turns calls into
//! requests on one connection and matches responses to callers first-in,
//! first-out.

mod client;
mod connection;
mod idle;
mod ordered;
mod park;
mod protocol;
mod server;
mod tail;

pub use client::{Client, ClientError, ClientErrorKind, Connection};
pub use protocol::{NoTail, Protocol};
pub use server::{Server, ServerError};
pub use tail::Reply;
