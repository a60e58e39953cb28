//! Streamed responses of the pipelined server, over real sockets on both
//! drivers: a tail's parts go out as they are produced and before the answers
//! after it; a streaming connection is busy, not idle; a tail's error ends the
//! connection after what came before; shutdown lets a tail finish; dropping
//! the connection drops its tail.
//!
//! The protocol is lines: `stream` is answered by the test's [`Feed`] (parts
//! pushed by the test), any other line by `re:<line>` at once.

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use ringo_proto::codec::{LinesCodec, LinesCodecError};
use ringo_proto::pipeline::{Protocol, Reply, Server, ServerError};
use ringo_proto::Framed;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::sleep;

/// Parts the test pushes into a streamed answer, and what became of it.
#[derive(Clone, Default)]
struct Feed(Rc<RefCell<FeedState>>);

#[derive(Default)]
struct FeedState {
    parts: VecDeque<Result<String, io::Error>>,
    closed: bool,
    waker: Option<Waker>,
    /// The stream was dropped.
    dropped: bool,
}

impl Feed {
    fn push(&self, part: Result<String, io::Error>) {
        let waker = {
            let mut state = self.0.borrow_mut();
            state.parts.push_back(part);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn send(&self, line: &str) {
        self.push(Ok(line.to_owned()));
    }

    /// Ends the stream once the parts pushed so far are taken.
    fn close(&self) {
        self.0.borrow_mut().closed = true;
        if let Some(waker) = self.0.borrow_mut().waker.take() {
            waker.wake();
        }
    }

    fn dropped(&self) -> bool {
        self.0.borrow().dropped
    }

    fn stream(&self) -> FeedStream {
        FeedStream(self.clone())
    }
}

/// The answer's side of a [`Feed`].
struct FeedStream(Feed);

impl Stream for FeedStream {
    type Item = Result<String, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0 .0.borrow_mut();
        match state.parts.pop_front() {
            Some(part) => Poll::Ready(Some(part)),
            None if state.closed => Poll::Ready(None),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for FeedStream {
    fn drop(&mut self) {
        self.0 .0.borrow_mut().dropped = true;
    }
}

type Served = Result<(), ServerError<LinesCodecError, io::Error>>;

/// The test's protocol: answers are whole lines or a [`FeedStream`] of them,
/// and the server shuts down when `shutdown` completes.
struct Streaming<S> {
    shutdown: Pin<Box<S>>,
}

impl<S: Future<Output = ()>> Protocol<LinesCodec, Reply<String, FeedStream>, io::Error>
    for Streaming<S>
{
    type Whole = String;
    type Part = String;
    type Tail = FeedStream;

    fn reply(&mut self, reply: Reply<String, FeedStream>) -> Reply<String, FeedStream> {
        reply
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.shutdown.as_mut().poll(cx)
    }
}

/// Serves `stream` on a spawned task with `server`: `stream` lines are
/// answered by `feed`, others by `re:<line>`; `shutdown` as in [`Protocol::poll_shutdown`].
fn spawn_server(
    server: Server,
    stream: TcpStream,
    feed: &Feed,
    shutdown: impl Future<Output = ()> + 'static,
) -> ringo_reactor::JoinHandle<Served> {
    let feed = feed.clone();
    ringo_reactor::spawn(async move {
        let handler = move |line: String| {
            let reply = match line.as_str() {
                "stream" => Reply::Streamed(feed.stream()),
                _ => Reply::Whole(format!("re:{line}")),
            };
            std::future::ready(Ok::<_, io::Error>(reply))
        };
        let protocol = Streaming {
            shutdown: Box::pin(shutdown),
        };
        server
            .serve(Framed::new(stream, LinesCodec::new()), handler, protocol)
            .await
    })
}

/// Reads until `seen` holds at least `len` bytes; returns them as text (more,
/// if more arrived in the last read: the caller's comparison then fails).
async fn read_at_least(peer: &TcpStream, seen: &mut Vec<u8>, len: usize) -> String {
    let mut buf = vec![0u8; 4096];
    while seen.len() < len {
        let (n, back) = peer.read(buf).await;
        buf = back;
        match n.expect("peer read") {
            0 => break,
            n => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(seen).into_owned()
}

both_drivers! {
    async fn a_tail_goes_out_as_it_comes_and_the_answers_after_it_wait() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let feed = Feed::default();
        let server = spawn_server(Server::new(), stream, &feed, std::future::pending());
        util::write_all(&peer, "a\nstream\nb\n").await;
        let mut seen = Vec::new();
        assert_eq!(read_at_least(&peer, &mut seen, 5).await, "re:a\n");
        feed.send("part 1");
        assert_eq!(read_at_least(&peer, &mut seen, 12).await, "re:a\npart 1\n");
        // `b` was answered long ago, but its answer waits behind the stream.
        sleep(Duration::from_millis(20)).await;
        feed.send("part 2");
        feed.close();
        peer.shutdown().await.expect("peer shutdown");
        let rest = util::read_to_end(&peer).await.expect("peer read");
        seen.extend_from_slice(&rest);
        assert_eq!(String::from_utf8_lossy(&seen), "re:a\npart 1\npart 2\nre:b\n");
        server.await.expect("server task").expect("server ends cleanly");
        assert!(feed.dropped());
    }
}

both_drivers! {
    async fn a_connection_writing_a_tail_is_not_idle() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let feed = Feed::default();
        let server = Server::new().idle_timeout(Duration::from_millis(100));
        let server = spawn_server(server, stream, &feed, std::future::pending());
        util::write_all(&peer, "stream\n").await;
        feed.send("early");
        let mut seen = Vec::new();
        assert_eq!(read_at_least(&peer, &mut seen, 6).await, "early\n");
        // Three idle timeouts without a part: the connection stays open.
        sleep(Duration::from_millis(300)).await;
        feed.send("late");
        feed.close();
        assert_eq!(read_at_least(&peer, &mut seen, 11).await, "early\nlate\n");
        util::write_all(&peer, "after\n").await;
        assert_eq!(read_at_least(&peer, &mut seen, 20).await, "early\nlate\nre:after\n");
        // Idle now: closed by the timeout.
        let rest = util::read_to_end(&peer).await.expect("peer read");
        assert!(rest.is_empty(), "{rest:?}");
        server.await.expect("server task").expect("an idle close is clean");
    }
}

both_drivers! {
    async fn a_tail_error_ends_the_connection_after_the_parts_before_it() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let feed = Feed::default();
        let server = spawn_server(Server::new(), stream, &feed, std::future::pending());
        util::write_all(&peer, "a\nstream\nb\n").await;
        feed.send("part 1");
        feed.push(Err(io::Error::other("the source broke")));
        feed.send("never");
        let answers = util::read_to_end(&peer).await.expect("peer read");
        assert_eq!(String::from_utf8_lossy(&answers), "re:a\npart 1\n");
        match server.await.expect("server task") {
            Err(ServerError::Handler(e)) => assert_eq!(e.to_string(), "the source broke"),
            other => panic!("expected the tail's error, got {other:?}"),
        }
        assert!(feed.dropped());
    }
}

both_drivers! {
    async fn shutdown_lets_a_tail_finish() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let feed = Feed::default();
        let (stop, stopped) = util::oneshot::channel::<()>();
        let server = spawn_server(Server::new(), stream, &feed, stopped);
        util::write_all(&peer, "stream\n").await;
        feed.send("before");
        let mut seen = Vec::new();
        assert_eq!(read_at_least(&peer, &mut seen, 7).await, "before\n");
        stop.send(());
        sleep(Duration::from_millis(20)).await;
        feed.send("after");
        feed.close();
        let rest = util::read_to_end(&peer).await.expect("peer read");
        seen.extend_from_slice(&rest);
        assert_eq!(String::from_utf8_lossy(&seen), "before\nafter\n");
        server.await.expect("server task").expect("a graceful shutdown ends with Ok");
    }
}

both_drivers! {
    async fn dropping_the_connection_mid_stream_drops_the_tail() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let feed = Feed::default();
        let server = spawn_server(Server::new(), stream, &feed, std::future::pending());
        util::write_all(&peer, "stream\n").await;
        feed.send("part");
        let mut seen = Vec::new();
        assert_eq!(read_at_least(&peer, &mut seen, 5).await, "part\n");
        assert!(!feed.dropped(), "the tail lives while it streams");
        server.abort();
        while !feed.dropped() {
            sleep(Duration::from_millis(1)).await;
        }
        let rest = util::read_to_end(&peer).await.expect("peer read");
        assert!(rest.is_empty(), "nothing after the drop: {rest:?}");
    }
}
