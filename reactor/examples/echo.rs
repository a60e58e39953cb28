//! A TCP echo server on ringo's reactor.
//!
//! ```text
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000
//! RINGO_DRIVER=compat cargo run --release -p ringo-reactor --example echo
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000 --pooled
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000 --pooled --no-bundle
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000 --sqpoll 10
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000 --registered-fds 4096
//! ```
//!
//! Listens on the address given as the first argument (default `127.0.0.1:7000`;
//! port 0 picks a free port), prints the driver and the bound address, and echoes
//! every byte back on every connection until the peer closes.
//!
//! `--pooled` (or `RINGO_ECHO_POOLED=1`) reads with `recv_pooled` instead: the
//! bytes arrive in buffers of the runtime's pool (on io_uring, picked by the
//! kernel for one multishot receive per connection) and each buffer is written
//! back as it is, so an idle connection holds no buffer at all. Where the
//! kernel has receive bundles, one completion may fill several buffers;
//! `--no-bundle` turns them off (through the runtime's test hook) for A/B runs.
//!
//! `--sqpoll MS` asks for an SQPOLL ring whose kernel thread (`iou-sqp-PID`)
//! sleeps after `MS` milliseconds without submissions (see
//! [`Builder::sqpoll`](ringo_reactor::Builder::sqpoll)); the start-up line
//! says whether the kernel granted it. Compat ignores it.
//! `--registered-fds N` gives the io_uring ring a table of `N` registered file
//! descriptors ([`Builder::registered_fds`](ringo_reactor::Builder::registered_fds)):
//! each connection's ops then name its slot instead of its fd number, which
//! saves the kernel's per-op fd lookup. Connections past `N` use plain fds.
//! The startup line shows the table size granted (0: off, or compat).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::Runtime;

const DEFAULT_ADDR: &str = "127.0.0.1:7000";

/// Echoes with owned buffers: one 16 KiB buffer per connection, read into and
/// written back.
async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (read, b) = stream.read(buf).await;
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (written, b) = stream.write_all(b.slice(..n)).await;
        if written.is_err() {
            return;
        }
        buf = b.into_inner();
    }
}

/// Echoes with pooled receives: each received buffer is written back, then
/// dropped, which returns it to the pool.
async fn echo_pooled(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    while let Ok(Some(buf)) = stream.recv_pooled().await {
        if stream.write_all(buf).await.0.is_err() {
            return;
        }
    }
}

/// The command line: `[ADDR] [--pooled] [--no-bundle] [--sqpoll MS]
/// [--registered-fds N]`.
struct Args {
    addr: SocketAddr,
    pooled: bool,
    no_bundle: bool,
    sqpoll: Option<Duration>,
    registered_fds: u32,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
}

fn parse_args() -> io::Result<Args> {
    let mut args = Args {
        addr: DEFAULT_ADDR
            .parse()
            .map_err(|e| invalid("default address", e))?,
        pooled: std::env::var("RINGO_ECHO_POOLED").is_ok_and(|v| v == "1"),
        no_bundle: false,
        sqpoll: None,
        registered_fds: 0,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--pooled" => args.pooled = true,
            "--no-bundle" => args.no_bundle = true,
            "--sqpoll" => {
                let ms: u64 = argv
                    .next()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| invalid("--sqpoll", e))?;
                args.sqpoll = Some(Duration::from_millis(ms));
            }
            "--registered-fds" => {
                let n = argv.next().unwrap_or_default();
                args.registered_fds = n.parse().map_err(|e| invalid("--registered-fds", e))?;
            }
            flag if flag.starts_with("--") => return Err(invalid("unknown flag", flag)),
            addr => args.addr = addr.parse().map_err(|e| invalid("listen address", e))?,
        }
    }
    Ok(args)
}

fn main() -> io::Result<()> {
    let Args {
        addr,
        pooled,
        no_bundle,
        sqpoll,
        registered_fds,
    } = parse_args()?;
    let mut builder = Runtime::builder().registered_fds(registered_fds);
    if let Some(idle) = sqpoll {
        builder = builder.sqpoll(idle);
    }
    if no_bundle {
        builder = builder.simulate(ringo_reactor::runtime::Simulate {
            no_recv_bundle: true,
            ..Default::default()
        });
    }
    let runtime = builder.build()?;
    let sqpoll_granted = runtime.uring_features().is_some_and(|f| f.sqpoll);
    let table = runtime.uring_features().map_or(0, |f| f.registered_fds);
    let bundle = runtime.uring_features().is_some_and(|f| f.recv_bundle);
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)?;
        println!(
            "echo: driver={} mode={} bundle={bundle} sqpoll={} registered-fds={table} listening on {}",
            runtime.driver_kind(),
            if pooled { "pooled" } else { "owned" },
            match (sqpoll, sqpoll_granted) {
                (None, _) => "off".to_owned(),
                (Some(idle), true) => format!("{} ms", idle.as_millis()),
                (Some(_), false) => "refused".to_owned(),
            },
            listener.local_addr()?
        );
        loop {
            match listener.accept().await {
                Ok((stream, _)) if pooled => drop(ringo_reactor::spawn(echo_pooled(stream))),
                Ok((stream, _)) => drop(ringo_reactor::spawn(echo(stream))),
                Err(e) => {
                    eprintln!("echo: accept failed: {e}");
                    ringo_reactor::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    })
}
