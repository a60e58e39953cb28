//! The HTTP server on both drivers against real peers: `curl` (GET, POST,
//! keep-alive, streamed responses — whole, paced, cut short by a lying length
//! or a failing stream —, a service error answered 500 with the connection
//! kept), a short `wrk` run with no errors, and std-socket peers for the
//! slow-loris header timeout, the idle keep-alive timeout and graceful
//! shutdown of an idle connection.

// The shared test helpers (ringo-test-util): on_both_drivers!, driver availability and `within`.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use ringo_reactor::time::{sleep, Sleep};
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error, ErrorKind};

/// How long a client waits for a reply before the test fails.
const REPLY_LIMIT: Duration = Duration::from_secs(10);

/// A stream of ready chunks, for streamed response bodies.
struct Chunks(std::vec::IntoIter<&'static str>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.next().map(|s| Ok(Bytes::from_static(s.as_bytes()))))
    }
}

/// Ready chunks, each after a pause; then, if `fail`, an error.
struct Paced {
    chunks: std::vec::IntoIter<&'static str>,
    pause: Option<Sleep>,
    fail: bool,
}

impl Paced {
    fn new(chunks: Vec<&'static str>, fail: bool) -> Paced {
        Paced {
            chunks: chunks.into_iter(),
            pause: None,
            fail,
        }
    }
}

impl futures_core::Stream for Paced {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let pause = self
            .pause
            .get_or_insert_with(|| sleep(Duration::from_millis(50)));
        std::task::ready!(Pin::new(pause).poll(cx));
        self.pause = None;
        match self.chunks.next() {
            Some(chunk) => Poll::Ready(Some(Ok(Bytes::from_static(chunk.as_bytes())))),
            None if std::mem::take(&mut self.fail) => {
                Poll::Ready(Some(Err(Error::new(ErrorKind::Unavailable))))
            }
            None => Poll::Ready(None),
        }
    }
}

/// The application under test:
/// - `/fail` fails (the server must answer 500);
/// - `/stream` answers a body streamed in three chunks;
/// - `/paced` streams three chunks 50 ms apart;
/// - `/broken` streams a chunk, then fails;
/// - `/lying` declares 10 bytes and streams 5;
/// - anything else answers `METHOD PATH BODY`.
async fn app(request: Request<Body>) -> Result<Response<Body>, Error> {
    match request.uri().path() {
        "/fail" => Err(Error::new(ErrorKind::Unavailable)),
        "/stream" => Ok(Response::new(Body::stream(Chunks(
            vec!["one ", "two ", "three"].into_iter(),
        )))),
        "/paced" => Ok(Response::new(Body::stream(Paced::new(
            vec!["slow ", "but ", "steady"],
            false,
        )))),
        "/broken" => Ok(Response::new(Body::stream(Paced::new(vec!["half"], true)))),
        "/lying" => Ok(Response::new(Body::sized_stream(
            10,
            Chunks(vec!["12345"].into_iter()),
        ))),
        path => {
            let head = format!("{} {path} ", request.method());
            let body = request.into_body().collect().await?;
            let mut reply = head.into_bytes();
            reply.extend_from_slice(&body);
            Ok(Response::new(Body::from(reply)))
        }
    }
}

fn start(server: ringo_http::Server) -> Running {
    server.serve(|| service_fn(app)).expect("serve")
}

fn local() -> SocketAddr {
    util::any_local()
}

fn url(running: &Running, path: &str) -> String {
    format!("http://{}{path}", running.local_addr())
}

/// Shuts the server down within [`REPLY_LIMIT`].
fn stop(running: Running) {
    util::within(REPLY_LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
}

on_both_drivers! {
    fn curl_gets_and_posts_over_one_kept_alive_connection(kind: DriverKind) {
        if !util::tls::have("curl", "curl_gets_and_posts_over_one_kept_alive_connection") {
            return;
        }
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(2));
        let get = util::curl(&["-i", &url(&running, "/hello")]);
        assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
        assert!(get.ends_with("\r\n\r\nGET /hello "), "{get}");
        let post = util::curl(&["--data-binary", "some body", &url(&running, "/submit")]);
        assert_eq!(post, "POST /submit some body");
        // %{num_connects}: 1 for the first transfer, 0 when the connection is reused.
        let kept = util::curl(&[
            "-w", " %{num_connects}\n",
            &url(&running, "/a"),
            &url(&running, "/b"),
            &url(&running, "/c"),
        ]);
        assert_eq!(kept, "GET /a  1\nGET /b  0\nGET /c  0\n");
        stop(running);
    }
}

on_both_drivers! {
    fn a_streamed_response_body_reaches_curl_whole(kind: DriverKind) {
        if !util::tls::have("curl", "a_streamed_response_body_reaches_curl_whole") {
            return;
        }
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(1));
        assert_eq!(util::curl(&[&url(&running, "/stream")]), "one two three");
        stop(running);
    }
}

on_both_drivers! {
    fn curl_reads_a_paced_stream_as_chunked_coding(kind: DriverKind) {
        if !util::tls::have("curl", "curl_reads_a_paced_stream_as_chunked_coding") {
            return;
        }
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(1));
        let reply = util::curl(&["-N", "-i", &url(&running, "/paced")]);
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        let (head, body) = reply.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.contains("\r\ntransfer-encoding: chunked"), "{head}");
        assert!(!head.contains("content-length"), "{head}");
        assert_eq!(body, "slow but steady");
        stop(running);
    }
}

on_both_drivers! {
    fn a_body_cut_short_fails_its_transfer_and_the_server_serves_on(kind: DriverKind) {
        if !util::tls::have("curl", "a_body_cut_short_fails_its_transfer_and_the_server_serves_on") {
            return;
        }
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(1));
        for (path, partial) in [("/lying", "12345"), ("/broken", "half")] {
            let output = Command::new("curl")
                .args(["-sS", "--max-time", "10", &url(&running, path)])
                .output()
                .expect("run curl (installed by ci/install-deps.sh)");
            // curl's exit code 18: "partial file", the body ended early.
            assert_eq!(output.status.code(), Some(18), "{path}: {output:?}");
            assert_eq!(String::from_utf8_lossy(&output.stdout), partial, "{path}");
            assert_eq!(util::curl(&[&url(&running, "/next")]), "GET /next ", "after {path}");
        }
        stop(running);
    }
}

on_both_drivers! {
    fn a_service_error_is_a_500_and_the_connection_serves_the_next_request(kind: DriverKind) {
        if !util::tls::have("curl", "a_service_error_is_a_500_and_the_connection_serves_the_next_request") {
            return;
        }
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(1));
        let codes = util::curl(&[
            "-o", "/dev/null",
            "-o", "/dev/null",
            "-w", "%{http_code} %{num_connects}\n",
            &url(&running, "/fail"),
            &url(&running, "/ok"),
        ]);
        assert_eq!(codes, "500 1\n200 0\n");
        stop(running);
    }
}

/// The number after `label` on the line of wrk's report that contains it.
fn wrk_count(report: &str, label: &str) -> Option<u64> {
    let line = report.lines().find(|line| line.contains(label))?;
    let after = line.split(label).nth(1)?;
    after
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()
}

on_both_drivers! {
    fn a_short_wrk_run_sees_no_socket_errors_and_only_2xx(kind: DriverKind) {
        if !util::tls::have("wrk", "a_short_wrk_run_sees_no_socket_errors_and_only_2xx") {
            return;
        }
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(2));
        let target = url(&running, "/");
        let output = Command::new("wrk")
            .args(["-t1", "-c16", "-d2s", &target])
            .output()
            .expect("run wrk (installed by ci/install-deps.sh)");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "wrk failed: {report}");
        // "  17700 requests in 2.00s, 1.94MB read"
        let requests: u64 = report
            .lines()
            .find(|line| line.contains("requests in"))
            .and_then(|line| line.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        assert!(requests > 0, "wrk made requests:\n{report}");
        assert!(!report.contains("Socket errors"), "no socket errors:\n{report}");
        assert_eq!(wrk_count(&report, "Non-2xx or 3xx responses:"), None, "only 2xx:\n{report}");
        stop(running);
    }
}

/// Reads until the server closes; returns what it sent and how long it took.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(REPLY_LIMIT))
        .expect("set read timeout");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            // A child process (curl, wrk) of a parallel test ending: retry.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
    (received, started.elapsed())
}

on_both_drivers! {
    fn a_slow_loris_head_is_cut_off_at_the_request_timeout(kind: DriverKind) {
        let running = start(
            ringo_http::Server::bind(local())
                .driver(kind)
                .workers(1)
                .request_timeout(Duration::from_millis(300)),
        );
        let mut stream = TcpStream::connect(running.local_addr()).expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\nhost: slow\r\n").expect("write part of a head");
        let (received, took) = read_until_closed(&mut stream);
        assert!(took < REPLY_LIMIT, "closed by the server, not by our timeout");
        let text = String::from_utf8_lossy(&received);
        assert!(!text.contains("200 OK"), "the unfinished request was not served: {text}");
        stop(running);
    }
}

on_both_drivers! {
    fn an_idle_keep_alive_connection_is_closed_at_the_keep_alive_timeout(kind: DriverKind) {
        let running = start(
            ringo_http::Server::bind(local())
                .driver(kind)
                .workers(1)
                .keep_alive_timeout(Duration::from_millis(300)),
        );
        let mut stream = TcpStream::connect(running.local_addr()).expect("connect");
        stream.write_all(b"GET /once HTTP/1.1\r\nhost: idle\r\n\r\n").expect("write request");
        let (received, took) = read_until_closed(&mut stream);
        assert!(took < REPLY_LIMIT, "closed by the server, not by our timeout");
        let text = String::from_utf8_lossy(&received);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("GET /once "), "{text}");
        stop(running);
    }
}

/// Sends `GET path` and reads its whole response (the app echoes `GET path `).
fn get_on(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nhost: a\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write request");
    stream
        .set_read_timeout(Some(REPLY_LIMIT))
        .expect("set read timeout");
    let tail = format!("GET {path} ");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !received.ends_with(tail.as_bytes()) {
        let n = stream.read(&mut buf).expect("read the response");
        assert!(n > 0, "closed before the response to {path} ended");
        received.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

on_both_drivers! {
    fn each_request_restarts_the_keep_alive_clock(kind: DriverKind) {
        let keep_alive = Duration::from_millis(600);
        let running = start(
            ringo_http::Server::bind(local())
                .driver(kind)
                .workers(1)
                .keep_alive_timeout(keep_alive),
        );
        let mut stream = TcpStream::connect(running.local_addr()).expect("connect");
        // The third request comes after the first quiet spell's deadline but
        // within the second's: the connection must still be open.
        for path in ["/one", "/two", "/three"] {
            let reply = get_on(&mut stream, path);
            assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
            std::thread::sleep(keep_alive * 7 / 12);
        }
        let (received, took) = read_until_closed(&mut stream);
        assert!(received.is_empty(), "{received:?}");
        assert!(took < REPLY_LIMIT, "closed by the server, not by our timeout");
        stop(running);
    }
}

on_both_drivers! {
    fn shutdown_closes_idle_keep_alive_connections_without_waiting_for_the_timeout(kind: DriverKind) {
        let running = start(ringo_http::Server::bind(local()).driver(kind).workers(1));
        let mut stream = TcpStream::connect(running.local_addr()).expect("connect");
        stream.write_all(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n").expect("write request");
        let mut first = [0u8; 17];
        stream.set_read_timeout(Some(REPLY_LIMIT)).expect("set read timeout");
        stream.read_exact(&mut first).expect("read the response start");
        assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
        let begun = Instant::now();
        stop(running);
        assert!(begun.elapsed() < Duration::from_secs(5), "the idle connection did not hold the drain");
        let (_, took) = read_until_closed(&mut stream);
        assert!(took < REPLY_LIMIT);
    }
}

#[test]
fn http_serve_uses_the_defaults_and_answers() {
    if !util::tls::have("curl", "http_serve_uses_the_defaults_and_answers") {
        return;
    }
    let running = ringo_http::serve(local(), || {
        service_fn(|_: Request<Body>| async {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            Ok::<_, Infallible>(response)
        })
    })
    .expect("serve");
    let code = util::curl(&["-o", "/dev/null", "-w", "%{http_code}", &url(&running, "/")]);
    assert_eq!(code, "204");
    stop(running);
}
