//! `http::Client` on both drivers, against a server nobody here wrote
//! (`python3 -m http.server`, which answers in HTTP/1.0 and closes after each
//! response) and against ringo's own `serve_connection` for keep-alive,
//! pipelining and `Connection: close`; plus request and connect failures:
//! a server that never answers, a refused connection, URIs the client cannot
//! serve, and the response body limit at N and N + 1.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util as util;
use ringo_test_util::both_drivers;
use util::refused_addr;

use std::cell::Cell;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode, Uri};
use ringo_proto::http::{serve_connection, ServerConfig};
use ringo_reactor::net::TcpListener;
use ringo_reactor::JoinHandle;
use ringo_service::http::{Client, RequestError};
use ringo_service::pool::PoolError;
use ringo_service::{Error, ErrorKind, Service};

use util::{any_local, pattern, TempDir};

/// `python3 -m http.server` serving a directory on a loopback port it picked;
/// killed on drop.
struct PythonServer {
    child: Child,
    port: u16,
}

impl PythonServer {
    fn serve(dir: &TempDir) -> PythonServer {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (ci/install-deps.sh installs it)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read python's banner");
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|word| *word != "port")
            .nth(1)
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in python's banner {line:?}"));
        PythonServer { child, port }
    }

    fn uri(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ringo's HTTP/1.1 server on a loopback port, counting the connections it
/// accepted; answers each request with `handler`.
struct RingoServer {
    addr: SocketAddr,
    accepted: Rc<Cell<usize>>,
    task: JoinHandle<()>,
}

impl RingoServer {
    fn start(handler: fn(Request<Bytes>) -> Response<Bytes>) -> RingoServer {
        let listener = TcpListener::bind(any_local()).expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let accepted = Rc::new(Cell::new(0));
        let count = accepted.clone();
        let task = ringo_reactor::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.set(count.get() + 1);
                ringo_reactor::spawn(async move {
                    let answer = |request| async move { Ok::<_, Infallible>(handler(request)) };
                    let config = ServerConfig::default();
                    let _ = serve_connection(stream, &config, answer, std::future::pending()).await;
                });
            }
        });
        RingoServer {
            addr,
            accepted,
            task,
        }
    }

    fn uri(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RingoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers with the request's method, target and `Host` field.
fn describe(request: Request<Bytes>) -> Response<Bytes> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("-");
    let text = format!(
        "{} {} {host} {}",
        request.method(),
        request.uri(),
        request.body().len()
    );
    Response::new(Bytes::from(text))
}

/// Answers, then closes the connection.
fn close_after(request: Request<Bytes>) -> Response<Bytes> {
    let mut response = describe(request);
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// Answers with as many bytes as the path's number says.
fn sized(request: Request<Bytes>) -> Response<Bytes> {
    let len = request
        .uri()
        .path()
        .trim_start_matches('/')
        .parse()
        .unwrap_or(0);
    Response::new(Bytes::from(vec![b'x'; len]))
}

fn body_text(response: &Response<Bytes>) -> &str {
    std::str::from_utf8(response.body()).expect("utf-8 body")
}

both_drivers! {
    async fn a_file_from_python_http_server_arrives_byte_exact() {
        if !util::tls::have("python3", "a_file_from_python_http_server_arrives_byte_exact") {
            return;
        }
        let dir = TempDir::new("http-client");
        let content = pattern(300_000, 7);
        std::fs::write(dir.join("data.bin"), &content).expect("write the file");
        let python = PythonServer::serve(&dir);
        let client = Client::new();
        let response = client.get(python.uri("/data.bin")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body().len(), content.len());
        assert!(response.body()[..] == content[..], "body differs from the file");
    }
}

both_drivers! {
    async fn a_missing_file_on_python_http_server_is_a_404_response() {
        if !util::tls::have("python3", "a_missing_file_on_python_http_server_is_a_404_response") {
            return;
        }
        let dir = TempDir::new("http-client");
        let python = PythonServer::serve(&dir);
        let client = Client::new();
        let response = client.get(python.uri("/no-such-file")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

both_drivers! {
    async fn sequential_gets_to_a_closing_http_1_0_server_reconnect_each_time() {
        if !util::tls::have("python3", "sequential_gets_to_a_closing_http_1_0_server_reconnect_each_time") {
            return;
        }
        let dir = TempDir::new("http-client");
        std::fs::write(dir.join("a.txt"), b"hello").expect("write the file");
        let python = PythonServer::serve(&dir);
        let client = Client::new();
        for n in 0..5 {
            let response = client.get(python.uri("/a.txt")).await.unwrap();
            assert_eq!(response.body().as_ref(), b"hello", "get {n}");
        }
        let uri: Uri = python.uri("/").parse().unwrap();
        assert_eq!(client.connections(&uri), 0, "no closed connection is kept");
    }
}

both_drivers! {
    async fn ten_sequential_gets_reuse_one_keep_alive_connection() {
        let server = RingoServer::start(describe);
        let client = Client::new();
        for n in 0..10 {
            let response = client.get(server.uri(&format!("/item/{n}?q=1"))).await.unwrap();
            let expected = format!("GET /item/{n}?q=1 {} 0", server.addr);
            assert_eq!(body_text(&response), expected, "origin-form target and Host");
        }
        assert_eq!(server.accepted.get(), 1);
    }
}

both_drivers! {
    async fn a_host_field_already_set_is_kept_and_a_body_is_sent() {
        let server = RingoServer::start(describe);
        let client = Client::new();
        let request = Request::post(server.uri(""))
            .header(header::HOST, "example.test")
            .body(Bytes::from_static(b"12345"))
            .unwrap();
        let response = client.call(request).await.unwrap();
        assert_eq!(body_text(&response), "POST / example.test 5");
    }
}

both_drivers! {
    async fn a_server_closing_after_each_response_gets_a_new_connection_per_request() {
        let server = RingoServer::start(close_after);
        let client = Client::new();
        for n in 0..5 {
            let response = client.get(server.uri("/")).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "get {n}");
        }
        assert_eq!(server.accepted.get(), 5);
    }
}

both_drivers! {
    async fn concurrent_requests_pipeline_on_one_connection_when_allowed() {
        let server = RingoServer::start(describe);
        let client = Client::builder().max_pipelined(8).build();
        let calls: Vec<_> = (0..8)
            .map(|n| {
                let client = client.clone();
                let uri = server.uri(&format!("/{n}"));
                ringo_reactor::spawn(async move { client.get(uri).await })
            })
            .collect();
        for (n, call) in calls.into_iter().enumerate() {
            let response = call.await.unwrap().unwrap();
            assert!(body_text(&response).starts_with(&format!("GET /{n} ")), "answer {n} in order");
        }
        assert_eq!(server.accepted.get(), 1);
    }
}

both_drivers! {
    async fn the_request_timeout_fires_against_a_server_that_never_answers() {
        let listener = std::net::TcpListener::bind(any_local()).expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        // Accepts and holds connections without a word, until the test ends.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
        });
        let client = Client::builder().request_timeout(Duration::from_millis(100)).build();
        let error = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        let uri: Uri = format!("http://{addr}/").parse().unwrap();
        assert_eq!(client.connections(&uri), 0, "the abandoned connection is retired");
    }
}

both_drivers! {
    async fn a_refused_connection_is_unavailable() {
        let (_held, addr) = refused_addr();
        let client = Client::new();
        let error = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
        let PoolError::Connect(cause) = error.downcast_ref::<PoolError>().expect("a pool error")
        else {
            panic!("not a connect failure: {error}");
        };
        let io = cause.downcast_ref::<std::io::Error>().expect("an io error");
        assert_eq!(cause.kind(), ErrorKind::Inner);
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        // The pool backs off: the next call fails at once without connecting.
        let again = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert!(matches!(again.downcast_ref::<PoolError>(), Some(PoolError::BackingOff { .. })));
    }
}

both_drivers! {
    async fn uris_the_client_cannot_serve_fail_before_connecting() {
        let client = Client::new();
        let cases: [(&str, Request<Bytes>, &str); 3] = [
            (
                "other scheme",
                Request::get("ftp://127.0.0.1:1/").body(Bytes::new()).unwrap(),
                "scheme ftp not supported: only http and https",
            ),
            (
                "origin form",
                Request::get("/path").body(Bytes::new()).unwrap(),
                "uri /path not in absolute form http://host[:port]/path",
            ),
            (
                "connect",
                Request::connect("http://127.0.0.1:1/").body(Bytes::new()).unwrap(),
                "method CONNECT not supported",
            ),
        ];
        for (name, request, message) in cases {
            let error = client.call(request).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Inner, "{name}");
            assert!(error.downcast_ref::<RequestError>().is_some(), "{name}: {error}");
            assert_eq!(error.to_string(), message, "{name}");
        }
    }
}

both_drivers! {
    async fn a_body_at_the_limit_is_gathered_and_one_byte_over_fails() {
        let server = RingoServer::start(sized);
        let client = Client::builder().max_body(1000).build();
        let at_limit = client.get(server.uri("/1000")).await.unwrap();
        assert_eq!(at_limit.body().len(), 1000);
        let error: Error = client.get(server.uri("/1001")).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Inner, "{error}");
        let cause = error.downcast_ref::<ringo_proto::http::Error>().expect("a codec error");
        assert_eq!(cause.to_string(), "body length 1001 over limit 1000");
        let after = client.get(server.uri("/5")).await.unwrap();
        assert_eq!(after.body().len(), 5, "the client works on after the error");
        assert_eq!(server.accepted.get(), 2, "the failed connection was not reused");
    }
}
