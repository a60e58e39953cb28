//! The benchmark matrix: which load each protocol's servers get.

use std::time::Duration;

use crate::load::http2::Http2Get;
use crate::load::workload::{Echo, HttpGet, Resp, Workload};
use crate::servers::Protocol;
use crate::static_site;

/// One kind of load, run against every server of its protocol.
#[derive(Debug, Clone)]
pub struct Cell {
    pub name: String,
    pub protocol: Protocol,
    pub connections: usize,
    pub in_flight: usize,
    /// Requests in flight across all connections, rotated over them (see
    /// `LoadSpec::active`); `None`: `in_flight` on every connection.
    pub active: Option<usize>,
    pub workload: fn(usize) -> Box<dyn Workload>,
    /// Part of the short `--quick` matrix.
    pub quick: bool,
    /// A new connection (and TLS handshake) per request.
    pub new_connection_per_request: bool,
}

fn echo_64(i: usize) -> Box<dyn Workload> {
    Box::new(Echo::new(64, i))
}
fn echo_512(i: usize) -> Box<dyn Workload> {
    Box::new(Echo::new(512, i))
}
fn echo_4k(i: usize) -> Box<dyn Workload> {
    Box::new(Echo::new(4096, i))
}
fn http_get(_: usize) -> Box<dyn Workload> {
    Box::new(HttpGet::hello())
}
fn static_4k(_: usize) -> Box<dyn Workload> {
    let (path, len) = static_site::FILES[0];
    Box::new(HttpGet::new(path, static_site::contents(len)))
}
fn static_1m(_: usize) -> Box<dyn Workload> {
    let (path, len) = static_site::FILES[1];
    Box::new(HttpGet::new(path, static_site::contents(len)))
}
fn http2_get(_: usize) -> Box<dyn Workload> {
    Box::new(Http2Get::default())
}
fn resp_set_get(i: usize) -> Box<dyn Workload> {
    Box::new(Resp::new(i))
}

/// The full matrix: every scenario benches/README.md describes.
pub fn all() -> Vec<Cell> {
    let mut cells = Vec::new();
    for connections in [1, 64, 512] {
        for (size, workload) in [
            (64, echo_64 as fn(usize) -> Box<dyn Workload>),
            (4096, echo_4k),
        ] {
            let label = if size == 64 {
                "64B".to_owned()
            } else {
                "4KiB".to_owned()
            };
            cells.push(Cell {
                name: format!("echo ping-pong c={connections} {label}"),
                protocol: Protocol::Echo,
                connections,
                in_flight: 1,
                active: None,
                workload,
                quick: connections == 64 && size == 64,
                new_connection_per_request: false,
            });
        }
    }
    cells.push(Cell {
        name: "echo c=1000 512B x4 in flight".to_owned(),
        protocol: Protocol::Echo,
        connections: 1000,
        in_flight: 4,
        active: None,
        workload: echo_512,
        quick: true,
        new_connection_per_request: false,
    });
    cells.push(Cell {
        name: "echo c=64 64B x16 pipelined".to_owned(),
        protocol: Protocol::Echo,
        connections: 64,
        in_flight: 16,
        active: None,
        workload: echo_64,
        quick: false,
        new_connection_per_request: false,
    });
    cells.push(Cell {
        name: "http GET keep-alive c=64".to_owned(),
        protocol: Protocol::Http,
        connections: 64,
        in_flight: 1,
        active: None,
        workload: http_get,
        quick: true,
        new_connection_per_request: false,
    });
    // Tail latency with many mostly idle connections: the keep-alive mix a
    // real server sees, 10,000 open and 256 requests in flight at a time.
    cells.push(Cell {
        name: "http GET c=10000, 256 active".to_owned(),
        protocol: Protocol::Http,
        connections: 10_000,
        in_flight: 1,
        active: Some(256),
        workload: http_get,
        quick: false,
        new_connection_per_request: false,
    });
    // HTTP/2: one stream at a time per connection (the HTTP/1.1 cell's
    // shape), and 16 multiplexed streams per connection.
    for (connections, in_flight, quick) in [(64, 1, true), (16, 16, false)] {
        cells.push(Cell {
            name: format!("http/2 GET c={connections} x{in_flight} streams"),
            protocol: Protocol::Http2,
            connections,
            in_flight,
            active: None,
            workload: http2_get,
            quick,
            new_connection_per_request: false,
        });
    }
    for (label, workload, quick) in [
        ("4KiB", static_4k as fn(usize) -> Box<dyn Workload>, true),
        ("1MiB", static_1m, false),
    ] {
        cells.push(Cell {
            name: format!("static file {label} keep-alive c=64"),
            protocol: Protocol::StaticFiles,
            connections: 64,
            in_flight: 1,
            active: None,
            workload,
            quick,
            new_connection_per_request: false,
        });
    }
    for (in_flight, quick) in [(1, true), (16, true)] {
        cells.push(Cell {
            name: format!("resp SET/GET c=50 P={in_flight}"),
            protocol: Protocol::Resp,
            connections: 50,
            in_flight,
            active: None,
            workload: resp_set_get,
            quick,
            new_connection_per_request: false,
        });
    }
    for new_connection_per_request in [false, true] {
        cells.push(Cell {
            name: if new_connection_per_request {
                "https GET new connection per request c=64".to_owned()
            } else {
                "https GET keep-alive c=64".to_owned()
            },
            protocol: Protocol::Https,
            connections: 64,
            in_flight: 1,
            active: None,
            workload: http_get,
            quick: true,
            new_connection_per_request,
        });
    }
    cells
}

/// The one request each idle connection makes before it goes idle.
pub fn idle_workload(protocol: Protocol) -> fn(usize) -> Box<dyn Workload> {
    match protocol {
        Protocol::Echo => echo_64,
        Protocol::Http | Protocol::Https => http_get,
        Protocol::Http2 => http2_get,
        Protocol::Resp => resp_set_get,
        Protocol::StaticFiles => static_4k,
    }
}

/// Durations of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
    pub repetitions: usize,
}
