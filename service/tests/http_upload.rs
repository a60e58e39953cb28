//! Request bodies through the HTTP service on both drivers: a few MiB
//! uploaded by `curl --data-binary @file` reach the service as a stream
//! (whole when curl asks for `100 Continue`, as such bodies are gathered),
//! byte for byte; small bodies arrive whole; a body that breaks mid-stream
//! fails the service's read, which answers 500, and the server serves on.

// The shared test helpers (ringo-test-util): on_both_drivers!, temp dirs, byte patterns.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use http::{Request, Response};
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error};

/// How long a peer waits for a reply before the test fails.
const REPLY_LIMIT: Duration = Duration::from_secs(10);

/// FNV-1a over `bytes`, continuing from `hash`.
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    hash
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Answers `whole|streamed LEN HASH` for the body it read chunk by chunk;
/// a body that fails fails the service (a 500).
async fn app(request: Request<Body>) -> Result<Response<Body>, Error> {
    let mut body = request.into_body();
    let shape = if body.as_bytes().is_some() {
        "whole"
    } else {
        "streamed"
    };
    let (mut len, mut hash) = (0usize, FNV_START);
    while let Some(chunk) = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut body), cx)
    })
    .await
    {
        let chunk = chunk?;
        len += chunk.len();
        hash = fnv(hash, &chunk);
    }
    Ok(Response::new(Body::from(format!("{shape} {len} {hash:x}"))))
}

fn start(kind: ringo_reactor::DriverKind) -> Running {
    ringo_http::Server::bind(util::any_local())
        .driver(kind)
        .workers(1)
        .serve(|| service_fn(app))
        .expect("serve")
}

fn stop(running: Running) {
    util::within(REPLY_LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/upload")
}

on_both_drivers! {
    fn curl_uploads_a_file_that_streams_in_byte_exact(kind: DriverKind) {
        if !util::tls::have("curl", "curl_uploads_a_file_that_streams_in_byte_exact") {
            return;
        }
        let running = start(kind);
        let dir = util::TempDir::new("upload");
        let data = util::pattern(3 << 20, 9);
        let file = dir.join("data");
        std::fs::write(&file, &data).expect("write the upload");
        let at_file = format!("@{}", file.display());
        let expected = |shape: &str| format!("{shape} {} {:x}", data.len(), fnv(FNV_START, &data));
        let addr = running.local_addr();
        // `Expect:` empty: curl sends the body at once, and it streams.
        let streamed = util::curl(&["-H", "Expect:", "--data-binary", &at_file, &url(addr)]);
        assert_eq!(streamed, expected("streamed"));
        let chunked = util::curl(&[
            "-H", "Expect:", "-H", "Transfer-Encoding: chunked",
            "--data-binary", &at_file, &url(addr),
        ]);
        assert_eq!(chunked, expected("streamed"));
        // curl asks for 100 Continue for a body this large: it is gathered.
        let continued = util::curl(&["--data-binary", &at_file, &url(addr)]);
        assert_eq!(continued, expected("whole"));
        let small = util::curl(&["--data-binary", "small body", &url(addr)]);
        assert_eq!(small, format!("whole 10 {:x}", fnv(FNV_START, b"small body")));
        stop(running);
    }
}

on_both_drivers! {
    fn a_body_broken_mid_stream_is_a_500_then_a_close_and_the_server_serves_on(kind: DriverKind) {
        if !util::tls::have("curl", "a_body_broken_mid_stream_is_a_500_then_a_close_and_the_server_serves_on") {
            return;
        }
        let running = start(kind);
        let addr = running.local_addr();
        let mut peer = TcpStream::connect(addr).expect("connect");
        peer.set_read_timeout(Some(REPLY_LIMIT)).expect("timeout");
        peer.write_all(
            b"POST /upload HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n\
              4\r\nabcd\r\nnot-hex\r\n",
        )
        .expect("write");
        let mut reply = Vec::new();
        peer.read_to_end(&mut reply).expect("read to the close");
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 500 "), "{reply}");
        assert_eq!(reply.matches("HTTP/1.1").count(), 1, "one response: {reply}");
        let small = util::curl(&["--data-binary", "next", &url(addr)]);
        assert_eq!(small, format!("whole 4 {:x}", fnv(FNV_START, b"next")));
        stop(running);
    }
}
