//! The HTTP/1.1 server against a real client nobody here wrote: curl.
//!
//! Each case starts a server on its own thread (one runtime of the driver under
//! test), then runs `curl` as a child process with a time limit. Both drivers.

// The shared test helpers (ringo-test-util): on_both_drivers! and the server thread.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use ringo_proto::http::{serve_connection, ServerConfig};
use ringo_reactor::DriverKind;

/// Starts an HTTP server on `kind` with the default configuration.
fn start_server(kind: DriverKind) -> Option<(SocketAddr, Arc<AtomicUsize>)> {
    start_server_with(kind, ServerConfig::default())
}

/// Starts an HTTP server on `kind` that answers `GET` with "hello" and echoes
/// any other request's body; returns its address and its accepted-connection
/// count, or `None` where io_uring is declared unavailable.
fn start_server_with(
    kind: DriverKind,
    config: ServerConfig,
) -> Option<(SocketAddr, Arc<AtomicUsize>)> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let addr = util::server_thread(kind, move || {
        move |stream| {
            counter.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            async move {
                let _ = serve_connection(stream, &config, handle, std::future::pending()).await;
            }
        }
    })?;
    Some((addr, accepted))
}

async fn handle(request: Request<Bytes>) -> Result<Response<Bytes>, std::convert::Infallible> {
    if request.method() == http::Method::GET {
        return Ok(Response::new(Bytes::from_static(b"hello")));
    }
    let body = request.into_body();
    Ok(Response::new(
        Bytes::from(format!("got {} bytes: ", body.len()))
            .into_iter()
            .chain(body)
            .collect(),
    ))
}

/// Runs curl with a hard time limit; returns (stdout, stderr).
fn curl(args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl is installed (ci/install-deps.sh installs it)");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn curl_get(kind: DriverKind) {
    if !util::tls::have("curl", "curl_get") {
        return;
    }
    let Some((addr, _)) = start_server(kind) else {
        return;
    };
    let (body, _) = curl(&[&format!("http://{addr}/")]);
    assert_eq!(body, "hello");
}
on_both_drivers!(curl_get);

fn curl_post_with_chunked_body(kind: DriverKind) {
    if !util::tls::have("curl", "curl_post_with_chunked_body") {
        return;
    }
    let Some((addr, _)) = start_server(kind) else {
        return;
    };
    let payload = "x".repeat(100_000);
    let (body, _) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &payload,
        &format!("http://{addr}/upload"),
    ]);
    assert_eq!(body, format!("got 100000 bytes: {payload}"));
}
on_both_drivers!(curl_post_with_chunked_body);

fn curl_reuses_one_keep_alive_connection(kind: DriverKind) {
    if !util::tls::have("curl", "curl_reuses_one_keep_alive_connection") {
        return;
    }
    let Some((addr, accepted)) = start_server(kind) else {
        return;
    };
    let url = format!("http://{addr}/");
    let (body, stderr) = curl(&["-v", &url, &url, &url]);
    assert_eq!(body, "hellohellohello");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "three requests over one connection; curl said: {stderr}"
    );
}
on_both_drivers!(curl_reuses_one_keep_alive_connection);

fn curl_expect_continue_gets_interim_response(kind: DriverKind) {
    if !util::tls::have("curl", "curl_expect_continue_gets_interim_response") {
        return;
    }
    let Some((addr, _)) = start_server(kind) else {
        return;
    };
    let payload = "y".repeat(4096);
    let (body, stderr) = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "15",
        "--data-binary",
        &payload,
        &format!("http://{addr}/"),
    ]);
    assert_eq!(body, format!("got 4096 bytes: {payload}"));
    assert!(
        stderr.contains("HTTP/1.1 100 Continue"),
        "server sent 100 Continue; curl said: {stderr}"
    );
}
on_both_drivers!(curl_expect_continue_gets_interim_response);

fn curl_http10_connection_is_closed_after_the_response(kind: DriverKind) {
    if !util::tls::have(
        "curl",
        "curl_http10_connection_is_closed_after_the_response",
    ) {
        return;
    }
    let Some((addr, _)) = start_server(kind) else {
        return;
    };
    let (body, stderr) = curl(&["-v", "--http1.0", &format!("http://{addr}/")]);
    assert_eq!(body, "hello");
    assert!(
        !stderr.contains("left intact"),
        "an HTTP/1.0 connection must not be kept: {stderr}"
    );
}
on_both_drivers!(curl_http10_connection_is_closed_after_the_response);

fn malformed_request_gets_400_and_close(kind: DriverKind) {
    let Some((addr, _)) = start_server(kind) else {
        return;
    };
    let reply = util::exchange_until_close(
        addr,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
    );
    let reply = String::from_utf8(reply).expect("a UTF-8 reply");
    let first = reply
        .find("HTTP/1.1 200 OK")
        .expect("the good request is answered first");
    let second = reply
        .find("HTTP/1.1 400 Bad Request")
        .expect("then the bad one gets 400");
    assert!(first < second, "responses in request order: {reply}");
    assert!(reply.ends_with("\n"), "then the connection closes: {reply}");
}
on_both_drivers!(malformed_request_gets_400_and_close);

fn slow_loris_is_cut_off(kind: DriverKind) {
    let config = ServerConfig {
        request_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let Some((addr, _)) = start_server_with(kind, config) else {
        return;
    };
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .unwrap();
    let mut rest = Vec::new();
    let closed = stream.read_to_end(&mut rest);
    assert!(
        closed.is_ok(),
        "the server closes a connection that never finishes its head"
    );
}
on_both_drivers!(slow_loris_is_cut_off);
