//! Measuring one cell against every server of its protocol, interleaved.
//!
//! A shared machine drifts: a neighbour's build, a thermal step or a cache
//! refill can move every figure by 10–20% for a minute. Running all of one
//! server's repetitions and then all of the next one's puts that drift into
//! the ratio. So each cell starts all its servers at once (idle ones sleep in
//! their poller and cost nothing) and runs the repetitions round-robin,
//! rotating the order each round; the ratio to the baseline is then the median
//! of the per-round ratios, so each ratio compares runs seconds apart.

use std::io;
use std::time::Duration;

use crate::cells::{Cell, Timing};
use crate::load;
use crate::proc;
use crate::report::{self, IdleRow, Row};
use crate::servers::{Protocol, RunningServer, ServerSpec};

/// The figures of one repetition of one (cell, server) pair.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub requests_per_sec: f64,
    pub cpu_us_per_request: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
}

/// Runs `cell` against each of `specs`, `timing.repetitions` rounds, one row
/// per server in `specs` order. `progress` is told of every step before it
/// runs, with the server's name; `step_done` after it, with its sample.
pub fn cell(
    cell: &Cell,
    specs: &[&ServerSpec],
    timing: Timing,
    server_cpu: usize,
    mut progress: impl FnMut(&str),
    mut step_done: impl FnMut(&io::Result<Sample>),
) -> Vec<io::Result<Row>> {
    let servers: Vec<io::Result<RunningServer>> = specs
        .iter()
        .map(|spec| RunningServer::start(spec, server_cpu))
        .collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); specs.len()];
    let mut errors = vec![0u64; specs.len()];
    let mut first_error: Vec<Option<String>> = vec![None; specs.len()];
    let mut failed: Vec<Option<io::Error>> = specs.iter().map(|_| None).collect();
    for round in 0..timing.repetitions {
        for k in 0..specs.len() {
            let i = (k + round) % specs.len();
            let server = match &servers[i] {
                Ok(server) if failed[i].is_none() => server,
                _ => continue,
            };
            progress(specs[i].name);
            let sample = one_run(cell, server, timing).map(|(sample, result)| {
                errors[i] += result.errors;
                if first_error[i].is_none() {
                    first_error[i] = result.first_error;
                }
                sample
            });
            step_done(&sample);
            match sample {
                Ok(sample) => samples[i].push(sample),
                Err(e) => failed[i] = Some(e),
            }
        }
    }
    servers
        .into_iter()
        .zip(specs)
        .enumerate()
        .map(|(i, (server, spec))| {
            let server = server?;
            if let Some(e) = failed[i].take() {
                return Err(e);
            }
            Ok(row(
                cell,
                spec,
                &samples[i],
                errors[i],
                first_error[i].take(),
                proc::rss_bytes(server.pid()).unwrap_or(0),
            ))
        })
        .collect()
}

/// One repetition: warm-up, then the measured window.
fn one_run(
    cell: &Cell,
    server: &RunningServer,
    timing: Timing,
) -> io::Result<(Sample, load::LoadResult)> {
    let result = load::run(&load::LoadSpec {
        addr: server.addr,
        connections: cell.connections,
        in_flight: cell.in_flight,
        active: cell.active,
        warmup: timing.warmup,
        duration: timing.duration,
        workload: cell.workload,
        server_pid: Some(server.pid()),
        tls: crate::tls::for_cell(cell)?,
        new_connection_per_request: cell.new_connection_per_request,
    })?;
    let seconds = result.elapsed.as_secs_f64().max(1e-9);
    let at = |p| {
        result
            .latency
            .percentile(p)
            .unwrap_or_default()
            .as_secs_f64()
    };
    let sample = Sample {
        requests_per_sec: result.requests as f64 / seconds,
        cpu_us_per_request: result.server_cpu.as_secs_f64() * 1e6 / (result.requests.max(1) as f64),
        p50: at(50.0),
        p99: at(99.0),
        p999: at(99.9),
    };
    Ok((sample, result))
}

/// The medians of one server's samples, kept in round order for the ratios.
fn row(
    cell: &Cell,
    spec: &ServerSpec,
    samples: &[Sample],
    errors: u64,
    first_error: Option<String>,
    rss: u64,
) -> Row {
    let median_of = |figure: fn(&Sample) -> f64| {
        report::median(&mut samples.iter().map(figure).collect::<Vec<_>>())
    };
    let rps: Vec<f64> = samples.iter().map(|s| s.requests_per_sec).collect();
    Row {
        cell: cell.name.clone(),
        server: spec.name.to_owned(),
        baseline: spec.baseline,
        requests_per_sec: median_of(|s| s.requests_per_sec),
        spread: (
            rps.iter().copied().fold(f64::INFINITY, f64::min),
            rps.iter().copied().fold(0.0, f64::max),
        ),
        p50: Duration::from_secs_f64(median_of(|s| s.p50)),
        p99: Duration::from_secs_f64(median_of(|s| s.p99)),
        p999: Duration::from_secs_f64(median_of(|s| s.p999)),
        cpu_us_per_request: median_of(|s| s.cpu_us_per_request),
        rss_mib: rss as f64 / (1024.0 * 1024.0),
        errors,
        first_error,
        samples: samples.to_vec(),
    }
}

/// Server RSS growth per idle connection, each after one real request: the
/// growth from `connections / 2` to `connections` open, so what the server
/// sets up once (its first connection's slab pages, the provided-buffer ring)
/// is not counted against each.
pub fn idle(spec: &ServerSpec, connections: usize, server_cpu: usize) -> io::Result<IdleRow> {
    let server = RunningServer::start(spec, server_cpu)?;
    let workload = crate::cells::idle_workload(spec.protocol);
    let tls = match spec.protocol {
        Protocol::Https => Some(crate::tls::client_config()?),
        _ => None,
    };
    let half = connections / 2;
    // Past the moment a server frees what an idle connection does not need:
    // ringo's connections park 250-500 ms after their last request, and the
    // last of a batch made its request just now.
    let settle = || std::thread::sleep(Duration::from_millis(1500));
    let first = load::open_idle(server.addr, 0, half, workload, tls.as_ref())?;
    settle();
    let before = proc::rss_bytes(server.pid())?;
    let second = load::open_idle(
        server.addr,
        half,
        connections - half,
        workload,
        tls.as_ref(),
    )?;
    settle();
    let after = proc::rss_bytes(server.pid())?;
    drop((first, second));
    Ok(IdleRow {
        server: format!("{} {}", spec.protocol.name(), spec.name),
        connections,
        bytes_per_connection: after.saturating_sub(before) as f64 / (connections - half) as f64,
    })
}
