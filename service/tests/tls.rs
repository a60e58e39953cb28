//! HTTPS and RESP over TLS through the service layer, on both drivers:
//! `http::Server::tls` against curl (TLS 1.2 and 1.3, keep-alive) and against
//! ringo's own `http::Client` (pooled keep-alive over TLS), a refused
//! certificate reported as `ErrorKind::Tls`, bad handshakes that must not
//! cost a connection slot, and `redis::Client`/`Pool` over TLS against
//! ringo's RESP server and against `redis-server --tls-port`.

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;
use ringo_test_util::tls as tls_util;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::TlsConnector;
use ringo_reactor::DriverKind;
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::redis::{self, Commands, Frame, Pool};
use ringo_service::server::Running;
use ringo_service::{service_fn, ErrorKind};
use tls_util::{certs, have, Certs, Reaped};

const LIMIT: Duration = Duration::from_secs(20);

/// An HTTPS server on `kind` answering every request with its path.
fn https_server(kind: DriverKind, certs: &Certs, server: ringo_http::Server) -> Option<Running> {
    let server = server.driver(kind).tls(certs.server_config());
    let started = server.serve(|| {
        service_fn(|request: Request<Body>| async move {
            let reply = format!("hello {}", request.uri().path());
            Ok::<_, Infallible>(Response::new(Body::from(reply)))
        })
    });
    util::unless_no_uring(kind, "start the HTTPS server", started)
}

fn bind() -> ringo_http::Server {
    ringo_http::Server::bind(util::any_local()).workers(1)
}

/// Everything `stream` receives until the server closes it.
fn read_until_closed(mut stream: std::net::TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("the server closes the connection");
    reply
}

fn stop(running: Running) {
    util::within(LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
}

/// curl fetching `paths` from `running` over one connection, `versions`
/// being curl's TLS version flags; returns what it printed.
fn curl_https(certs: &Certs, running: &Running, versions: &[&str], paths: &[&str]) -> String {
    let port = running.local_addr().port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let ca = certs.ca_pem.display().to_string();
    let mut args: Vec<String> = [
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "-w",
        " connects=%{num_connects} http=%{http_version}\n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(versions.iter().map(|s| s.to_string()));
    args.extend(
        paths
            .iter()
            .map(|path| format!("https://localhost:{port}{path}")),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    util::curl(&args)
}

on_both_drivers! {
    fn curl_fetches_https_on_tls12_and_tls13_over_one_connection(kind: DriverKind) {
        if !have("curl", "curl_fetches_https_on_tls12_and_tls13_over_one_connection") {
            return;
        }
        let certs = certs("curl CA");
        let Some(running) = https_server(kind, &certs, bind()) else { return };
        for versions in [&["--tlsv1.3"][..], &["--tlsv1.2", "--tls-max", "1.2"][..]] {
            let out = curl_https(&certs, &running, versions, &["/a", "/b"]);
            assert_eq!(
                out,
                "hello /a connects=1 http=1.1\nhello /b connects=0 http=1.1\n",
                "curl {versions:?}"
            );
        }
        stop(running);
    }
}

on_both_drivers! {
    fn a_stalled_handshake_frees_its_connection_slot(kind: DriverKind) {
        if !have("curl", "a_stalled_handshake_frees_its_connection_slot") {
            return;
        }
        let certs = certs("slot CA");
        // One connection at a time: a stalled handshake holding its slot
        // past the timeout would starve curl.
        let server = bind().max_connections(1);
        let timeout = Duration::from_millis(300);
        let Some(running) = https_server(kind, &certs, server.tls_handshake_timeout(timeout)) else { return };
        let addr = running.local_addr();
        let mut garbage = std::net::TcpStream::connect(addr).expect("connect");
        garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write garbage");
        assert_eq!(read_until_closed(garbage).first(), Some(&0x15), "garbage gets an alert");
        let mut stalled = std::net::TcpStream::connect(addr).expect("connect");
        stalled.write_all(&[0x16, 0x03, 0x01]).expect("half a record");
        let started = std::time::Instant::now();
        assert_eq!(read_until_closed(stalled), b"", "a stalled client gets no bytes");
        let waited = started.elapsed();
        assert!(waited >= timeout / 2 && waited < LIMIT / 2, "closed after {waited:?}");
        let out = curl_https(&certs, &running, &[], &["/after"]);
        assert!(out.starts_with("hello /after"), "{out}");
        stop(running);
    }
}

on_both_drivers! {
    fn the_http_client_fetches_https_over_a_pooled_connection(kind: DriverKind) {
        let certs = certs("client CA");
        let Some(running) = https_server(kind, &certs, bind()) else { return };
        let port = running.local_addr().port();
        let client_config = certs.client_config();
        util::run_on(kind, || async move {
            let client = ringo_http::Client::builder().tls_config(client_config).build();
            for path in ["/one", "/two", "/three"] {
                let uri = format!("https://localhost:{port}{path}");
                let response = client.get(uri.as_str()).await.expect("https GET");
                assert_eq!(response.body(), &Bytes::from(format!("hello {path}")));
            }
            let uri: http::Uri = format!("https://localhost:{port}/").parse().expect("uri");
            assert_eq!(client.connections(&uri), 1, "three requests, one kept-alive connection");
        });
        stop(running);
    }
}

on_both_drivers! {
    fn a_refused_certificate_is_error_kind_tls(kind: DriverKind) {
        let certs = certs("the server's CA");
        let Some(running) = https_server(kind, &certs, bind()) else { return };
        let port = running.local_addr().port();
        let other = tls_util::certs("another CA").client_config();
        util::run_on(kind, || async move {
            let client = ringo_http::Client::builder().tls_config(other).build();
            let error = client.get(format!("https://localhost:{port}/").as_str()).await.expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        });
        stop(running);
    }
}

/// A RESP server over TLS answering PING (any one-word command) with PONG.
fn resp_server(kind: DriverKind, certs: &Certs) -> Option<Running> {
    let server = redis::Server::bind(util::any_local())
        .workers(1)
        .driver(kind)
        .tls(certs.server_config());
    let started = server.serve(|| {
        service_fn(|frame: Frame| async move {
            let reply = match &frame {
                Frame::Array(words) if words.len() == 1 => {
                    Frame::Simple(Bytes::from_static(b"PONG"))
                }
                _ => frame,
            };
            Ok::<_, Infallible>(reply)
        })
    });
    util::unless_no_uring(kind, "start the RESP server", started)
}

/// The redis client and pool over TLS against `addr`, whose certificate is
/// for localhost signed by `certs`' CA.
async fn redis_client_and_pool(
    addr: SocketAddr,
    certs_config: std::sync::Arc<ringo_proto::tls::rustls::ClientConfig>,
) {
    let connector = TlsConnector::new(certs_config);
    let name = ServerName::try_from("localhost").expect("name");
    let client = redis::Client::connect_tls(addr, &connector, name.clone())
        .await
        .expect("connect");
    client.ping().await.expect("PING over TLS");
    let pool = Pool::builder(addr).size(2).tls(connector, name).build();
    let reply = pool
        .call(redis::command(["PING"]))
        .await
        .expect("pool PING");
    assert_eq!(reply, Frame::Simple(Bytes::from_static(b"PONG")));
}

on_both_drivers! {
    fn the_redis_client_and_pool_speak_tls_to_ringo(kind: DriverKind) {
        let certs = certs("resp CA");
        let Some(running) = resp_server(kind, &certs) else { return };
        let addr = running.local_addr();
        let config = certs.client_config();
        util::run_on(kind, || async move {
            redis_client_and_pool(addr, config).await;
        });
        stop(running);
    }
}

on_both_drivers! {
    fn the_redis_client_speaks_tls_to_redis_server(kind: DriverKind) {
        if !have("redis-server", "the_redis_client_speaks_tls_to_redis_server") {
            return;
        }
        let certs = certs("redis-server CA");
        let port = tls_util::free_port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--save", "", "--appendonly", "no", "--tls-auth-clients", "no"])
            .arg("--tls-cert-file").arg(&certs.cert_pem)
            .arg("--tls-key-file").arg(&certs.key_pem)
            .arg("--tls-ca-cert-file").arg(&certs.ca_pem)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let mut child = Reaped(child);
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        tls_util::wait_listening_tls(addr, &mut child.0);
        let config = certs.client_config();
        util::run_on(kind, || async move {
            redis_client_and_pool(addr, config).await;
        });
    }
}
