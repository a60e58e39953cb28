//! Streamed HTTP request bodies through `serve_connection_streamed`, over real
//! sockets on both drivers: a 16 MiB chunked upload arriving byte for byte
//! while the server holds no more than its backlog bound of it, also for a
//! handler that waits before it reads and then reads slowly; a body dropped
//! unread discarded so the next pipelined request is served; bodies that
//! break (bad chunk, peer gone, over the limit) failing the handler's stream
//! with one response and the connection closed; small bodies and
//! `Expect: 100-continue` bodies still gathered whole; shutdown failing a
//! body still arriving.

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
#[cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::header::DATE;
use http::{HeaderValue, Request, Response};
#[cfg(unix)]
use ringo_proto::http::BODY_BACKLOG;
use ringo_proto::http::{
    serve_connection_streamed, Error, ErrorKind, Limits, RequestBody, ServerConfig, STREAM_ABOVE,
};
use ringo_proto::pipeline::ServerError;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Served = Result<(), ServerError<Error, BoxError>>;

/// What a handler saw of one request body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    /// Gathered whole (`Some(len)`), or streamed (`None`).
    whole: Option<usize>,
    bytes: Vec<u8>,
    error: Option<ErrorKind>,
}

/// What the test and its server share.
#[derive(Clone, Default)]
struct Shared {
    seen: Rc<RefCell<Vec<Seen>>>,
    /// Body bytes the handler has taken from its stream.
    consumed: Rc<Cell<u64>>,
    /// Bytes the client has written so far.
    produced: Rc<Cell<u64>>,
    /// Of `produced`, the chunk framing: the handler never consumes it.
    framing: Rc<Cell<u64>>,
    /// The most the server held at once, and the fds to measure it by
    /// (Unix: Windows has no call for the bytes a socket has yet to send,
    /// so there what the server holds is not measured).
    #[cfg(unix)]
    most_held: Rc<Cell<u64>>,
    #[cfg(unix)]
    fds: Rc<Cell<(RawFd, RawFd)>>,
}

impl Shared {
    /// Produced but neither consumed nor in a socket queue: what the server
    /// holds (client and server share a thread, so nothing moves meanwhile).
    /// Chunk framing is left out, as the handler never consumes it: counted,
    /// every chunk sent so far would add its 8 bytes to the hold (past the
    /// bound once the server holds all it may). The framing of the chunks
    /// still in a socket queue is then subtracted twice, so this
    /// underestimates by a few times 8 bytes.
    #[cfg(unix)]
    fn held(&self) -> u64 {
        let (client, server) = self.fds.get();
        let in_kernel = util::queues::unsent(client) + util::queues::unread(server);
        let held = self
            .produced
            .get()
            .saturating_sub(self.framing.get() + self.consumed.get() + in_kernel);
        self.most_held.set(self.most_held.get().max(held));
        held
    }
}

/// What the server may hold of a streamed body: the backlog, plus one read
/// of the connection's buffer (a multishot receive's arming takes at most
/// 64 KiB).
#[cfg(unix)]
const HELD_BOUND: u64 = BODY_BACKLOG as u64 + 64 * 1024;

/// Reads `body` to its end or error, by path: `/ignore` drops it unread,
/// `/wait` waits 200 ms then reads with a pause per chunk, others read at
/// once. Checks the server's hold on every chunk.
async fn read_body(path: String, body: RequestBody, shared: Shared) {
    let mut seen = Seen {
        path: path.clone(),
        whole: body.as_bytes().map(Bytes::len),
        ..Seen::default()
    };
    match body {
        RequestBody::Full(bytes) => seen.bytes = bytes.to_vec(),
        RequestBody::Streamed(_) if path == "/ignore" => {}
        RequestBody::Streamed(mut reader) => {
            if path == "/wait" {
                sleep(Duration::from_millis(200)).await;
            }
            while let Some(chunk) = poll_fn(|cx| Pin::new(&mut reader).poll_next(cx)).await {
                match chunk {
                    Ok(chunk) => {
                        shared
                            .consumed
                            .set(shared.consumed.get() + chunk.len() as u64);
                        seen.bytes.extend_from_slice(&chunk);
                        #[cfg(unix)]
                        {
                            let held = shared.held();
                            assert!(held <= HELD_BOUND, "the server holds {held} bytes");
                        }
                    }
                    Err(e) => seen.error = Some(e.kind()),
                }
                if path == "/wait" {
                    sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
    shared.seen.borrow_mut().push(seen);
}

/// Serves `stream` with `limits` on a spawned task until `shutdown`: each
/// request's body is read per [`read_body`], then answered with its path.
fn spawn_server(
    stream: TcpStream,
    limits: Limits,
    shared: &Shared,
    shutdown: impl Future<Output = ()> + 'static,
) -> ringo_reactor::JoinHandle<Served> {
    let shared = shared.clone();
    ringo_reactor::spawn(async move {
        let handler = move |request: Request<RequestBody>| {
            let shared = shared.clone();
            async move {
                let path = request.uri().path().to_owned();
                read_body(path.clone(), request.into_body(), shared).await;
                let mut response = Response::new(Bytes::from(path));
                response
                    .headers_mut()
                    .insert(DATE, HeaderValue::from_static("test"));
                Ok::<_, BoxError>(response)
            }
        };
        let config = ServerConfig {
            limits,
            ..ServerConfig::default()
        };
        serve_connection_streamed(stream, &config, handler, shutdown).await
    })
}

/// A client connected to a fresh server: (client, server task).
async fn connect(
    limits: Limits,
    shared: &Shared,
) -> (TcpStream, ringo_reactor::JoinHandle<Served>) {
    let (peer, stream) = util::tcp_pair_nodelay().await;
    #[cfg(unix)]
    shared.fds.set((peer.as_raw_fd(), stream.as_raw_fd()));
    let server = spawn_server(stream, limits, shared, std::future::pending());
    (peer, server)
}

/// The response to a request for `path`.
fn answer(path: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ndate: test\r\ncontent-length: {}\r\n\r\n{path}",
        path.len()
    )
}

fn chunked_head(path: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
}

/// Writes `body` chunked in pieces of `piece` bytes, counting what was
/// written into `shared.produced`.
async fn write_chunked(peer: &TcpStream, body: &[u8], piece: usize, shared: &Shared) {
    for part in body.chunks(piece) {
        let mut framed = format!("{:x}\r\n", part.len()).into_bytes();
        framed.extend_from_slice(part);
        framed.extend_from_slice(b"\r\n");
        let len = framed.len() as u64;
        util::write_all(peer, framed).await;
        shared.produced.set(shared.produced.get() + len);
        shared
            .framing
            .set(shared.framing.get() + len - part.len() as u64);
    }
    util::write_all(peer, "0\r\n\r\n").await;
}

fn raised_limits(max_body: u64) -> Limits {
    Limits {
        max_body,
        ..Limits::default()
    }
}

/// Uploads 16 MiB to `path` and checks it arrived whole and held in bounds.
async fn upload(path: &'static str, total: usize) {
    let shared = Shared::default();
    let (peer, server) = connect(raised_limits(32 << 20), &shared).await;
    let body = util::pattern(total, 7);
    util::write_all(&peer, chunked_head(path)).await;
    write_chunked(&peer, &body, 16 * 1024, &shared).await;
    let mut seen = Vec::new();
    let reply = util::read_until(&peer, &mut seen, &answer(path)).await;
    assert_eq!(reply, answer(path));
    let got = shared
        .seen
        .borrow_mut()
        .pop()
        .expect("the handler saw the body");
    assert_eq!(got.whole, None, "streamed");
    assert_eq!(got.error, None);
    assert!(
        got.bytes == body,
        "byte-exact ({} of {total})",
        got.bytes.len()
    );
    #[cfg(unix)]
    {
        let most = shared.most_held.get();
        assert!(most <= HELD_BOUND, "held {most}");
        if path == "/wait" {
            let backlog = BODY_BACKLOG as u64;
            assert!(
                most >= backlog,
                "the reader was slower: the backlog filled ({most})"
            );
        }
    }
    peer.shutdown().await.expect("peer shutdown");
    server.await.expect("server task").expect("clean end");
}

both_drivers! {
    async fn a_16_mib_chunked_upload_arrives_byte_exact_within_the_backlog() {
        upload("/read", 16 << 20).await;
    }
}

both_drivers! {
    async fn a_handler_that_waits_then_reads_slowly_holds_the_upload_back() {
        upload("/wait", 4 << 20).await;
    }
}

both_drivers! {
    async fn a_body_dropped_unread_is_discarded_and_the_next_request_served() {
        let shared = Shared::default();
        let (peer, server) = connect(raised_limits(32 << 20), &shared).await;
        let big = util::pattern(1 << 20, 3);
        let sized = format!(
            "POST /ignore HTTP/1.1\r\nhost: t\r\ncontent-length: {}\r\n\r\n",
            big.len()
        );
        let mut requests = sized.into_bytes();
        requests.extend_from_slice(&big);
        requests.extend_from_slice(chunked_head("/ignore").as_bytes());
        util::write_all(&peer, requests).await;
        write_chunked(&peer, &big, 8 * 1024, &shared).await;
        util::write_all(&peer, "GET /next HTTP/1.1\r\nhost: t\r\n\r\n").await;
        let expected = format!("{}{}{}", answer("/ignore"), answer("/ignore"), answer("/next"));
        let mut seen = Vec::new();
        assert_eq!(util::read_until(&peer, &mut seen, &expected).await, expected);
        let paths: Vec<_> = shared.seen.borrow().iter().map(|s| s.path.clone()).collect();
        assert_eq!(paths, ["/ignore", "/ignore", "/next"]);
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("clean end");
    }
}

/// Sends `request` (a streamed body cut short by `ending`), then checks the
/// handler saw the body fail with `kind`, exactly one response came, and the
/// connection closed with that codec error.
async fn broken_body(request: &[u8], close_write: bool, max_body: u64, kind: ErrorKind) {
    let shared = Shared::default();
    let (peer, server) = connect(raised_limits(max_body), &shared).await;
    util::write_all(&peer, request.to_vec()).await;
    if close_write {
        peer.shutdown().await.expect("peer shutdown");
    }
    let all = util::read_to_end(&peer).await.expect("read to the close");
    assert_eq!(
        String::from_utf8_lossy(&all),
        answer("/read"),
        "one response"
    );
    let seen = shared.seen.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].error, Some(kind), "the handler saw the failure");
    match server.await.expect("server task") {
        Err(ServerError::Codec(e)) => assert_eq!(e.kind(), kind),
        other => panic!("ended with {other:?}"),
    }
}

both_drivers! {
    async fn a_bad_chunk_mid_body_fails_the_stream_and_closes() {
        let request = format!("{}4\r\nabcd\r\nzz\r\nmore", chunked_head("/read"));
        broken_body(request.as_bytes(), false, 1 << 20, ErrorKind::InvalidChunkSize).await;
    }
}

both_drivers! {
    async fn a_peer_closing_mid_body_fails_the_stream() {
        let request = format!("{}4\r\nabcd\r\n10\r\nhalf", chunked_head("/read"));
        broken_body(request.as_bytes(), true, 1 << 20, ErrorKind::IncompleteMessage).await;
    }
}

both_drivers! {
    async fn a_body_past_max_body_mid_stream_fails_without_a_413() {
        let mut request = chunked_head("/read").into_bytes();
        for _ in 0..2 {
            request.extend_from_slice(b"8000\r\n");
            request.extend_from_slice(&[b'x'; 0x8000]);
            request.extend_from_slice(b"\r\n");
        }
        // One byte over, sent as the last bytes so none wait unread when
        // the server closes (a close with unread bytes resets the peer).
        request.extend_from_slice(b"1\r\n");
        let kind = ErrorKind::BodyTooLarge { len: 0x10001, limit: 0x10000 };
        broken_body(&request, false, 0x10000, kind).await;
    }
}

both_drivers! {
    async fn small_bodies_and_expect_continue_bodies_are_gathered_whole() {
        let shared = Shared::default();
        let (peer, server) = connect(Limits::default(), &shared).await;
        let limit = usize::try_from(STREAM_ABOVE).expect("fits");
        let small = util::pattern(limit, 1);
        let mut request = format!(
            "POST /small HTTP/1.1\r\nhost: t\r\ncontent-length: {limit}\r\n\r\n"
        )
        .into_bytes();
        request.extend_from_slice(&small);
        util::write_all(&peer, request).await;
        let mut seen = Vec::new();
        util::read_until(&peer, &mut seen, &answer("/small")).await;
        let large = util::pattern(limit + 1, 2);
        let head = format!(
            "POST /continue HTTP/1.1\r\nhost: t\r\ncontent-length: {}\r\n\
             expect: 100-continue\r\n\r\n",
            large.len()
        );
        util::write_all(&peer, head).await;
        let interim = util::read_until(&peer, &mut seen, "\r\n\r\n").await;
        assert!(interim.ends_with("\r\n\r\n") && interim.contains("/smallHTTP/1.1 100 Continue\r\n"));
        assert!(shared.seen.borrow().len() == 1, "the handler waits for the body");
        util::write_all(&peer, large.clone()).await;
        util::read_until(&peer, &mut seen, &answer("/continue")).await;
        let got = shared.seen.take();
        assert_eq!(got[0].whole, Some(limit));
        assert!(got[0].bytes == small);
        assert_eq!(got[1].whole, Some(limit + 1), "gathered despite its size");
        assert!(got[1].bytes == large);
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("clean end");
    }
}

both_drivers! {
    async fn shutdown_fails_a_body_still_arriving_and_its_response_still_goes_out() {
        let shared = Shared::default();
        let (peer, stream) = util::tcp_pair_nodelay().await;
        #[cfg(unix)]
        shared.fds.set((peer.as_raw_fd(), stream.as_raw_fd()));
        let shutdown = sleep(Duration::from_millis(100));
        let server = spawn_server(stream, Limits::default(), &shared, shutdown);
        let request = format!("{}4\r\nabcd\r\n", chunked_head("/read"));
        util::write_all(&peer, request).await;
        let all = util::read_to_end(&peer).await.expect("read to the close");
        assert_eq!(String::from_utf8_lossy(&all), answer("/read"));
        let seen = shared.seen.take();
        assert_eq!(seen[0].bytes, b"abcd");
        assert_eq!(seen[0].error, Some(ErrorKind::IncompleteMessage));
        server.await.expect("server task").expect("a shutdown ends cleanly");
    }
}
