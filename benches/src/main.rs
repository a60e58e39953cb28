//! ringo's benchmark runner: io_uring against epoll, and against the servers
//! users would otherwise pick (tokio, hyper, redis-server), on this machine.
//!
//! ```text
//! cargo run --release -p ringo-benches            # full matrix, about 15 minutes
//! cargo run --release -p ringo-benches -- --quick # under a minute
//! cargo run --release -p ringo-benches -- --ab    # io_uring features on vs off
//! cargo run --release -p ringo-benches -- --soak  # fault-injection soak, 2 minutes per server
//! ```
//!
//! Every server runs as its own process with one worker thread, pinned to CPU
//! 0; the load generator (ours, a mio loop verifying every reply) runs pinned
//! to CPU 1. Both talk over the loopback of the runner's own network
//! namespace, whose TCP congestion control is cubic (`--cc` picks another),
//! so the host's choice does not move the figures (see `netns.rs`). Each figure is the median of several runs, and every ringo figure
//! is also given as a ratio to the baseline measured in the same run — these
//! machines are shared and noisy, so only same-run ratios mean anything. The
//! runs of a cell's servers are interleaved round by round and the ratios are
//! medians of per-round ratios (see `measure.rs`).
//! Results go to `benches/results/` (markdown and an SVG chart of every
//! server's ratios to its cell's baseline); `--quick` results to
//! `target/bench-results/`.

mod cells;
mod chart;
mod files;
mod load;
mod measure;
mod netns;
mod proc;
mod report;
mod servers;
mod soak;
mod static_site;
mod tls;

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cells::{Cell, Timing};
use servers::ServerSpec;

/// CPU the servers run on; the load generator takes the next one.
const SERVER_CPU: usize = 0;

struct Options {
    quick: bool,
    filter: Option<String>,
    /// Where results go: `benches/results/` for full and A/B runs; quick runs
    /// (smoke tests, figures not worth keeping) default to `target/`.
    out_dir: PathBuf,
    /// Only the idle-connection memory measurement.
    idle: bool,
    /// The io_uring feature A/B (echo cells, [`servers::ab`]) instead of the
    /// comparison with other servers.
    ab: bool,
    /// Only the file cells (random reads; see `files`).
    files: bool,
    /// Load an already running server instead (for profiling it).
    against: Option<(std::net::SocketAddr, Option<u32>)>,
    /// The fault-injection soak instead of the benchmarks.
    soak: Option<soak::SoakOptions>,
    /// TCP congestion control in the runner's network namespace (see `netns`).
    congestion_control: String,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        filter: None,
        out_dir: PathBuf::new(),
        against: None,
        idle: false,
        ab: false,
        soak: None,
        files: false,
        congestion_control: "cubic".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--idle" => options.idle = true,
            "--ab" => options.ab = true,
            "--soak" => {
                options.soak.get_or_insert_with(soak_defaults);
            }
            "--soak-seconds" => {
                let value = args.next().ok_or("--soak-seconds needs a number")?;
                let seconds = value
                    .parse()
                    .map_err(|_| "bad number after --soak-seconds")?;
                let soak = options.soak.get_or_insert_with(soak_defaults);
                soak.seconds = seconds;
                soak.sample_every = if seconds >= 60 { 5 } else { 1 };
            }
            "--soak-driver" => {
                let driver = args.next().ok_or("--soak-driver needs uring or compat")?;
                if driver != "uring" && driver != "compat" {
                    return Err(format!("--soak-driver {driver:?}: uring or compat"));
                }
                options.soak.get_or_insert_with(soak_defaults).drivers = vec![driver];
            }
            "--files" => options.files = true,
            "--cc" => {
                options.congestion_control = args
                    .next()
                    .ok_or("--cc needs a congestion control (cubic, bbr, reno...)")?
            }
            "--filter" => {
                options.filter = Some(
                    args.next()
                        .ok_or("--filter needs a substring of a cell name")?,
                )
            }
            "--out" => {
                options.out_dir = PathBuf::from(args.next().ok_or("--out needs a directory")?)
            }
            "--against" => {
                let value = args.next().ok_or("--against needs ADDR[,PID]")?;
                let (addr, pid) = match value.split_once(',') {
                    Some((a, p)) => (
                        a.to_owned(),
                        Some(p.parse().map_err(|_| "bad pid after ADDR,")?),
                    ),
                    None => (value, None),
                };
                options.against =
                    Some((addr.parse().map_err(|_| "bad address for --against")?, pid));
            }
            "-h" | "--help" => {
                println!("usage: ringo-benches [--quick] [--idle] [--ab] [--files] [--soak] [--filter SUBSTRING] [--out DIR] [--cc NAME] [--against ADDR[,PID]]");
                println!("  --files: only the file cells (random 4 KiB reads: io_uring, compat, tokio, std), the file fast-path A/Bs (--filter \"file fast paths\") and the compat file pool size A/B (--filter \"compat file pool\")");
                println!("  --idle: only the idle-connection memory measurement (every server, each connection after one real request)");
                println!("  --ab: io_uring features on vs off (echo cells and idle memory)");
                println!("  --cc: TCP congestion control in the runner's own network namespace (default cubic, Linux's default; the host's setting is left alone)");
                println!("  --against: only generate the filtered cells' load against a server you started (to profile it)");
                println!("  --soak [--soak-seconds N] [--soak-driver uring|compat]: fault-injection soak of hello_http and mini_redis (default 120 s each, both drivers)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if options.out_dir.as_os_str().is_empty() {
        let benches = Path::new(env!("CARGO_MANIFEST_DIR"));
        options.out_dir = match (options.quick, benches.parent()) {
            (true, Some(workspace)) => workspace.join("target").join("bench-results"),
            _ => benches.join("results"),
        };
    }
    Ok(options)
}

/// The long soak: two minutes per server and driver, sampled every 5 s.
fn soak_defaults() -> soak::SoakOptions {
    soak::SoakOptions {
        seconds: 120,
        sample_every: 5,
        drivers: vec!["uring".into(), "compat".into()],
    }
}

/// Builds the server binaries this runner starts (release, like the runner).
/// The runner's own baselines and the echo server must build; a ringo example
/// that fails to build is reported and its rows are skipped.
fn build_servers() -> io::Result<()> {
    let build = |args: &[&str]| -> io::Result<bool> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet"])
            .args(args)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .status()?;
        Ok(status.success())
    };
    if !build(&[
        "-p",
        "ringo-benches",
        "--bins",
        "-p",
        "ringo-reactor",
        "--example",
        "echo",
    ])? {
        return Err(io::Error::other("building the benchmark servers failed"));
    }
    for example in ["hello_http", "mini_redis", "static_http"] {
        if !build(&["-p", "ringo-service", "--example", example])? {
            eprintln!("note: the {example} example did not build; its rows are skipped");
        }
    }
    Ok(())
}

/// A baseline server installed on this machine (`/usr/bin`, `/usr/sbin`,
/// `/usr/local/...`), if any.
fn find_installed(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.exists())
}

/// Raises the open-file limit to its hard maximum: 10,000 idle connections need
/// 10,000 fds on each side.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write a live local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn eta(done: usize, total: usize, started: Instant) -> String {
    if done == 0 {
        return "?".to_owned();
    }
    let left = started.elapsed().as_secs_f64() / done as f64 * (total - done) as f64;
    format!("{left:.0}s")
}

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ringo-benches: {e}");
            std::process::exit(2);
        }
    };
    if let Some(soak) = &options.soak {
        match soak::run(soak, &options.out_dir) {
            Ok(true) => return,
            Ok(false) => std::process::exit(1),
            Err(e) => {
                eprintln!("ringo-benches: soak: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Err(e) = run(&options) {
        eprintln!("ringo-benches: {e}");
        std::process::exit(1);
    }
}

/// Loads a server started by hand with the filtered cells, printing each result.
fn run_against(options: &Options, addr: std::net::SocketAddr, pid: Option<u32>) -> io::Result<()> {
    let timing = Duration::from_secs(if options.quick { 2 } else { 10 });
    for cell in cells::all().iter().filter(|c| {
        options
            .filter
            .as_ref()
            .is_none_or(|f| c.name.contains(f.as_str()))
    }) {
        let result = load::run(&load::LoadSpec {
            addr,
            connections: cell.connections,
            in_flight: cell.in_flight,
            active: cell.active,
            warmup: Duration::from_millis(500),
            duration: timing,
            workload: cell.workload,
            server_pid: pid,
            tls: tls::for_cell(cell)?,
            new_connection_per_request: cell.new_connection_per_request,
        })?;
        let rps = result.requests as f64 / result.elapsed.as_secs_f64().max(1e-9);
        let cpu = result.server_cpu.as_secs_f64() * 1e6 / result.requests.max(1) as f64;
        println!(
            "{}: {rps:.0} req/s, server CPU {cpu:.2} µs/req, {} errors",
            cell.name, result.errors
        );
    }
    Ok(())
}

fn run(options: &Options) -> io::Result<()> {
    raise_fd_limit();
    // Read before pinning ourselves: afterwards we may run on one CPU only.
    let cpus = proc::cpus();
    if let Some((addr, pid)) = options.against {
        if cpus >= 2 {
            proc::pin(0, SERVER_CPU + 1)?;
        }
        return run_against(options, addr, pid);
    }
    // Before any thread starts: every server and load thread started from
    // here on inherits the namespace.
    let network = netns::isolate(&options.congestion_control)?;
    // The file cells run in this process, before it pins itself to one CPU:
    // thread pools (compat's, tokio's) may use every core, as in real use.
    let file_cells = if options.idle || options.ab || options.against.is_some() {
        String::new()
    } else if options
        .filter
        .as_deref()
        .is_none_or(|f| "file random 4KiB reads".contains(f) || f.contains("file"))
    {
        let timing = if options.quick {
            files::FileTiming::quick()
        } else {
            files::FileTiming::full()
        };
        let filter = options
            .filter
            .as_deref()
            .filter(|f| !"file random 4KiB reads".contains(f));
        files::run(timing, filter)?
    } else {
        String::new()
    };
    if options.files {
        println!("\n{file_cells}");
        let name = format!("{}-files.md", utc_stamp());
        std::fs::create_dir_all(&options.out_dir)?;
        std::fs::write(
            options.out_dir.join(&name),
            format!(
                "# ringo file benchmark\n\n- CPU: {} ({cpus} CPUs)\n- kernel: {}\n\n{file_cells}",
                proc::machine().1,
                proc::machine().0
            ),
        )?;
        eprintln!("results: {}", options.out_dir.join(name).display());
        return Ok(());
    }
    eprintln!("building servers (release)...");
    build_servers()?;
    if cpus >= 2 {
        proc::pin(0, SERVER_CPU + 1)?;
    } else {
        eprintln!("note: one CPU only: server and load generator share it");
    }
    let candidates = if options.ab {
        servers::ab()
    } else {
        let redis = find_installed("redis-server");
        if redis.is_none() {
            eprintln!("note: redis-server not installed: the RESP baseline is skipped (apt-get install redis-server)");
        }
        let nginx = find_installed("nginx");
        if nginx.is_none() {
            eprintln!("note: nginx not installed: its HTTP rows and the static-file baseline are skipped (apt-get install nginx)");
        }
        servers::all(redis, nginx)
    };
    let servers: Vec<ServerSpec> = candidates
        .into_iter()
        .filter(|s| {
            let present = s.program.exists();
            if !present {
                eprintln!(
                    "note: {} not built: {} rows skipped",
                    s.program.display(),
                    s.name
                );
            }
            present
        })
        .collect();
    let timing = if options.quick {
        Timing {
            warmup: Duration::from_millis(200),
            duration: Duration::from_millis(700),
            repetitions: 1,
        }
    } else {
        // Many short rounds rather than a few long ones, in the same time:
        // the servers of a cell then run seconds apart, and the median of
        // nine per-round ratios shrugs off more of a shared machine's bursts.
        Timing {
            warmup: Duration::from_millis(500),
            duration: Duration::from_millis(1500),
            repetitions: 9,
        }
    };
    let cells: Vec<Cell> = cells::all()
        .into_iter()
        .filter(|c| !options.idle && (!options.quick || c.quick))
        .filter(|c| {
            options
                .filter
                .as_ref()
                .is_none_or(|f| c.name.contains(f.as_str()))
        })
        .collect();
    let plan: Vec<(&Cell, Vec<&ServerSpec>)> = cells
        .iter()
        .map(|c| {
            let specs = servers
                .iter()
                .filter(|s| s.protocol == c.protocol && !s.idle_only)
                .collect();
            (c, specs)
        })
        .collect();
    let steps: usize = plan
        .iter()
        .map(|(_, specs)| specs.len() * timing.repetitions)
        .sum();
    let started = Instant::now();
    let done = std::cell::Cell::new(0);
    let mut rows = Vec::new();
    let mut failures = 0;
    for (cell, specs) in &plan {
        let results = measure::cell(
            cell,
            specs,
            timing,
            SERVER_CPU,
            |server| {
                eprint!(
                    "[{}/{steps} eta {}] {} — {server} ... ",
                    done.get() + 1,
                    eta(done.get(), steps, started),
                    cell.name,
                );
            },
            |sample| {
                done.set(done.get() + 1);
                match sample {
                    Ok(s) => eprintln!(
                        "{:.0} req/s, {:.2} µs CPU/req",
                        s.requests_per_sec, s.cpu_us_per_request
                    ),
                    Err(e) => eprintln!("failed: {e}"),
                }
            },
        );
        for (spec, result) in specs.iter().zip(results) {
            match result {
                Ok(row) => {
                    if row.errors > 0 || row.requests_per_sec == 0.0 {
                        failures += 1;
                        eprintln!(
                            "    {} — {}: {} errors, first: {}",
                            cell.name,
                            spec.name,
                            row.errors,
                            row.first_error.as_deref().unwrap_or("no replies")
                        );
                    }
                    rows.push(row);
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("    {} — {}: failed: {e}", cell.name, spec.name);
                }
            }
        }
    }
    let idle_connections = if options.quick { 1000 } else { 10_000 };
    let mut idle_rows = Vec::new();
    if options.filter.is_none() || options.idle {
        // Every server, the HTTP ones plain and over TLS (the memory an idle
        // TLS session adds is the difference); `--idle --filter http` measures
        // the HTTP servers alone.
        let wanted = |spec: &&ServerSpec| {
            options
                .filter
                .as_ref()
                .is_none_or(|f| spec.protocol.name().contains(f.as_str()))
        };
        for spec in servers.iter().filter(wanted) {
            eprint!(
                "idle memory — {} {} with {idle_connections} connections ... ",
                spec.protocol.name(),
                spec.name
            );
            match measure::idle(spec, idle_connections, SERVER_CPU) {
                Ok(row) => {
                    eprintln!("{:.1} KiB/connection", row.bytes_per_connection / 1024.0);
                    idle_rows.push(row);
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("failed: {e}");
                }
            }
        }
    }
    let (kernel, cpu) = proc::machine();
    let table = report::markdown(&rows);
    let idle_table = report::idle_markdown(&idle_rows);
    println!("\n{table}\n{idle_table}\n{file_cells}");
    let stamp = utc_stamp();
    let header = format!(
        "# ringo benchmark {stamp}\n\n- mode: {}\n- kernel: {kernel}\n- CPU: {cpu} ({} CPUs; servers pinned to CPU {SERVER_CPU}, load generator to CPU {})\n- network: {}\n- io_uring: {}\n- timing: warm-up {:?}, {:?} x {} rounds, interleaved; medians\n\n",
        match (options.ab, options.quick) {
            (true, _) => "io_uring feature A/B",
            (false, true) => "quick",
            (false, false) => "full",
        },
        cpus,
        SERVER_CPU + 1,
        network.description,
        proc::uring_features(),
        timing.warmup,
        timing.duration,
        timing.repetitions,
    );
    std::fs::create_dir_all(&options.out_dir)?;
    let name = match (options.ab, options.quick) {
        (true, _) => format!("{stamp}-ab"),
        (false, true) => format!("{stamp}-quick"),
        (false, false) => stamp.clone(),
    };
    let svg_name = format!("{name}.svg");
    let mut cells: Vec<&str> = rows.iter().map(|r| r.cell.as_str()).collect();
    cells.dedup();
    std::fs::write(options.out_dir.join(&svg_name), chart::svg(&rows, &cells))?;
    std::fs::write(
        options.out_dir.join(format!("{name}.md")),
        format!("{header}{table}\n{idle_table}\n{file_cells}\n![chart]({svg_name})\n"),
    )?;
    eprintln!(
        "results: {}",
        options.out_dir.join(format!("{name}.md")).display()
    );
    if failures > 0 {
        return Err(io::Error::other(format!(
            "{failures} measurement(s) failed or saw errors"
        )));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH-MM` in UTC, from the system clock (no date crate needed).
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}
