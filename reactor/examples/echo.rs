//! A TCP echo server on ringo's reactor.
//!
//! ```text
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000
//! RINGO_DRIVER=compat cargo run --release -p ringo-reactor --example echo
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000 --pooled
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000 --sqpoll 10
//! ```
//!
//! Listens on the address given as the first argument (default `127.0.0.1:7000`;
//! port 0 picks a free port), prints the driver and the bound address, and echoes
//! every byte back on every connection until the peer closes.
//!
//! `--pooled` (or `RINGO_ECHO_POOLED=1`) reads with `recv_pooled` instead: the
//! bytes arrive in buffers of the runtime's pool (on io_uring, picked by the
//! kernel for one multishot receive per connection) and each buffer is written
//! back as it is, so an idle connection holds no buffer at all.
//!
//! `--sqpoll MS` asks for an SQPOLL ring whose kernel thread (`iou-sqp-PID`)
//! sleeps after `MS` milliseconds without submissions (see
//! [`Builder::sqpoll`](ringo_reactor::Builder::sqpoll)); the start-up line
//! says whether the kernel granted it. Compat ignores it.

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

/// The command line: `[ADDR] [--pooled] [--sqpoll MS]`.
struct Options {
    addr: SocketAddr,
    pooled: bool,
    sqpoll: Option<Duration>,
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

fn options() -> std::io::Result<Options> {
    let mut addr = None;
    let mut pooled = std::env::var("RINGO_ECHO_POOLED").is_ok_and(|v| v == "1");
    let mut sqpoll = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pooled" => pooled = true,
            "--sqpoll" => {
                let ms = args
                    .next()
                    .ok_or_else(|| invalid("--sqpoll needs MS".into()))?;
                let ms = ms
                    .parse()
                    .map_err(|e| invalid(format!("--sqpoll {ms:?}: {e}")))?;
                sqpoll = Some(Duration::from_millis(ms));
            }
            flag if flag.starts_with("--") => return Err(invalid(format!("unknown flag {flag}"))),
            _ => addr = Some(arg),
        }
    }
    let addr = addr
        .as_deref()
        .unwrap_or(DEFAULT_ADDR)
        .parse()
        .map_err(|e| invalid(format!("listen address: {e}")))?;
    Ok(Options {
        addr,
        pooled,
        sqpoll,
    })
}

fn main() -> std::io::Result<()> {
    let Options {
        addr,
        pooled,
        sqpoll,
    } = options()?;
    let mut builder = Runtime::builder();
    if let Some(idle) = sqpoll {
        builder = builder.sqpoll(idle);
    }
    let runtime = builder.build()?;
    let sqpoll_granted = runtime.uring_features().is_some_and(|f| f.sqpoll);
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)?;
        println!(
            "echo: driver={} mode={} sqpoll={} listening on {}",
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
