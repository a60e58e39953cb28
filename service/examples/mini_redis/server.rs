//! Starting mini_redis: the shared store, its expiry sweeper, and the RESP
//! server whose every worker answers from that one store.
//!
//! Kept apart from `main.rs` so the integration tests can start the same
//! server in-process (they include this file and its siblings with `#[path]`).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ringo_proto::tls::rustls;
use ringo_reactor::DriverKind;
use ringo_service::redis;
use ringo_service::server::Running;

use crate::commands;
use crate::store::{spawn_sweeper, Store};

/// Store shards per worker: with each worker holding at most one shard lock at
/// a time, four times as many shards as workers keeps two workers wanting the
/// same shard at once rare, at the cost of a few hundred bytes per shard.
const SHARDS_PER_WORKER: usize = 4;

/// How often expired keys nobody touched are swept out: Redis's default
/// `hz 10`, ten times a second.
const SWEEP_PERIOD: Duration = Duration::from_millis(100);

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Worker threads; `None`, one per core.
    pub workers: Option<usize>,
    /// The driver; `None`, `RINGO_DRIVER` or else auto.
    pub driver: Option<DriverKind>,
    /// Serve TLS (what `redis-cli --tls` speaks) with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Starts the server; it runs until the returned [`Running`] is shut down or
/// dropped.
///
/// # Errors
/// Binding failed, or a worker could not start.
pub fn start(settings: &Settings) -> io::Result<Running> {
    let workers = settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let store = Arc::new(Store::new(workers.saturating_mul(SHARDS_PER_WORKER)));
    spawn_sweeper(&store, SWEEP_PERIOD)?;
    let mut server = redis::Server::bind(settings.addr).workers(workers);
    if let Some(kind) = settings.driver {
        server = server.driver(kind);
    }
    if let Some(config) = &settings.tls {
        server = server.tls(config.clone());
    }
    // Every worker's service holds the same store: one keyspace for all clients.
    server.serve(move || commands::service(store.clone()))
}
