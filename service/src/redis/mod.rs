//! Redis: serve a [`Service`](crate::Service) over RESP, and call Redis servers.
//!
//! - [`serve`] and [`Server`] run a service taking and returning
//!   [`Frame`]s on every core (`server.rs`).
//! - [`Client`] makes pipelined calls over one connection (`client.rs`);
//!   [`Pool`] spreads calls over several and reconnects dead ones (`pool.rs`,
//!   the generic [`pool`](crate::pool) opening `Client`s).
//! - [`Commands`] gives both typed commands (`GET`, `SET`, `INCR`, ...) on
//!   top of their `call` (`commands.rs`).
//!
//! The wire format, its limits and its errors are `ringo_proto::resp`'s; the
//! `mini_redis` example is a key-value server built on this module.

mod client;
mod commands;
mod pool;
mod server;
mod url;

pub use client::{Client, ReplyError};
pub use commands::{Commands, SetCondition, SetOptions};
pub use pool::{Pool, PoolBuilder};
pub use ringo_proto::resp::{command, Frame};
pub use server::{serve, Server};
pub use url::{Url, DEFAULT_PORT};
