//! Multiplexed dispatch over loopback TCP, on both drivers: out-of-order answers
//! reaching the right callers, the server's in-flight bound, protocol errors on
//! either side (unknown response tag, duplicate request tag), tag reuse under
//! generations, and how calls fail when the connection ends.
//!
//! Fake peers are written by hand with `Framed` and `TaggedCodec`, so each test
//! controls exactly which tags cross the socket.

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use ringo_proto::codec::{Encoder, LinesCodec, LinesCodecError};
use ringo_proto::multiplex::{
    Client, ClientErrorKind, Protocol, Server, ServerError, Tag, TaggedCodec, TaggedCodecError,
};
use ringo_proto::Framed;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::net::TcpStream;
use ringo_reactor::task::yield_now;
use ringo_reactor::time::{sleep, timeout};
use util::tcp_pair_nodelay;

type Codec = TaggedCodec<LinesCodec>;
type Error = ServerError<TaggedCodecError<LinesCodecError>, io::Error>;

fn codec() -> Codec {
    TaggedCodec::new(LinesCodec::new())
}

/// Answers a decode error with `error: <error>` under tag 0.
struct ErrorReplies;

impl Protocol<Codec, (Tag, String)> for ErrorReplies {
    fn error_reply(&mut self, e: &TaggedCodecError<LinesCodecError>) -> Option<(Tag, String)> {
        Some((0, format!("error: {e}")))
    }
}

/// Shuts the server down when its future completes.
struct ShutdownOn<S>(Pin<Box<S>>);

impl<S: Future<Output = ()>> Protocol<Codec, (Tag, String)> for ShutdownOn<S> {
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// A tag's slot index: its low 16 bits.
fn slot(tag: Tag) -> Tag {
    tag & 0xffff
}

/// Serves `io` with a handler that answers `re: <request>` after the delay
/// `delay(request)`, and fails for the request `fail`.
async fn echo_server(
    server: Server,
    io: TcpStream,
    delay: impl Fn(&str) -> Duration + 'static,
) -> Result<(), Error> {
    let delay = Rc::new(delay);
    let handler = move |request: String| {
        let delay = delay.clone();
        async move {
            sleep(delay(&request)).await;
            if request == "fail" {
                return Err(io::Error::other("handler refused the request"));
            }
            Ok(format!("re: {request}"))
        }
    };
    server.serve(Framed::new(io, codec()), handler, ()).await
}

/// Encodes `frames` into one buffer, as a hand-written client would send them.
fn encode_all(frames: impl IntoIterator<Item = (Tag, String)>) -> Vec<u8> {
    let mut codec = codec();
    let mut buf = BytesMut::new();
    for frame in frames {
        codec.encode(frame, &mut buf).expect("encode a test frame");
    }
    buf.to_vec()
}

/// A loopback connection whose client side comes as two streams on one socket,
/// so one task can write while another reads: (client read, client write, server).
fn split_pair() -> (TcpStream, TcpStream, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = std::net::TcpStream::connect(listener.local_addr().expect("address"))
        .expect("connect to loopback");
    let (server, _) = listener.accept().expect("accept");
    let writer = client.try_clone().expect("clone the client socket");
    let wrap = |s: std::net::TcpStream| TcpStream::from_std(s).expect("adopt a std socket");
    (wrap(client), wrap(writer), wrap(server))
}

both_drivers! {
    async fn answers_completing_out_of_order_reach_their_own_callers() {
        const CALLS: u64 = 200;
        let (client_io, server_io) = tcp_pair_nodelay().await;
        // A pseudo-random 0-20 ms per request, fixed by the request's number.
        let delay = |request: &str| {
            let n: u64 = request.parse().unwrap_or(0);
            Duration::from_millis(n.wrapping_mul(7919) % 21)
        };
        let server = ringo_reactor::spawn(echo_server(Server::new(), server_io, delay));
        let (client, connection) = Client::new(Framed::new(client_io, codec()));
        let connection = ringo_reactor::spawn(connection.run());
        let finished = Rc::new(RefCell::new(Vec::new()));
        let calls: Vec<_> = (0..CALLS)
            .map(|i| {
                let client = client.clone();
                let finished = finished.clone();
                ringo_reactor::spawn(async move {
                    let answer = client.call(i.to_string()).await;
                    finished.borrow_mut().push(i);
                    (i, answer)
                })
            })
            .collect();
        for call in calls {
            let (i, answer) = call.await.expect("call task");
            assert_eq!(answer.expect("call").as_str(), format!("re: {i}"), "call {i}");
        }
        let order = finished.borrow().clone();
        assert_eq!(order.len(), CALLS as usize);
        assert!(order.windows(2).any(|w| w[0] > w[1]), "answers came in call order: {order:?}");
        assert_eq!(client.outstanding(), 0);
        drop(client);
        connection.await.expect("connection task").expect("connection ends cleanly");
        server.await.expect("server task").expect("server ends cleanly");
    }
}

both_drivers! {
    async fn the_server_runs_at_most_max_in_flight_handlers_during_a_flood() {
        const REQUESTS: u32 = 5_000;
        const MAX_IN_FLIGHT: usize = 8;
        let (reader, writer, server_io) = split_pair();
        let running = Rc::new(Cell::new(0usize));
        let high_water = Rc::new(Cell::new(0usize));
        let handler = {
            let (running, high_water) = (running.clone(), high_water.clone());
            move |request: String| {
                let (running, high_water) = (running.clone(), high_water.clone());
                async move {
                    running.set(running.get() + 1);
                    high_water.set(high_water.get().max(running.get()));
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    running.set(running.get() - 1);
                    Ok::<_, io::Error>(request)
                }
            }
        };
        let server = Server::new().max_in_flight(MAX_IN_FLIGHT);
        let server = ringo_reactor::spawn(async move { server.serve(Framed::new(server_io, codec()), handler, ()).await });
        let flood = encode_all((0..REQUESTS).map(|tag| (tag, tag.to_string())));
        let flood = ringo_reactor::spawn(async move {
            let (result, _) = writer.write_all(flood).await;
            result.expect("write the flood");
            writer
        });
        let mut responses = Framed::new(reader, codec());
        let mut seen = vec![false; REQUESTS as usize];
        for _ in 0..REQUESTS {
            let (tag, answer) = responses.next().await.expect("a response").expect("decode");
            assert_eq!(answer, tag.to_string(), "tag {tag}");
            let first = seen.get_mut(tag as usize).map(|s| !std::mem::replace(s, true));
            assert_eq!(first, Some(true), "tag {tag} answered once");
        }
        let writer = flood.await.expect("flood task");
        writer.shutdown().await.expect("half-close");
        server.await.expect("server task").expect("server ends cleanly");
        assert!(high_water.get() <= MAX_IN_FLIGHT, "{} handlers ran at once", high_water.get());
        assert!(high_water.get() > 1, "handlers never overlapped");
    }
}

both_drivers! {
    async fn a_request_reusing_a_tag_in_flight_closes_the_server_with_an_error() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let delay = |request: &str| Duration::from_millis(if request == "slow" { 30 } else { 0 });
        let server = ringo_reactor::spawn(echo_server(Server::new(), server_io, delay));
        let mut peer = Framed::new(client_io, codec());
        peer.feed((7, "slow")).await.expect("feed");
        peer.feed((7, "again")).await.expect("feed");
        peer.flush().await.expect("flush");
        let error = server.await.expect("server task").expect_err("a duplicate tag is an error");
        assert!(matches!(error, ServerError::DuplicateTag(7)), "{error:?}");
        assert_eq!(error.to_string(), "request tag 7 already in flight");
        let answer = peer.next().await.expect("the first request is answered").expect("decode");
        assert_eq!(answer, (7, "re: slow".to_owned()));
        assert!(peer.next().await.is_none(), "then the server closes");
    }
}

both_drivers! {
    async fn a_handler_error_closes_the_server_after_the_finished_answers() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let delay = |request: &str| Duration::from_millis(if request == "fail" { 20 } else { 0 });
        let server = ringo_reactor::spawn(echo_server(Server::new(), server_io, delay));
        let mut peer = Framed::new(client_io, codec());
        peer.feed((1, "fail")).await.expect("feed");
        peer.feed((2, "fast")).await.expect("feed");
        peer.flush().await.expect("flush");
        let answer = peer.next().await.expect("the fast request is answered").expect("decode");
        assert_eq!(answer, (2, "re: fast".to_owned()));
        let error = server.await.expect("server task").expect_err("a handler error ends the connection");
        assert!(matches!(error, ServerError::Handler(_)), "{error:?}");
        assert!(peer.next().await.is_none(), "the server closes");
    }
}

both_drivers! {
    async fn a_response_under_an_unknown_tag_fails_every_written_call_as_desynchronized() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let mut fake = Framed::new(server_io, codec());
        let (client, connection) = Client::new(Framed::new(client_io, codec()));
        let connection = ringo_reactor::spawn(connection.run());
        let calls: Vec<_> = (0..3)
            .map(|i| {
                let client = client.clone();
                ringo_reactor::spawn(async move { client.call(format!("call {i}")).await })
            })
            .collect();
        let mut tags = Vec::new();
        for _ in 0..3 {
            let (tag, _) = fake.next().await.expect("a request").expect("decode");
            tags.push(tag);
        }
        let unknown: Tag = 0xffff_ffff;
        assert!(!tags.contains(&unknown));
        fake.send((unknown, "who asked?")).await.expect("send");
        for (i, call) in calls.into_iter().enumerate() {
            let error = call.await.expect("call task").expect_err("the call fails");
            assert_eq!(error.kind(), ClientErrorKind::Desynchronized, "call {i}: {error}");
        }
        let error = connection.await.expect("connection task").expect_err("desync ends it");
        assert_eq!(error.to_string(), "tagged stream i/o failed");
        assert!(client.is_closed());
        let error = client.call("later".to_owned()).await.expect_err("closed");
        assert_eq!(error.kind(), ClientErrorKind::NotWritten);
    }
}

both_drivers! {
    async fn a_late_answer_to_an_abandoned_call_never_completes_a_newer_call_on_its_slot() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let mut fake = Framed::new(server_io, codec());
        let (client, connection) = Client::<String, String>::with_max_tags(Framed::new(client_io, codec()), 1);
        let connection = ringo_reactor::spawn(connection.run());

        // The first call is written, then its caller gives up.
        let gave_up = timeout(Duration::from_millis(20), client.call("first".to_owned())).await;
        assert!(gave_up.is_err(), "nobody answered the first call");
        let (tag_first, request) = fake.next().await.expect("a request").expect("decode");
        assert_eq!(request, "first");
        assert_eq!(client.outstanding(), 1, "the abandoned call keeps its tag until answered");

        // The second call waits for the one tag, which the late answer frees.
        let second = ringo_reactor::spawn({
            let client = client.clone();
            async move { client.call("second".to_owned()).await }
        });
        fake.send((tag_first, "late answer to first")).await.expect("send");
        let (tag_second, request) = fake.next().await.expect("a request").expect("decode");
        assert_eq!(request, "second");
        assert_eq!(slot(tag_second), slot(tag_first), "the one slot is reused");
        assert_ne!(tag_second, tag_first, "under a new generation");
        fake.send((tag_second, "answer to second")).await.expect("send");
        let answer = second.await.expect("call task").expect("call");
        assert_eq!(answer, "answer to second");

        // A stale tag on the reused slot is caught, not delivered to the third call.
        let third = ringo_reactor::spawn({
            let client = client.clone();
            async move { client.call("third".to_owned()).await }
        });
        let (tag_third, _) = fake.next().await.expect("a request").expect("decode");
        assert_eq!(slot(tag_third), slot(tag_first));
        fake.send((tag_second, "stale")).await.expect("send");
        let error = third.await.expect("call task").expect_err("no stale answer");
        assert_eq!(error.kind(), ClientErrorKind::Desynchronized, "{error}");
        assert!(connection.await.expect("connection task").is_err());
    }
}

both_drivers! {
    async fn calls_fail_as_connection_lost_or_not_written_when_the_server_closes() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let mut fake = Framed::new(server_io, codec());
        let (client, connection) = Client::<String, String>::with_max_tags(Framed::new(client_io, codec()), 1);
        let connection = ringo_reactor::spawn(connection.run());
        let written = ringo_reactor::spawn({
            let client = client.clone();
            async move { client.call("written".to_owned()).await }
        });
        let (_, request) = fake.next().await.expect("a request").expect("decode");
        assert_eq!(request, "written");
        // The only tag is taken, so this call waits and is never written.
        let waiting = ringo_reactor::spawn({
            let client = client.clone();
            async move { client.call("waiting".to_owned()).await }
        });
        yield_now().await;
        drop(fake);
        let error = written.await.expect("call task").expect_err("server closed");
        assert_eq!(error.kind(), ClientErrorKind::ConnectionLost, "{error}");
        let error = waiting.await.expect("call task").expect_err("server closed");
        assert_eq!(error.kind(), ClientErrorKind::NotWritten, "{error}");
        assert!(error.is_not_written());
        connection.await.expect("connection task").expect("a clean close is not an error");
        let error = client.call("after".to_owned()).await.expect_err("closed");
        assert_eq!(error.kind(), ClientErrorKind::NotWritten);
    }
}

both_drivers! {
    async fn the_connection_ends_once_every_client_is_dropped() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let server = ringo_reactor::spawn(echo_server(Server::new(), server_io, |_| Duration::ZERO));
        let (client, connection) = Client::new(Framed::new(client_io, codec()));
        let connection = ringo_reactor::spawn(connection.run());
        assert_eq!(client.call("one".to_owned()).await.expect("call"), "re: one");
        let other = client.clone();
        drop(client);
        assert_eq!(other.call("two".to_owned()).await.expect("call"), "re: two");
        drop(other);
        connection.await.expect("connection task").expect("ends cleanly");
        server.await.expect("server task").expect("the server sees the close");
    }
}

both_drivers! {
    async fn a_decode_error_gets_the_error_reply_after_the_answers_in_flight() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let server = ringo_reactor::spawn(async move {
            let handler = |request: String| async move {
                sleep(Duration::from_millis(10)).await;
                Ok::<_, io::Error>(format!("re: {request}"))
            };
            let framed = Framed::new(server_io, codec());
            Server::new().serve(framed, handler, ErrorReplies).await
        });
        let mut bytes = encode_all([(1, "first".to_owned())]);
        bytes.extend_from_slice(b"\x00\x00\x00\x02??");
        let (result, _) = client_io.write_all(bytes).await;
        result.expect("write");
        let mut peer = Framed::new(client_io, codec());
        let answer = peer.next().await.expect("an answer").expect("decode");
        assert_eq!(answer, (1, "re: first".to_owned()));
        let reply = peer.next().await.expect("the error reply").expect("decode");
        assert_eq!(reply, (0, "error: frame length 2 under the 4-byte tag".to_owned()));
        assert!(peer.next().await.is_none(), "then the server closes");
        let error = server.await.expect("server task").expect_err("a decode error");
        assert!(matches!(error, ServerError::Codec(TaggedCodecError::FrameTooShort { length: 2 })), "{error:?}");
    }
}

both_drivers! {
    async fn shutdown_stops_reading_and_finishes_the_requests_in_flight() {
        let (client_io, server_io) = tcp_pair_nodelay().await;
        let stop = Rc::new(Cell::new(false));
        let server = ringo_reactor::spawn({
            let stop = stop.clone();
            async move {
                let handler = |request: String| async move {
                    sleep(Duration::from_millis(30)).await;
                    Ok::<_, io::Error>(format!("re: {request}"))
                };
                let shutdown = async move {
                    while !stop.get() {
                        sleep(Duration::from_millis(1)).await;
                    }
                };
                let framed = Framed::new(server_io, codec());
                Server::new().serve(framed, handler, ShutdownOn(Box::pin(shutdown))).await
            }
        });
        let mut peer = Framed::new(client_io, codec());
        peer.send((5, "in flight")).await.expect("send");
        sleep(Duration::from_millis(5)).await;
        stop.set(true);
        let answer = peer.next().await.expect("an answer").expect("decode");
        assert_eq!(answer, (5, "re: in flight".to_owned()));
        server.await.expect("server task").expect("a shutdown is not an error");
        assert!(peer.next().await.is_none(), "the server closed");
    }
}
