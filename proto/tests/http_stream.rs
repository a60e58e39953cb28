//! Streamed HTTP response bodies through `serve_connection`, over real sockets
//! on both drivers, checked byte for byte: chunked coding with the connection
//! reused after it; the first chunk on the wire before the second exists;
//! pipelined answers in order behind a slow stream; declared lengths that lie
//! and streams that fail cutting the connection; HTTP/1.0 and HEAD framing;
//! and a slow reader holding a 64 MiB stream back to the backpressure mark.
//!
//! Responses carry a fixed `date` field (the codec then adds none), so whole
//! exchanges compare exactly.

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::future::Future;
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::header::DATE;
use http::{HeaderValue, Request, Response};
use ringo_proto::http::{serve_connection, Error, ErrorKind, Outgoing, ServerConfig};
use ringo_proto::pipeline::ServerError;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Served = Result<(), ServerError<Error, BoxError>>;

/// The stream whose items `step` produces from each state until it answers
/// `None`: the `unfold` of the futures crate, in miniature.
struct Unfold<S, F, Fut> {
    state: Option<S>,
    step: F,
    running: Option<Pin<Box<Fut>>>,
}

fn unfold<S, F, Fut, T>(state: S, step: F) -> Unfold<S, F, Fut>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = Option<(T, S)>>,
{
    Unfold {
        state: Some(state),
        step,
        running: None,
    }
}

impl<S: Unpin, F: FnMut(S) -> Fut + Unpin, Fut: Future<Output = Option<(T, S)>>, T> Stream
    for Unfold<S, F, Fut>
{
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.running.is_none() {
            let Some(state) = this.state.take() else {
                return Poll::Ready(None);
            };
            this.running = Some(Box::pin((this.step)(state)));
        }
        let running = this.running.as_mut().expect("a step is running");
        let next = std::task::ready!(running.as_mut().poll(cx));
        this.running = None;
        Poll::Ready(next.map(|(item, state)| {
            this.state = Some(state);
            item
        }))
    }
}

/// The chunks of `parts` in order, at once.
fn ready_chunks(parts: &'static [&'static str]) -> impl Stream<Item = Result<Bytes, BoxError>> {
    unfold(0, move |i: usize| async move {
        let part = parts.get(i)?;
        Some((Ok(Bytes::from_static(part.as_bytes())), i + 1))
    })
}

/// Chunk size and total of the big body.
const BIG_CHUNK: usize = 16 * 1024;
const BIG_TOTAL: u64 = 64 << 20;
static BIG: [u8; BIG_CHUNK] = [b'x'; BIG_CHUNK];

/// The server's write backpressure mark: 128 KiB, the default of
/// `pipeline::Server::backpressure`, which `serve_connection` keeps.
#[cfg(unix)]
const BACKPRESSURE: usize = 128 * 1024;

/// What the test and its server share: events in order, and the bytes of the
/// big body produced so far.
#[derive(Clone, Default)]
struct Shared {
    events: Rc<RefCell<Vec<&'static str>>>,
    produced: Rc<Cell<u64>>,
}

impl Shared {
    fn note(&self, event: &'static str) {
        self.events.borrow_mut().push(event);
    }
}

/// The body for each path.
fn body(path: &str, shared: &Shared) -> Outgoing {
    let shared = shared.clone();
    match path {
        "/whole" => Outgoing::Full(Bytes::from_static(b"whole")),
        "/chunks" => Outgoing::stream(ready_chunks(&["one", "", "two", "three", ""])),
        "/ttfb" => Outgoing::stream(unfold(0, move |i| {
            let shared = shared.clone();
            async move {
                match i {
                    0 => Some((Ok(Bytes::from_static(b"first")), 1)),
                    1 => {
                        sleep(Duration::from_millis(200)).await;
                        shared.note("second produced");
                        Some((Ok(Bytes::from_static(b"second")), 2))
                    }
                    _ => None,
                }
            }
        })),
        "/slow" => Outgoing::stream(unfold(1, |i| async move {
            sleep(Duration::from_millis(20)).await;
            let chunk = ["s1", "s2", "s3"].get(i - 1)?;
            Some((Ok(Bytes::from_static(chunk.as_bytes())), i + 1))
        })),
        "/short" => Outgoing::sized_stream(10, ready_chunks(&["12345", "678"])),
        "/long" => Outgoing::sized_stream(4, ready_chunks(&["12", "345"])),
        "/broken" => Outgoing::stream(unfold(0, |i| async move {
            match i {
                0 => Some((Ok(Bytes::from_static(b"a")), 1)),
                1 => Some((Err("the source broke".into()), 2)),
                _ => Some((Ok(Bytes::from_static(b"never")), 3)),
            }
        })),
        "/endless" => Outgoing::stream(unfold(0, |i| async move {
            if i > 0 {
                std::future::pending::<()>().await;
            }
            Some((Ok(Bytes::from_static(b"tick")), i + 1))
        })),
        "/big" => Outgoing::stream(unfold(0, move |sent: u64| {
            let produced = shared.produced.clone();
            async move {
                (sent < BIG_TOTAL).then(|| {
                    produced.set(sent + BIG_CHUNK as u64);
                    (Ok(Bytes::from_static(&BIG)), sent + BIG_CHUNK as u64)
                })
            }
        })),
        other => panic!("no route for {other}"),
    }
}

/// Serves `stream` on a spawned task, answering by path with a fixed date.
fn spawn_server(stream: TcpStream, shared: &Shared) -> ringo_reactor::JoinHandle<Served> {
    let shared = shared.clone();
    ringo_reactor::spawn(async move {
        let handler = move |request: Request<Bytes>| {
            let mut response = Response::new(body(request.uri().path(), &shared));
            response
                .headers_mut()
                .insert(DATE, HeaderValue::from_static("test"));
            std::future::ready(Ok::<_, BoxError>(response))
        };
        let config = ServerConfig::default();
        serve_connection(stream, &config, handler, std::future::pending()).await
    })
}

/// A client connected to a fresh server: (client, server task).
async fn connect(shared: &Shared) -> (TcpStream, ringo_reactor::JoinHandle<Served>) {
    let (peer, stream) = util::tcp_pair_nodelay().await;
    (peer, spawn_server(stream, shared))
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: t\r\n\r\n")
}

const CHUNKED: &str = "HTTP/1.1 200 OK\r\ndate: test\r\ntransfer-encoding: chunked\r\n\r\n";
const WHOLE: &str = "HTTP/1.1 200 OK\r\ndate: test\r\ncontent-length: 5\r\n\r\nwhole";

both_drivers! {
    async fn a_stream_goes_out_chunked_and_the_connection_serves_the_next_request() {
        let shared = Shared::default();
        let (peer, server) = connect(&shared).await;
        util::write_all(&peer, get("/chunks")).await;
        let mut seen = Vec::new();
        let chunked = util::read_until(&peer, &mut seen, "0\r\n\r\n").await;
        assert_eq!(chunked, format!("{CHUNKED}3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n"));
        seen.clear();
        util::write_all(&peer, get("/whole")).await;
        assert_eq!(util::read_until(&peer, &mut seen, "whole").await, WHOLE);
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("the client closed cleanly");
    }
}

both_drivers! {
    async fn the_first_chunk_arrives_before_the_second_is_produced() {
        let shared = Shared::default();
        let (peer, server) = connect(&shared).await;
        util::write_all(&peer, get("/ttfb")).await;
        let mut seen = Vec::new();
        util::read_until(&peer, &mut seen, "5\r\nfirst\r\n").await;
        shared.note("first read");
        let whole = util::read_until(&peer, &mut seen, "0\r\n\r\n").await;
        assert_eq!(whole, format!("{CHUNKED}5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"));
        assert_eq!(*shared.events.borrow(), ["first read", "second produced"]);
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("the client closed cleanly");
    }
}

both_drivers! {
    async fn a_whole_answer_waits_behind_a_slow_stream_before_it() {
        let shared = Shared::default();
        let (peer, server) = connect(&shared).await;
        util::write_all(&peer, format!("{}{}", get("/slow"), get("/whole"))).await;
        let mut seen = Vec::new();
        let both = util::read_until(&peer, &mut seen, "whole").await;
        let slow = format!("{CHUNKED}2\r\ns1\r\n2\r\ns2\r\n2\r\ns3\r\n0\r\n\r\n");
        assert_eq!(both, format!("{slow}{WHOLE}"));
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("the client closed cleanly");
    }
}

/// Sends `request` and reads until the server closes; returns what came and
/// how serving ended.
async fn until_closed(request: &str) -> (String, Served) {
    let shared = Shared::default();
    let (peer, server) = connect(&shared).await;
    util::write_all(&peer, request).await;
    let got = util::read_to_end(&peer).await.expect("peer read");
    let served = server.await.expect("server task");
    (String::from_utf8_lossy(&got).into_owned(), served)
}

/// The kind of the codec error `served` ended with.
fn codec_error(served: Served) -> ErrorKind {
    match served {
        Err(ServerError::Codec(e)) => e.kind(),
        other => panic!("expected a codec error, got {other:?}"),
    }
}

both_drivers! {
    async fn a_stream_unlike_its_declared_length_cuts_the_connection() {
        let sized = |n| format!("HTTP/1.1 200 OK\r\ndate: test\r\ncontent-length: {n}\r\n\r\n");
        let (got, served) = until_closed(&get("/short")).await;
        assert_eq!(got, format!("{}12345678", sized(10)), "two bytes short, then closed");
        assert_eq!(codec_error(served), ErrorKind::BodyLengthMismatch { declared: 10, written: 8 });
        let (got, served) = until_closed(&get("/long")).await;
        assert_eq!(got, format!("{}12", sized(4)), "the chunk past the length is not written");
        assert_eq!(codec_error(served), ErrorKind::BodyLengthMismatch { declared: 4, written: 5 });
    }
}

both_drivers! {
    async fn a_stream_error_cuts_the_body_without_its_last_chunk() {
        let (got, served) = until_closed(&format!("{}{}", get("/broken"), get("/whole"))).await;
        assert_eq!(got, format!("{CHUNKED}1\r\na\r\n"), "no 0-chunk, nothing after");
        match served {
            Err(ServerError::Handler(e)) => assert_eq!(e.to_string(), "the source broke"),
            other => panic!("expected the stream's error, got {other:?}"),
        }
    }
}

both_drivers! {
    async fn an_http10_client_gets_a_body_delimited_by_the_close() {
        let (got, served) = until_closed("GET /chunks HTTP/1.0\r\n\r\n").await;
        assert_eq!(got, "HTTP/1.1 200 OK\r\ndate: test\r\nconnection: close\r\n\r\nonetwothree");
        served.expect("a close-delimited body ends cleanly");
    }
}

both_drivers! {
    async fn a_head_request_gets_the_head_a_get_would_and_no_body() {
        let shared = Shared::default();
        let (peer, server) = connect(&shared).await;
        // The endless stream is never polled: the next request is answered.
        let head = get("/endless").replacen("GET", "HEAD", 1);
        util::write_all(&peer, format!("{head}{}", get("/whole"))).await;
        let mut seen = Vec::new();
        assert_eq!(util::read_until(&peer, &mut seen, "whole").await, format!("{CHUNKED}{WHOLE}"));
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("the client closed cleanly");
    }
}

both_drivers! {
    async fn a_slow_reader_holds_a_big_stream_back_to_the_backpressure_mark() {
        let shared = Shared::default();
        let (peer, stream) = util::tcp_pair_nodelay().await;
        // What the server holds is measured on Unix only: Windows has no
        // call for the bytes a socket has yet to send.
        #[cfg(unix)]
        let server_fd = stream.as_raw_fd();
        let server = spawn_server(stream, &shared);
        util::write_all(&peer, get("/big")).await;
        let chunks = BIG_TOTAL / BIG_CHUNK as u64;
        let framing = format!("{BIG_CHUNK:x}\r\n").len() as u64 + 2;
        let expected = CHUNKED.len() as u64 + BIG_TOTAL + chunks * framing + 5;
        #[cfg(unix)]
        let bound = (BACKPRESSURE + BIG_CHUNK) as u64;
        #[cfg(unix)]
        let mut most_held = 0u64;
        let mut read = 0u64;
        let mut tail = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while read < expected {
            let (n, back) = peer.read(buf).await;
            buf = back;
            let n = n.expect("peer read");
            assert!(n > 0, "closed after {read} of {expected} bytes");
            read += n as u64;
            tail.extend_from_slice(&buf[..n]);
            tail.drain(..tail.len().saturating_sub(5));
            // Produced but neither read nor in a socket queue: what the
            // server holds (the peer runs on the server's thread, so the
            // server cannot move meanwhile). Framing makes it an overestimate
            // of what was read, so this undercounts by a few bytes per chunk.
            #[cfg(unix)]
            {
                let in_kernel = util::queues::unread(peer.as_raw_fd())
                    + util::queues::unsent(server_fd);
                let held = shared.produced.get().saturating_sub(read + in_kernel);
                most_held = most_held.max(held);
                assert!(held <= bound, "the server holds {held} bytes, over {bound}");
            }
            sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(read, expected);
        assert_eq!(tail, b"0\r\n\r\n");
        #[cfg(unix)]
        assert!(most_held > 0, "the reader was slower than the stream");
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("the client closed cleanly");
    }
}
