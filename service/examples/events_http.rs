//! Server-sent events: a response body that never ends, written as it is
//! produced.
//!
//! ```text
//! cargo run --release -p ringo-service --example events_http -- [ADDR] [--period MS]
//! curl -N http://127.0.0.1:8080/events
//! ```
//!
//! `GET /events` answers `text/event-stream` and then one event per period
//! (default 1000 ms), `data: tick N`, until the client goes away; every other
//! request gets `404`. The body is a [`Body::stream`] over the runtime's
//! [`interval`]: the server writes each event the moment the stream yields it
//! (chunked coding), and a client that stops reading holds the stream back
//! rather than making the server buffer events. ADDR defaults to
//! 127.0.0.1:8080; the driver comes from `RINGO_DRIVER`.
//!
//! Ctrl-C stops accepting and waits for open connections, as it does for any
//! ringo server; an event stream never ends on its own, so they are closed
//! when the shutdown timeout passes (30 s by default). A second Ctrl-C ends
//! the process at once.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::{header, HeaderValue, Request, Response, StatusCode};
use ringo_reactor::time::{interval, Interval};
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::server::shutdown_on_ctrl_c;
use ringo_service::{service_fn, Error};

const USAGE: &str = "usage: events_http [ADDR] [--period MS]";

fn parse_args() -> Result<(SocketAddr, Duration), String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut period = Duration::from_secs(1);
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--period" => {
                let ms = argv.next().ok_or("--period needs milliseconds")?;
                let ms: u64 = ms.parse().map_err(|e| format!("--period {ms}: {e}"))?;
                if ms == 0 {
                    return Err("--period must be at least 1 ms".into());
                }
                period = Duration::from_millis(ms);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => addr = other.parse().map_err(|e| format!("address {other}: {e}"))?,
        }
    }
    Ok((addr, period))
}

/// One `data: tick N` event per tick of the interval, for ever.
struct Ticks {
    interval: Interval,
    sent: u64,
}

impl Stream for Ticks {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        std::task::ready!(this.interval.poll_tick(cx));
        this.sent += 1;
        Poll::Ready(Some(Ok(Bytes::from(format!(
            "data: tick {}\n\n",
            this.sent
        )))))
    }
}

async fn events(request: Request<Body>, period: Duration) -> Result<Response<Body>, Infallible> {
    if request.uri().path() != "/events" {
        let mut response = Response::new(Body::from("try /events\n"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
    }
    let ticks = Ticks {
        interval: interval(period),
        sent: 0,
    };
    let mut response = Response::new(Body::stream(ticks));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

fn main() -> ExitCode {
    let (addr, period) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("events_http: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let running = match ringo_http::serve(addr, move || {
        service_fn(move |request| events(request, period))
    }) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("events_http: cannot serve on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "events_http: driver={} listening on {}",
        running.driver(),
        running.local_addr()
    );
    shutdown_on_ctrl_c(running.handle());
    match running.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("events_http: {e}");
            ExitCode::FAILURE
        }
    }
}
