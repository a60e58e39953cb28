//! hyper on ringo (`ringo_service::hyper`), on both drivers: the
//! `hyper_on_ringo` example's server answers `curl --http1.1` and `curl
//! --http2-prior-knowledge`, echoes bodies exactly and refuses oversized
//! ones; hyper's own HTTP/1.1 and HTTP/2 clients run over a ringo
//! `TcpStream`; over TLS, ALPN gives curl HTTP/2 or HTTP/1.1 as it asks;
//! a peer that resets its connection in the middle of an HTTP/2
//! stream leaves no task and no op behind; and dropping the runtime with an
//! HTTP/2 request in flight is safe.

// The reactor's test helpers: both_drivers!, on_both_drivers!, curl, pattern.
use ringo_test_util as util;
use ringo_test_util::{both_drivers, on_both_drivers};

// The example's server itself, so the test runs the code the example runs.
#[path = "../examples/hyper_on_ringo/app.rs"]
mod app;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, StatusCode, Version};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::time::sleep;
use ringo_reactor::{DriverKind, Runtime};
use ringo_service::hyper::{server, RingoExecutor, RingoIo, RingoTimer};
use util::{any_local, curl, pattern};

/// Starts the example's server on a thread with a runtime of `kind`; returns
/// its address, or `None` when io_uring is declared unavailable.
fn example_server(kind: DriverKind) -> Option<SocketAddr> {
    example_server_with(kind, None)
}

/// [`example_server`], over TLS when `tls` is given.
fn example_server_with(
    kind: DriverKind,
    tls: Option<ringo_proto::tls::TlsAcceptor>,
) -> Option<SocketAddr> {
    util::listener_thread(kind, move |listener| async move {
        app::serve(listener, tls).await.expect("accept loop");
    })
}

/// Whether this curl speaks HTTP/2 (Debian's does, through libnghttp2).
fn curl_has_http2() -> bool {
    let version = std::process::Command::new("curl")
        .arg("-V")
        .output()
        .expect("run curl -V (installed by ci/install-deps.sh)");
    String::from_utf8_lossy(&version.stdout).contains("HTTP2")
}

on_both_drivers! {
    fn curl_fetches_http1_and_h2c_from_the_example(kind: DriverKind) {
        if !util::tls::have("curl", "curl_fetches_http1_and_h2c_from_the_example") {
            return;
        }
        let Some(addr) = example_server(kind) else { return };
        let url = format!("http://{addr}/");
        let echo = format!("http://{addr}/echo");
        assert_eq!(curl(&["--http1.1", &url]), "Hello from hyper on ringo over HTTP/1.1\n");
        if !curl_has_http2() {
            eprintln!("SKIPPED: this curl has no HTTP/2; only HTTP/1.1 was checked");
            return;
        }
        assert_eq!(
            curl(&["--http2-prior-knowledge", &url]),
            "Hello from hyper on ringo over HTTP/2.0\n"
        );
        // Many streams on one HTTP/2 connection are the hyper client test's
        // job below: Debian 12's curl 7.88 fails to reuse an h2c
        // prior-knowledge connection ("Error in the HTTP2 framing layer")
        // although the server's frames are well formed.
        // A body larger than a read buffer and a write chunk comes back exact.
        let dir = util::TempDir::new("hyper-echo");
        let blob = pattern(300_000, 9);
        let path = dir.join("blob");
        std::fs::write(&path, &blob).expect("write the body file");
        let data = format!("@{}", path.display());
        for version in ["--http1.1", "--http2-prior-knowledge"] {
            let out = dir.join("out");
            let out_arg = out.display().to_string();
            curl(&[version, "--data-binary", &data, "-o", &out_arg, &echo]);
            assert!(std::fs::read(&out).expect("echoed body") == blob, "{version}: echo altered");
        }
    }
}

on_both_drivers! {
    fn an_oversized_body_is_refused_and_the_server_goes_on(kind: DriverKind) {
        if !util::tls::have("curl", "an_oversized_body_is_refused_and_the_server_goes_on") {
            return;
        }
        let Some(addr) = example_server(kind) else { return };
        let echo = format!("http://{addr}/echo");
        let dir = util::TempDir::new("hyper-oversized");
        let path = dir.join("big");
        std::fs::write(&path, vec![b'x'; 2 * app::MAX_ECHO_BODY]).expect("write the body file");
        let data = format!("@{}", path.display());
        let mut versions = vec!["--http1.1"];
        if curl_has_http2() {
            versions.push("--http2-prior-knowledge");
        } else {
            eprintln!("SKIPPED: this curl has no HTTP/2; the h2 oversized case was not run");
        }
        for version in versions {
            // hyper answers 413 and stops reading the body (closing the
            // HTTP/1.1 connection, resetting the HTTP/2 stream), so curl,
            // still sending, may see the 413 or only its send failing (exit
            // 55), a reset (56) or the stream error (92). Never a 200, and
            // the server must neither hang nor die.
            let output = std::process::Command::new("curl")
                .args(["-sS", "--max-time", "10", version, "-o", "/dev/null"])
                .args(["-w", "%{http_code}", "--data-binary", &data, &echo])
                .output()
                .expect("run curl");
            let code = String::from_utf8_lossy(&output.stdout).into_owned();
            let refused = code.ends_with("413") || matches!(output.status.code(), Some(55 | 56 | 92));
            assert!(refused, "{version}: {code} {output:?}");
        }
        assert_eq!(curl(&["--http1.1", &format!("http://{addr}/")]), "Hello from hyper on ringo over HTTP/1.1\n");
    }
}

/// Serves the example on this runtime; returns the address.
fn spawn_example() -> SocketAddr {
    let listener = TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(ringo_reactor::spawn(async move {
        let _ = app::serve(listener, None).await;
    }));
    addr
}

both_drivers! {
    async fn hyper_http1_client_over_a_ringo_stream_keeps_the_connection() {
        let addr = spawn_example();
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(RingoIo::new(stream))
                .await
                .expect("handshake");
        let connection = ringo_reactor::spawn(connection);
        for round in 0..3u64 {
            let body = pattern(20_000 + round as usize, round);
            let request = Request::post("/echo")
                .header("host", "test")
                .body(Full::new(Bytes::from(body.clone())))
                .expect("request");
            let response = sender.send_request(request).await.expect("response");
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.version(), Version::HTTP_11);
            let got = response.into_body().collect().await.expect("body").to_bytes();
            assert!(got == body, "round {round}: echo altered");
        }
        drop(sender);
        connection.await.expect("connection task").expect("connection ends cleanly");
    }
}

both_drivers! {
    async fn hyper_http2_client_multiplexes_streams_over_a_ringo_stream() {
        let addr = spawn_example();
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, connection) = hyper::client::conn::http2::Builder::new(RingoExecutor)
            .timer(RingoTimer)
            .handshake::<_, Full<Bytes>>(RingoIo::new(stream))
            .await
            .expect("h2 handshake");
        drop(ringo_reactor::spawn(connection));
        let calls: Vec<_> = (0..20u64)
            .map(|id| {
                let mut sender = sender.clone();
                ringo_reactor::spawn(async move {
                    let body = pattern(1000 * id as usize, id);
                    let request = Request::post("http://test/echo")
                        .body(Full::new(Bytes::from(body.clone())))
                        .expect("request");
                    let response = sender.send_request(request).await.expect("response");
                    assert_eq!(response.version(), Version::HTTP_2);
                    let got = response.into_body().collect().await.expect("body").to_bytes();
                    assert!(got == body, "stream {id}: echo altered");
                })
            })
            .collect();
        for call in calls {
            call.await.expect("call task");
        }
    }
}

/// An HTTP/2 client's first bytes, by hand: the preface, empty SETTINGS, and
/// HEADERS for `POST /` on stream 1 (HPACK static-table indexes 3, 6, 4)
/// with END_HEADERS but not END_STREAM, then 5 bytes of DATA — so the
/// server's handler waits for the rest of the body.
const H2_REQUEST_OPENED: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\
    \x00\x00\x00\x04\x00\x00\x00\x00\x00\
    \x00\x00\x03\x01\x04\x00\x00\x00\x01\x83\x86\x84\
    \x00\x00\x05\x00\x00\x00\x00\x00\x01hello";

/// Serves HTTP/2 on this runtime with a handler that reads the request body
/// to its end; returns the address and a count of handlers started.
fn spawn_body_reading_server() -> (SocketAddr, Rc<Cell<usize>>) {
    let listener = TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("address");
    let started = Rc::new(Cell::new(0));
    let count = started.clone();
    drop(ringo_reactor::spawn(async move {
        let builder = Rc::new(server());
        while let Ok((stream, _)) = listener.accept().await {
            let builder = builder.clone();
            let count = count.clone();
            drop(ringo_reactor::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        count.set(count.get() + 1);
                        async move {
                            let body = request.into_body().collect().await?;
                            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(body.to_bytes())))
                        }
                    });
                let _ = builder
                    .serve_connection(RingoIo::new(stream), service)
                    .await;
            }));
        }
    }));
    (addr, started)
}

/// Waits (on this runtime) until `done` holds, for at most 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: not after 10 s"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

/// A blocking client that opens an HTTP/2 request and leaves it unfinished.
fn open_h2_request(addr: SocketAddr) -> std::net::TcpStream {
    let mut client = std::net::TcpStream::connect(addr).expect("connect");
    client
        .write_all(H2_REQUEST_OPENED)
        .expect("write the opened request");
    client
}

on_both_drivers! {
    fn a_peer_reset_mid_h2_stream_ends_the_connection_tasks_and_ops(kind: DriverKind) {
        util::run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let (addr, started) = spawn_body_reading_server();
            // Let the accept loop start, then take the baseline: it alone.
            sleep(Duration::from_millis(20)).await;
            let (tasks, ops) = (rt.stats().live_tasks, rt.stats().op_slots);
            let client = open_h2_request(addr);
            eventually("the handler starts", || started.get() == 1).await;
            assert!(rt.stats().live_tasks > tasks, "no task serves the connection");
            // Reset: SO_LINGER 0 and close send RST mid-stream (the client
            // adopted by the runtime for its portable `set_linger_zero`).
            let client = ringo_reactor::net::TcpStream::from_std(client).expect("adopt the client");
            client.set_linger_zero().expect("SO_LINGER");
            drop(client);
            eventually("the connection's tasks end", || rt.stats().live_tasks == tasks).await;
            eventually("the connection's ops end", || rt.stats().op_slots == ops).await;
        });
    }
}

on_both_drivers! {
    fn dropping_the_runtime_mid_h2_request_is_safe(kind: DriverKind) {
        let Some(rt) = util::runtime(kind) else { return };
        let mut client = rt.block_on(async {
            let (addr, started) = spawn_body_reading_server();
            let client = open_h2_request(addr);
            eventually("the handler starts", || started.get() == 1).await;
            client
        });
        drop(rt);
        // The server's socket is closed with the runtime: the client reads
        // the server's SETTINGS frames, then end of stream (or a reset).
        client.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        let mut rest = Vec::new();
        if let Err(e) = client.read_to_end(&mut rest) {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
    }
}

both_drivers! {
    async fn hyper_timer_sleeps_and_resets_on_the_ringo_wheel() {
        use hyper::rt::Timer;
        let timer = RingoTimer;
        let start = Instant::now();
        let mut sleep = timer.sleep(Duration::from_secs(60));
        // A reset moves our own sleep in place, earlier here.
        timer.reset(&mut sleep, Instant::now() + Duration::from_millis(10));
        sleep.await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(10) && waited < Duration::from_secs(5), "{waited:?}");
        // An empty-body GET through hyper's types compiles against our hooks.
        let _ = Empty::<Bytes>::new();
    }
}

on_both_drivers! {
    fn curl_gets_h2_or_http1_over_tls_as_alpn_picks(kind: DriverKind) {
        if !util::tls::have("curl", "curl_gets_h2_or_http1_over_tls_as_alpn_picks") {
            return;
        }
        let certs = ringo_test_util::tls::certs("hyper ALPN CA");
        let mut config = (*certs.server_config()).clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = ringo_proto::tls::TlsAcceptor::new(std::sync::Arc::new(config));
        let Some(addr) = example_server_with(kind, Some(acceptor)) else {
            return;
        };
        let url = format!("https://localhost:{}/", addr.port());
        let ca = certs.ca_pem.to_string_lossy().into_owned();
        let mut expected = vec![("--http1.1", "HTTP/1.1")];
        if curl_has_http2() {
            expected.push(("--http2", "HTTP/2.0"));
        } else {
            eprintln!("SKIPPED: h2 over TLS: this curl has no HTTP/2");
        }
        for (flag, version) in expected {
            let body = curl(&[flag, "--cacert", &ca, &url]);
            assert_eq!(body, format!("Hello from hyper on ringo over {version}\n"), "{flag}");
        }
    }
}
