//! `TlsStream` on both drivers: ringo against ringo (TLS 1.2 and 1.3, ALPN,
//! resumption, close_notify and half-close, a dropped read), bad input from a
//! raw socket (garbage, an oversized or truncated record, a stall), a TLS 1.2
//! renegotiation attempt (refused with an alert), SNI and
//! certificate checks, and real peers: `openssl s_client` against ringo's
//! server, ringo's client against `openssl s_server`.

use ringo_test_util as util;
use ringo_test_util::tls as tls_util;
use ringo_test_util::{both_drivers, on_both_drivers};

use std::io::{self, Read as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::rustls::{self, ClientConfig, HandshakeKind, ProtocolVersion, RootCertStore};
use ringo_proto::tls::{self, SniResolver, TlsAcceptor, TlsConnector, TlsStream};
use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::DriverKind;
use tls_util::{certs, have, Certs, Reaped};

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("a DNS name")
}

/// A client configuration trusting `certs`' CA that speaks only `version`.
fn client_speaking(
    certs: &Certs,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(certs.ca.clone()).expect("CA");
    let mut config = ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[version])
        .expect("version")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![tls::ALPN_HTTP1.to_vec()];
    Arc::new(config)
}

/// A TLS pair over loopback TCP: (client, server).
async fn tls_pair(
    acceptor: &TlsAcceptor,
    connector: &TlsConnector,
) -> (TlsStream<TcpStream>, TlsStream<TcpStream>) {
    let (client, server) = util::tcp_pair().await;
    let acceptor = acceptor.clone();
    let accepted = ringo_reactor::spawn(async move { acceptor.accept(server).await });
    let client = connector
        .connect(localhost(), client)
        .await
        .expect("client handshake");
    let server = accepted
        .await
        .expect("accept task")
        .expect("server handshake");
    (client, server)
}

/// Echoes until the client's close_notify, then sends its own.
async fn echo_then_close(stream: TlsStream<TcpStream>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (n, filled) = stream.read(buf).await;
        let n = n.expect("echo read");
        if n == 0 {
            break;
        }
        let (written, slice) = stream.write_all(filled.slice(..n)).await;
        buf = slice.into_inner();
        written.expect("echo write");
    }
    stream.shutdown().await.expect("echo close_notify");
}

/// The error kind and message of a failed TLS call.
fn failure<T: std::fmt::Debug>(result: io::Result<T>) -> (io::ErrorKind, String) {
    let e = result.expect_err("the call should fail");
    (e.kind(), e.to_string())
}

both_drivers! {
    async fn echo_over_tls13_and_tls12() {
        let certs = certs("echo CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        for (version, expected) in [
            (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
            (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
        ] {
            let connector = TlsConnector::new(client_speaking(&certs, version));
            let (client, server) = tls_pair(&acceptor, &connector).await;
            assert_eq!(client.protocol_version(), Some(expected));
            assert_eq!(server.protocol_version(), Some(expected));
            assert_eq!(client.alpn_protocol().as_deref(), Some(tls::ALPN_HTTP1));
            assert_eq!(server.server_name().as_deref(), Some("localhost"));
            let echo = ringo_reactor::spawn(echo_then_close(server));
            // Bigger than rustls's buffers and a record, so writes split.
            let sent = util::pattern(300_000, 7);
            let writer = ringo_reactor::spawn({
                let sent = sent.clone();
                let client = std::rc::Rc::new(client);
                let reader = client.clone();
                async move {
                    let (result, _) = client.write_all(sent).await;
                    result.expect("write");
                    client.shutdown().await.expect("close_notify");
                    reader
                }
            });
            let client = writer.await.expect("writer");
            let echoed = util::read_to_end(&*client).await.expect("echo back");
            assert_eq!(echoed.len(), sent.len());
            assert!(echoed == sent, "bytes echoed over {expected:?} differ");
            echo.await.expect("echo task");
        }
    }
}

both_drivers! {
    async fn a_second_connection_resumes_the_session() {
        let certs = certs("resume CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let connector = TlsConnector::new(client_speaking(&certs, version));
            for round in 0..2 {
                let (client, server) = tls_pair(&acceptor, &connector).await;
                let expected = if round == 0 { HandshakeKind::Full } else { HandshakeKind::Resumed };
                assert_eq!(client.handshake_kind(), Some(expected), "round {round}");
                // TLS 1.3 tickets come after the handshake: a reply reads them.
                let echo = ringo_reactor::spawn(echo_then_close(server));
                client.write_all(b"ping".to_vec()).await.0.expect("write");
                let (result, reply) = client.read_exact(vec![0u8; 4]).await;
                result.expect("read the echo");
                assert_eq!(&reply, b"ping");
                client.shutdown().await.expect("shutdown");
                assert_eq!(util::read_to_end(&client).await.expect("end"), b"");
                echo.await.expect("echo task");
            }
        }
    }
}

both_drivers! {
    async fn close_notify_half_closes_and_writing_goes_on() {
        let certs = certs("half-close CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let connector = TlsConnector::new(certs.client_config());
        let (client, server) = tls_pair(&acceptor, &connector).await;
        client.write_all(b"request".to_vec()).await.0.expect("write");
        client.shutdown().await.expect("close_notify");
        let request = util::read_to_end(&server).await.expect("clean end of the client's half");
        assert_eq!(request, b"request");
        server.write_all(b"reply after the client's close".to_vec()).await.0.expect("write");
        server.shutdown().await.expect("close_notify");
        let reply = util::read_to_end(&client).await.expect("clean end");
        assert_eq!(reply, b"reply after the client's close");
    }
}

both_drivers! {
    async fn an_end_without_close_notify_is_an_error() {
        let certs = certs("truncation CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let connector = TlsConnector::new(certs.client_config());
        let (client, server) = tls_pair(&acceptor, &connector).await;
        server.write_all(b"partial".to_vec()).await.0.expect("write");
        server.get_ref().shutdown_std(std::net::Shutdown::Write).expect("TCP shutdown");
        let (result, buf) = client.read(vec![0u8; 64]).await;
        assert_eq!(&buf[..result.expect("data before the end")], b"partial");
        let (kind, message) = failure(util::read_to_end(&client).await);
        assert_eq!(kind, io::ErrorKind::UnexpectedEof, "{message}");
    }
}

both_drivers! {
    async fn a_dropped_read_loses_no_bytes() {
        let certs = certs("cancel CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let connector = TlsConnector::new(certs.client_config());
        let (client, server) = tls_pair(&acceptor, &connector).await;
        for round in 0..3u8 {
            let early = ringo_reactor::time::timeout(Duration::from_millis(20), client.read(vec![0u8; 64])).await;
            assert!(early.is_err(), "nothing was sent yet");
            let message = vec![b'a' + round; 10];
            server.write_all(message.clone()).await.0.expect("write");
            let (result, buf) = client.read_exact(vec![0u8; 10]).await;
            result.expect("the read after a dropped one");
            assert_eq!(buf, message);
        }
    }
}

/// Runs the server side of a handshake against `client_bytes` written raw,
/// then the client's half closed; returns the accept's error and every byte
/// the server sent back.
async fn raw_client_against_server(
    client_bytes: &[u8],
    acceptor: TlsAcceptor,
) -> (io::Error, Vec<u8>) {
    let (client, server) = util::tcp_pair().await;
    let accepted = ringo_reactor::spawn(async move { acceptor.accept(server).await.map(drop) });
    client
        .write_all(client_bytes.to_vec())
        .await
        .0
        .expect("write");
    client.shutdown().await.expect("shutdown");
    let error = accepted
        .await
        .expect("accept task")
        .expect_err("the handshake must fail");
    let reply = util::read_to_end(&client).await.unwrap_or_default();
    (error, reply)
}

/// Whether `reply` is (or starts with) a TLS alert record.
fn is_alert(reply: &[u8]) -> bool {
    reply.len() >= 7 && reply[0] == 0x15 && reply[1] == 0x03
}

both_drivers! {
    async fn garbage_instead_of_a_client_hello_gets_an_alert() {
        let acceptor = TlsAcceptor::new(certs("garbage CA").server_config());
        let (error, reply) = raw_client_against_server(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", acceptor).await;
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert!(is_alert(&reply), "reply {reply:?} is no alert");
    }
}

both_drivers! {
    async fn an_oversized_record_gets_an_alert() {
        let acceptor = TlsAcceptor::new(certs("oversized CA").server_config());
        // A handshake record claiming 65535 bytes: over TLS's 2^14 + 2048.
        let mut record = vec![0x16, 0x03, 0x01, 0xff, 0xff];
        record.extend([0u8; 1000]);
        let (error, reply) = raw_client_against_server(&record, acceptor).await;
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        assert!(is_alert(&reply), "reply {reply:?} is no alert");
    }
}

both_drivers! {
    async fn a_truncated_record_ends_the_handshake() {
        let acceptor = TlsAcceptor::new(certs("truncated CA").server_config());
        // A record header promising 100 bytes, then 10 and the end.
        let mut record = vec![0x16, 0x03, 0x01, 0x00, 0x64];
        record.extend([1u8; 10]);
        let (error, _) = raw_client_against_server(&record, acceptor).await;
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");
    }
}

both_drivers! {
    async fn a_stalled_handshake_times_out() {
        let limit = Duration::from_millis(200);
        let acceptor = TlsAcceptor::new(certs("stall CA").server_config()).handshake_timeout(limit);
        let (client, server) = util::tcp_pair().await;
        // Half a client hello, then silence.
        client.write_all(vec![0x16, 0x03, 0x01]).await.0.expect("write");
        let started = Instant::now();
        let (kind, message) = failure(acceptor.accept(server).await);
        assert_eq!(kind, io::ErrorKind::TimedOut, "{message}");
        assert!(started.elapsed() < limit * 10, "took {:?}", started.elapsed());
        // The server dropped the connection: the client reads its end.
        let (result, _) = client.read(vec![0u8; 16]).timeout(Duration::from_secs(5)).await;
        assert_eq!(result.expect("end of stream"), 0);
    }
}

both_drivers! {
    async fn an_unknown_sni_name_gets_an_alert_unless_a_default_is_set() {
        let certs = certs("sni CA");
        let any_cert = TlsConnector::new(Arc::new(
            tls::dangerous_client_config_accepting_any_certificate_for_tests_only(),
        ));
        let other = ServerName::try_from("other.example").expect("name");
        for with_default in [false, true] {
            let mut resolver = SniResolver::new();
            resolver.add("localhost", vec![certs.leaf.clone()], &certs.key).expect("add");
            if with_default {
                resolver.set_default(vec![certs.leaf.clone()], &certs.key).expect("default");
            }
            let config = tls::server_config_with_resolver(Arc::new(resolver));
            let acceptor = TlsAcceptor::new(Arc::new(config));
            let (client, server) = util::tcp_pair().await;
            let accepted = ringo_reactor::spawn(async move { acceptor.accept(server).await.map(|s| s.server_name()) });
            let connected = any_cert.connect(other.clone(), client).await;
            let accepted = accepted.await.expect("accept task");
            if with_default {
                connected.expect("the default certificate serves unknown names");
                assert_eq!(accepted.expect("accepted").as_deref(), Some("other.example"));
            } else {
                let (kind, message) = failure(connected);
                assert_eq!(kind, io::ErrorKind::InvalidData);
                assert!(message.contains("alert"), "client saw no alert: {message}");
                assert!(accepted.is_err());
            }
        }
    }
}

both_drivers! {
    async fn a_certificate_from_another_ca_is_refused() {
        let server_certs = certs("server's CA");
        let other = certs("some other CA");
        let acceptor = TlsAcceptor::new(server_certs.server_config());
        let connector = TlsConnector::new(other.client_config());
        let (client, server) = util::tcp_pair().await;
        let accepted = ringo_reactor::spawn(async move { acceptor.accept(server).await.map(drop) });
        let error = connector.connect(localhost(), client).await.expect_err("untrusted certificate");
        let cause = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        assert!(matches!(cause, Some(rustls::Error::InvalidCertificate(_))), "{error:?}");
        let _ = accepted.await;
    }
}

both_drivers! {
    async fn a_certificate_for_another_name_is_refused() {
        let certs = certs("name CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let connector = TlsConnector::new(certs.client_config());
        let (client, server) = util::tcp_pair().await;
        let accepted = ringo_reactor::spawn(async move { acceptor.accept(server).await.map(drop) });
        let name = ServerName::try_from("other.example").expect("name");
        let error = connector.connect(name, client).await.expect_err("wrong name");
        let cause = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        assert!(
            matches!(cause, Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                ))),
            "{error:?}"
        );
        let _ = accepted.await;
    }
}

/// Starts a TLS server thread on `kind` that greets each client and closes.
fn greeting_server(kind: DriverKind, certs: &Certs) -> Option<std::net::SocketAddr> {
    let acceptor = TlsAcceptor::new(certs.server_config());
    util::server_thread(kind, move || {
        move |tcp: TcpStream| {
            let acceptor = acceptor.clone();
            async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = tls.write_all(b"hello from ringo\n".to_vec()).await;
                let _ = tls.shutdown().await;
                let _ = util::read_to_end(&tls).await;
            }
        }
    })
}

on_both_drivers! {
    fn openssl_s_client_talks_tls12_and_tls13(kind: DriverKind) {
        if !have("openssl", "openssl_s_client_talks_tls12_and_tls13") {
            return;
        }
        let certs = certs("s_client CA");
        let Some(addr) = greeting_server(kind, &certs) else { return };
        for (flag, name) in [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")] {
            let ca = certs.ca_pem.display().to_string();
            let connect = addr.to_string();
            let output = util::within(LIMIT, "openssl s_client", move || {
                Command::new("openssl")
                    .args(["s_client", "-connect", &connect, flag, "-CAfile", &ca, "-servername", "localhost", "-alpn", "http/1.1", "-ign_eof"])
                    .stdin(Stdio::null())
                    .output()
                    .expect("run openssl")
            });
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains("hello from ringo"), "{flag}: {stdout}");
            assert!(stdout.contains(&format!("Protocol  : {name}")) || stdout.contains(&format!("New, {name}")), "{flag}: {stdout}");
            assert!(stdout.contains("Verify return code: 0 (ok)"), "{flag}: {stdout}");
            assert!(stdout.contains("ALPN protocol: http/1.1"), "{flag}: {stdout}");
        }
    }
}

on_both_drivers! {
    fn ringo_client_against_openssl_s_server(kind: DriverKind) {
        if !have("openssl", "ringo_client_against_openssl_s_server") {
            return;
        }
        let certs = certs("s_server CA");
        for (flag, version) in [("-tls1_3", ProtocolVersion::TLSv1_3), ("-tls1_2", ProtocolVersion::TLSv1_2)] {
            let port = tls_util::free_port();
            let server = Command::new("openssl")
                .args(["s_server", "-accept", &port.to_string(), "-cert"])
                .arg(&certs.cert_pem)
                .arg("-key")
                .arg(&certs.key_pem)
                .args([flag, "-www", "-naccept", "1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start openssl s_server");
            let mut server = Reaped(server);
            let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
            tls_util::wait_listening_tls(addr, &mut server.0);
            let connector = TlsConnector::new(certs.client_config());
            util::run_on(kind, || async move {
                let tcp = TcpStream::connect(addr).await.expect("connect");
                let tls = connector.connect(localhost(), tcp).await.expect("handshake with s_server");
                assert_eq!(tls.protocol_version(), Some(version));
                tls.write_all(b"GET / HTTP/1.0\r\n\r\n".to_vec()).await.0.expect("request");
                let mut page = Vec::new();
                loop {
                    let (result, buf) = tls.read(vec![0u8; 4096]).await;
                    match result {
                        Ok(0) => break,
                        Ok(n) => page.extend_from_slice(&buf[..n]),
                        // s_server may close without close_notify.
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                        Err(e) => panic!("reading s_server's page: {e}"),
                    }
                }
                let page = String::from_utf8_lossy(&page);
                assert!(page.starts_with("HTTP/1.0 200 ok"), "{page}");
            });
            let mut stderr = String::new();
            let _ = server.0.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
        }
    }
}

on_both_drivers! {
    fn a_renegotiation_attempt_gets_an_alert_and_the_server_goes_on(kind: DriverKind) {
        if !have("openssl", "a_renegotiation_attempt_gets_an_alert_and_the_server_goes_on") {
            return;
        }
        let certs = certs("renegotiation CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let Some(addr) = util::server_thread(kind, move || {
            move |tcp: TcpStream| {
                let acceptor = acceptor.clone();
                async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        echo_then_close(tls).await;
                    }
                }
            }
        }) else {
            return;
        };
        let ca = certs.ca_pem.display().to_string();
        let output = util::within(LIMIT, "openssl s_client renegotiating", move || {
            let mut child = Command::new("openssl")
                .args(["s_client", "-connect", &addr.to_string(), "-tls1_2", "-CAfile", &ca])
                .args(["-servername", "localhost"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run openssl");
            // "R" at the start of a line asks s_client to renegotiate; the
            // stdin stays open, so only the server's answer ends the client.
            let mut stdin = child.stdin.take().expect("stdin");
            std::io::Write::write_all(&mut stdin, b"R\n").expect("ask for renegotiation");
            let output = child.wait_with_output().expect("s_client ends");
            drop(stdin);
            output
        });
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(all.contains("RENEGOTIATING"), "{all}");
        assert!(all.contains("no renegotiation"), "the server refuses with its alert: {all}");
        // The server still serves.
        util::run_on(kind, || async move {
            let connector = TlsConnector::new(certs.client_config());
            let tcp = TcpStream::connect(addr).await.expect("connect");
            let tls = connector.connect(localhost(), tcp).await.expect("handshake after");
            tls.write_all(b"still here".to_vec()).await.0.expect("write");
            let (result, buf) = tls.read_exact(vec![0u8; 10]).await;
            result.expect("echo");
            assert_eq!(&buf, b"still here");
        });
    }
}

/// How long a peer process may take.
const LIMIT: Duration = Duration::from_secs(20);

both_drivers! {
    async fn the_system_roots_load_and_do_not_trust_a_test_ca() {
        if !std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
            eprintln!("SKIPPED: the_system_roots_load_and_do_not_trust_a_test_ca: no ca-certificates bundle");
            return;
        }
        let config = tls::client_config_with_system_roots().expect("system roots");
        let certs = certs("not a system CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let (client, server) = util::tcp_pair().await;
        let accepted = ringo_reactor::spawn(async move { acceptor.accept(server).await.map(drop) });
        let error = TlsConnector::new(Arc::new(config))
            .connect(localhost(), client)
            .await
            .expect_err("a test CA is in no system store");
        let cause = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        assert!(
            matches!(cause, Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))),
            "{error:?}"
        );
        let _ = accepted.await;
    }
}

both_drivers! {
    async fn multiplexed_calls_run_over_tls_unchanged() {
        use ringo_proto::codec::LinesCodec;
        use ringo_proto::multiplex::{Client, Server, TaggedCodec};
        const CALLS: u64 = 200;
        let certs = certs("multiplex CA");
        let acceptor = TlsAcceptor::new(certs.server_config());
        let connector = TlsConnector::new(certs.client_config());
        let (client_io, server_io) = tls_pair(&acceptor, &connector).await;
        let handler = |request: String| async move {
            // Answers come back out of order: 0-20 ms by request number.
            let n: u64 = request.parse().unwrap_or(0);
            ringo_reactor::time::sleep(Duration::from_millis(n.wrapping_mul(7919) % 21)).await;
            Ok::<_, io::Error>(format!("re: {request}"))
        };
        let server = ringo_reactor::spawn(async move {
            let framed = ringo_proto::Framed::new(server_io, TaggedCodec::new(LinesCodec::new()));
            Server::new().serve(framed, handler, ()).await
        });
        let (client, connection) = Client::new(ringo_proto::Framed::new(
            client_io,
            TaggedCodec::new(LinesCodec::new()),
        ));
        let connection = ringo_reactor::spawn(connection.run());
        let calls: Vec<_> = (0..CALLS)
            .map(|i| {
                let client = client.clone();
                ringo_reactor::spawn(async move { (i, client.call(i.to_string()).await) })
            })
            .collect();
        for call in calls {
            let (i, answer) = call.await.expect("call task");
            assert_eq!(answer.expect("call"), format!("re: {i}"));
        }
        drop(client);
        connection.await.expect("connection task").expect("the client ends cleanly");
        // The client's connection closes its stream by dropping it, with no
        // close_notify: over TLS the server sees an unsigned end, which
        // TlsStream reports rather than passing it off as a clean one.
        match server.await.expect("server task") {
            Ok(()) => {}
            Err(e) => assert!(
                format!("{e:?}").contains("UnexpectedEof"),
                "the server ends at the client's close: {e:?}"
            ),
        }
    }
}
