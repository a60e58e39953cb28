//! Parked connections (`pipeline::Server::serve_parking`): an HTTP or RESP
//! connection quiet for half a second keeps only its transport, and must
//! come back exactly as it was — serving the next requests, pipelined ones
//! included, and still ending on its idle timeout, its request timeout, the
//! server's shutdown and the peer's close. And a connection with a request
//! body still arriving (its handler answered early) must not park, or a new
//! codec would read the rest of that body as requests.
//!
//! Each case runs a server thread of the driver under test and a blocking
//! std client that idles longer than a connection takes to park.

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use ringo_proto::http::{serve_connection, serve_connection_streamed, RequestBody, ServerConfig};
use ringo_proto::resp::{self, Frame, RespCodec};
use ringo_reactor::time::sleep;
use ringo_reactor::DriverKind;

/// Longer than a quiet connection takes to park (two release periods).
const PARKED: Duration = Duration::from_millis(700);

/// The end of a reply of [`hello`].
const HELLO: &str = "\r\n\r\nhello";

async fn hello(_request: Request<Bytes>) -> Result<Response<Bytes>, std::convert::Infallible> {
    Ok(Response::new(Bytes::from_static(b"hello")))
}

/// An HTTP server on `kind` with `config`, whose connections shut down
/// `shutdown_after` after they start; `None` where io_uring is unavailable.
fn http_server(
    kind: DriverKind,
    config: ServerConfig,
    shutdown_after: Duration,
) -> Option<SocketAddr> {
    util::server_thread(kind, move || {
        move |stream| {
            let config = config.clone();
            async move {
                let _ = serve_connection(stream, &config, hello, sleep(shutdown_after)).await;
            }
        }
    })
}

fn connect(addr: SocketAddr) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    stream
}

/// Reads until `count` occurrences of `marker` have arrived.
fn read_replies(stream: &mut std::net::TcpStream, marker: &str, count: usize) -> String {
    let mut seen = Vec::new();
    let mut chunk = [0; 4096];
    while String::from_utf8_lossy(&seen).matches(marker).count() < count {
        let n = match stream.read(&mut chunk) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            read => read.expect("the replies arrive"),
        };
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(seen).expect("UTF-8 replies")
}

/// Reads until the server closes; how long that took.
fn time_to_close(stream: &mut std::net::TcpStream) -> Duration {
    let start = Instant::now();
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("the server closes the connection");
    start.elapsed()
}

fn a_parked_http_connection_serves_its_next_requests(kind: DriverKind) {
    let Some(addr) = http_server(kind, ServerConfig::default(), Duration::from_secs(600)) else {
        return;
    };
    let mut stream = connect(addr);
    let get = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    stream.write_all(get).unwrap();
    read_replies(&mut stream, HELLO, 1);
    for _ in 0..2 {
        std::thread::sleep(PARKED);
        // Woken by three pipelined requests in one segment.
        stream.write_all(&get.repeat(3)).unwrap();
        let replies = read_replies(&mut stream, HELLO, 3);
        assert_eq!(replies.matches("hello").count(), 3, "{replies}");
    }
}
on_both_drivers!(a_parked_http_connection_serves_its_next_requests);

fn a_parked_connection_still_times_out(kind: DriverKind) {
    let config = ServerConfig {
        keep_alive_timeout: Duration::from_millis(900),
        ..ServerConfig::default()
    };
    let Some(addr) = http_server(kind, config, Duration::from_secs(600)) else {
        return;
    };
    let mut stream = connect(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    read_replies(&mut stream, HELLO, 1);
    let waited = time_to_close(&mut stream);
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(10),
        "closed {waited:?} after the reply, for a 900 ms keep-alive timeout"
    );
}
on_both_drivers!(a_parked_connection_still_times_out);

fn a_request_begun_after_parking_is_still_cut_off(kind: DriverKind) {
    let config = ServerConfig {
        request_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let Some(addr) = http_server(kind, config, Duration::from_secs(600)) else {
        return;
    };
    let mut stream = connect(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    read_replies(&mut stream, HELLO, 1);
    std::thread::sleep(PARKED);
    // A slow-loris head, begun once the connection has parked.
    stream.write_all(b"GET / HTTP/1.1\r\nX-Slow: ").unwrap();
    let waited = time_to_close(&mut stream);
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(10),
        "closed {waited:?} after the partial head, for a 300 ms request timeout"
    );
}
on_both_drivers!(a_request_begun_after_parking_is_still_cut_off);

fn shutdown_closes_a_parked_connection(kind: DriverKind) {
    let Some(addr) = http_server(kind, ServerConfig::default(), Duration::from_millis(1500)) else {
        return;
    };
    let mut stream = connect(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    read_replies(&mut stream, HELLO, 1);
    let waited = time_to_close(&mut stream);
    assert!(
        waited < Duration::from_secs(10),
        "a parked connection closes at shutdown (after {waited:?})"
    );
}
on_both_drivers!(shutdown_closes_a_parked_connection);

fn a_body_still_arriving_keeps_its_connection_from_parking(kind: DriverKind) {
    const BODY: usize = 200 * 1024;
    let Some(addr) = util::server_thread(kind, || {
        |stream| async move {
            let config = ServerConfig::default();
            // Answers at once and drops the body unread: the rest of it is
            // discarded as it arrives.
            let early = |_request: Request<RequestBody>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(b"early")))
            };
            let _ = serve_connection_streamed(stream, &config, early, std::future::pending()).await;
        }
    }) else {
        return;
    };
    let mut stream = connect(addr);
    let head = format!("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {BODY}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // Request-shaped bytes: a codec that took them for requests would answer.
    let smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
    let body = smuggled.repeat(BODY / smuggled.len() + 1);
    let (first, rest) = body[..BODY].split_at(1024);
    stream.write_all(first).unwrap();
    read_replies(&mut stream, "\r\n\r\nearly", 1);
    std::thread::sleep(PARKED);
    stream.write_all(rest).unwrap();
    stream
        .write_all(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let replies = read_replies(&mut stream, "\r\n\r\nearly", 1);
    assert!(
        replies.starts_with("HTTP/1.1 200 OK") && !replies.contains("400"),
        "the request after the body is served, the body is not: {replies}"
    );
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut more = [0; 1024];
    let extra = stream.read(&mut more);
    assert!(
        !matches!(extra, Ok(n) if n > 0),
        "one reply for one request, none for the body's bytes: {:?}",
        extra.map(|n| String::from_utf8_lossy(&more[..n]).into_owned())
    );
}
on_both_drivers!(a_body_still_arriving_keeps_its_connection_from_parking);

fn a_parked_resp_connection_serves_its_next_commands(kind: DriverKind) {
    let ended = Arc::new(AtomicUsize::new(0));
    let counter = ended.clone();
    let Some(addr) = util::server_thread(kind, move || {
        move |stream| {
            let counter = counter.clone();
            async move {
                let config = resp::ServerConfig::default();
                let pong = |_command| async {
                    Ok::<_, std::io::Error>(Frame::Simple(Bytes::from_static(b"PONG")))
                };
                let served = resp::serve_connection(
                    stream,
                    RespCodec::new(),
                    &config,
                    pong,
                    std::future::pending(),
                )
                .await;
                if served.is_ok() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }) else {
        return;
    };
    let mut stream = connect(addr);
    let ping = b"*1\r\n$4\r\nPING\r\n";
    stream.write_all(ping).unwrap();
    read_replies(&mut stream, "+PONG\r\n", 1);
    std::thread::sleep(PARKED);
    // A whole command and the start of the next in one segment, the rest
    // of it in another.
    let mut burst = ping.repeat(2);
    burst.extend_from_slice(b"*1\r\n$4\r\nPI");
    stream.write_all(&burst).unwrap();
    read_replies(&mut stream, "+PONG\r\n", 2);
    stream.write_all(b"NG\r\n").unwrap();
    read_replies(&mut stream, "+PONG\r\n", 1);
    std::thread::sleep(PARKED);
    drop(stream);
    // The peer's close ends a parked connection cleanly.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ended.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the parked connection did not end"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
on_both_drivers!(a_parked_resp_connection_serves_its_next_commands);
