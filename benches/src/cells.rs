//! The benchmark matrix: which load each protocol's servers get.

use std::time::Duration;

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
    pub workload: fn(usize) -> Box<dyn Workload>,
    /// Part of the short `--quick` matrix.
    pub quick: bool,
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
                workload,
                quick: connections == 64 && size == 64,
            });
        }
    }
    cells.push(Cell {
        name: "echo c=1000 512B x4 in flight".to_owned(),
        protocol: Protocol::Echo,
        connections: 1000,
        in_flight: 4,
        workload: echo_512,
        quick: true,
    });
    cells.push(Cell {
        name: "echo c=64 64B x16 pipelined".to_owned(),
        protocol: Protocol::Echo,
        connections: 64,
        in_flight: 16,
        workload: echo_64,
        quick: false,
    });
    cells.push(Cell {
        name: "http GET keep-alive c=64".to_owned(),
        protocol: Protocol::Http,
        connections: 64,
        in_flight: 1,
        workload: http_get,
        quick: true,
    });
    for (label, workload, quick) in [
        ("4KiB", static_4k as fn(usize) -> Box<dyn Workload>, true),
        ("1MiB", static_1m, false),
    ] {
        cells.push(Cell {
            name: format!("static file {label} keep-alive c=64"),
            protocol: Protocol::StaticFiles,
            connections: 64,
            in_flight: 1,
            workload,
            quick,
        });
    }
    for (in_flight, quick) in [(1, true), (16, true)] {
        cells.push(Cell {
            name: format!("resp SET/GET c=50 P={in_flight}"),
            protocol: Protocol::Resp,
            connections: 50,
            in_flight,
            workload: resp_set_get,
            quick,
        });
    }
    cells
}

/// Durations of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
    pub repetitions: usize,
}
