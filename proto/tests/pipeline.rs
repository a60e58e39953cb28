//! Pipelined dispatch over real sockets, on both drivers.
//!
//! Server side: answers come back in request order whatever order the handler
//! finishes in, the in-flight bound holds under a flood, and handler errors,
//! decode errors and graceful shutdown end the connection as documented. Client
//! side: concurrent callers each get their own answer, a lost connection fails
//! every call with the right kind and none hangs, the queue bound holds, and the
//! connection ends when the last handle goes. Plus an ignored throughput
//! measurement of the server on an owned and on a pooled `Framed` (figures to
//! read, not a check).

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ringo_proto::codec::{LinesCodec, LinesCodecError};
use ringo_proto::pipeline::{
    Client, ClientErrorKind, NoTail, Protocol, Reply, Server, ServerError,
};
use ringo_proto::Framed;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::DriverKind;

/// The line protocol's hooks in these tests: `ERR <error>` for a decode error
/// (with `error_replies`), and shutdown when `shutdown` completes.
struct LineProtocol<S> {
    error_replies: bool,
    shutdown: std::pin::Pin<Box<S>>,
}

impl<S: Future<Output = ()>> Protocol<LinesCodec, String, io::Error> for LineProtocol<S> {
    type Whole = String;
    type Part = String;
    type Tail = NoTail<String, io::Error>;

    fn reply(&mut self, line: String) -> Reply<String, Self::Tail> {
        Reply::Whole(line)
    }

    fn error_reply(&mut self, e: &LinesCodecError) -> Option<String> {
        self.error_replies.then(|| format!("ERR {e}"))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.shutdown.as_mut().poll(cx)
    }
}

/// A latch futures wait on until it opens: releases blocked handlers, or signals
/// a server to shut down.
#[derive(Clone, Default)]
struct Gate(Rc<RefCell<GateState>>);

#[derive(Default)]
struct GateState {
    open: bool,
    waiters: Vec<Waker>,
}

impl Gate {
    /// Opens the gate and wakes everyone waiting on it.
    fn open(&self) {
        let waiters = {
            let mut state = self.0.borrow_mut();
            state.open = true;
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Waits until the gate is open.
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.borrow_mut();
            if state.open {
                Poll::Ready(())
            } else {
                state.waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

/// Waits, checking every millisecond, until `done` holds (the test time limit
/// bounds the wait).
async fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        sleep(Duration::from_millis(1)).await;
    }
}

/// `count` numbered requests, one per line.
fn numbered(count: usize) -> String {
    (0..count).map(|i| format!("{i}\n")).collect()
}

/// The index a numbered request carries.
fn index_of(line: &str) -> usize {
    line.parse()
        .unwrap_or_else(|e| panic!("request {line:?} is not a number: {e}"))
}

/// Serves `stream` with an uppercasing handler on a spawned task.
fn spawn_uppercase_server(
    stream: TcpStream,
) -> ringo_reactor::JoinHandle<Result<(), ServerError<LinesCodecError, io::Error>>> {
    ringo_reactor::spawn(async move {
        Server::new()
            .serve(
                Framed::new(stream, LinesCodec::new()),
                |line: String| async move { Ok::<_, io::Error>(line.to_uppercase()) },
                (),
            )
            .await
    })
}

/// Serves `stream` with a handler answering `re:<request>` on a spawned task.
fn spawn_echo_server(
    stream: TcpStream,
) -> ringo_reactor::JoinHandle<Result<(), ServerError<LinesCodecError, io::Error>>> {
    ringo_reactor::spawn(async move {
        Server::new()
            .serve(
                Framed::new(stream, LinesCodec::new()),
                |line: String| async move { Ok::<_, io::Error>(format!("re:{line}")) },
                (),
            )
            .await
    })
}

/// A pipelined line client over `stream`, with its connection spawned.
fn spawn_client(
    stream: TcpStream,
    max_queued: usize,
) -> (
    Client<String, String>,
    ringo_reactor::JoinHandle<Result<(), LinesCodecError>>,
) {
    let (client, connection) =
        Client::with_max_queued(Framed::new(stream, LinesCodec::new()), max_queued);
    (client, ringo_reactor::spawn(connection.run()))
}

both_drivers! {
    async fn a_thousand_pipelined_requests_are_answered_in_order() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let server = spawn_uppercase_server(stream);
        let requests: String = (0..1000).map(|i| format!("request {i}\n")).collect();
        util::write_all(&peer, requests.clone()).await;
        peer.shutdown().await.expect("peer shutdown");
        let answers = util::read_to_end(&peer).await.expect("peer read");
        assert_eq!(String::from_utf8(answers).expect("utf-8 answers"), requests.to_uppercase());
        server.await.expect("server task").expect("server ends cleanly at end of stream");
    }
}

both_drivers! {
    async fn answers_keep_request_order_when_handlers_finish_out_of_order() {
        const COUNT: usize = 50;
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let finished = Rc::new(RefCell::new(Vec::new()));
        let order = finished.clone();
        let server = ringo_reactor::spawn(async move {
            Server::new()
                .max_in_flight(COUNT)
                .serve(Framed::new(stream, LinesCodec::new()), move |line: String| {
                    let order = order.clone();
                    async move {
                        let i = index_of(&line);
                        // Later requests finish sooner: 5 ms per place from the end.
                        sleep(Duration::from_millis(5 * (COUNT - i) as u64)).await;
                        order.borrow_mut().push(i);
                        Ok::<_, io::Error>(format!("answer {i}"))
                    }
                }, ())
                .await
        });
        util::write_all(&peer, numbered(COUNT)).await;
        peer.shutdown().await.expect("peer shutdown");
        let answers = util::read_to_end(&peer).await.expect("peer read");
        let expected: String = (0..COUNT).map(|i| format!("answer {i}\n")).collect();
        assert_eq!(String::from_utf8(answers).expect("utf-8 answers"), expected);
        server.await.expect("server task").expect("server ends cleanly");
        let finished = finished.borrow();
        assert!(
            finished.windows(2).any(|w| w[0] > w[1]),
            "handlers should have finished out of order: {finished:?}"
        );
    }
}

both_drivers! {
    async fn no_more_than_max_in_flight_handlers_run_at_once_under_a_flood() {
        const MAX_IN_FLIGHT: usize = 8;
        const REQUESTS: usize = 10_000;
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let running = Rc::new(Cell::new(0usize));
        let high_water = Rc::new(Cell::new(0usize));
        let release = Gate::default();
        let server = {
            let (running, high_water, release) = (running.clone(), high_water.clone(), release.clone());
            ringo_reactor::spawn(async move {
                Server::new()
                    .max_in_flight(MAX_IN_FLIGHT)
                    .serve(Framed::new(stream, LinesCodec::new()), move |line: String| {
                        let (running, high_water, release) =
                            (running.clone(), high_water.clone(), release.clone());
                        async move {
                            running.set(running.get() + 1);
                            high_water.set(high_water.get().max(running.get()));
                            release.wait().await;
                            running.set(running.get() - 1);
                            Ok::<_, io::Error>(line.to_uppercase())
                        }
                    }, ())
                    .await
            })
        };
        let peer = Rc::new(peer);
        let writer = {
            let peer = peer.clone();
            ringo_reactor::spawn(async move {
                util::write_all(&*peer, numbered(REQUESTS)).await;
                peer.shutdown().await.expect("peer shutdown");
            })
        };
        until(|| running.get() == MAX_IN_FLIGHT).await;
        // Give the dispatcher time to (wrongly) start more while the first are stuck.
        sleep(Duration::from_millis(50)).await;
        assert_eq!(high_water.get(), MAX_IN_FLIGHT, "handlers running at once before release");
        release.open();
        let answers = util::read_to_end(&*peer).await.expect("peer read");
        assert_eq!(String::from_utf8(answers).expect("utf-8 answers"), numbered(REQUESTS));
        writer.await.expect("writer task");
        server.await.expect("server task").expect("server ends cleanly");
        assert!(
            high_water.get() <= MAX_IN_FLIGHT,
            "{} handlers ran at once, over the bound {MAX_IN_FLIGHT}",
            high_water.get()
        );
    }
}

both_drivers! {
    async fn a_handler_error_answers_the_earlier_requests_then_closes() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let server = ringo_reactor::spawn(async move {
            Server::new()
                .serve(Framed::new(stream, LinesCodec::new()), |line: String| async move {
                    match index_of(&line) {
                        5 => Err(io::Error::other("request 5 refused")),
                        i => Ok(format!("answer {i}")),
                    }
                }, ())
                .await
        });
        util::write_all(&peer, numbered(10)).await;
        let answers = util::read_to_end(&peer).await.expect("peer read");
        let expected: String = (0..5).map(|i| format!("answer {i}\n")).collect();
        assert_eq!(String::from_utf8(answers).expect("utf-8 answers"), expected);
        match server.await.expect("server task") {
            Err(ServerError::Handler(e)) => assert_eq!(e.to_string(), "request 5 refused"),
            other => panic!("expected the handler's error, got {other:?}"),
        }
    }
}

/// A bad-input case for the server: its name, the bytes sent after two good
/// requests, the answers expected after theirs, and how serving ends (`Err`
/// holds the error's message).
type DecodeCase = (
    &'static str,
    Vec<u8>,
    &'static str,
    Result<(), &'static str>,
);

both_drivers! {
    async fn a_decode_error_answers_the_earlier_requests_then_the_error_reply() {
        // The codec's limit is 16 bytes of text per line: 16 passes, 17 fails.
        let cases: [DecodeCase; 4] = [
            ("a line of 16 bytes", b"yyyyyyyyyyyyyyyy\n".to_vec(), "YYYYYYYYYYYYYYYY\n", Ok(())),
            (
                "a line of 17 bytes",
                b"yyyyyyyyyyyyyyyyy\nc\n".to_vec(),
                "ERR line length over limit 16\n",
                Err("connection failed: line length over limit 16"),
            ),
            (
                "a line of 100 bytes",
                [vec![b'x'; 100], b"\nc\n".to_vec()].concat(),
                "ERR line length over limit 16\n",
                Err("connection failed: line length over limit 16"),
            ),
            (
                "a line that is not utf-8",
                b"\xff\xfe\nc\n".to_vec(),
                "ERR line is not valid utf-8\n",
                Err("connection failed: line is not valid utf-8"),
            ),
        ];
        for (name, bytes, answers, ends) in cases {
            let (peer, stream) = util::tcp_pair_nodelay().await;
            let server = ringo_reactor::spawn(async move {
                Server::new()
                    .serve(
                        Framed::new(stream, LinesCodec::with_max_length(16)),
                        |line: String| async move { Ok::<_, io::Error>(line.to_uppercase()) },
                        LineProtocol { error_replies: true, shutdown: Box::pin(std::future::pending()) },
                    )
                    .await
            });
            util::write_all(&peer, [b"a\nb\n".to_vec(), bytes].concat()).await;
            peer.shutdown().await.unwrap_or_else(|e| panic!("{name}: peer shutdown: {e}"));
            let got = util::read_to_end(&peer).await.expect("peer read");
            assert_eq!(String::from_utf8_lossy(&got), format!("A\nB\n{answers}"), "{name}");
            let result = server.await.unwrap_or_else(|e| panic!("{name}: server task: {e}"));
            if let Err(ServerError::Handler(e)) = &result {
                panic!("{name}: a decode error reported as a handler error: {e}");
            }
            let ended = result.map_err(|e| e.to_string());
            assert_eq!(ended.as_ref().map_err(String::as_str), ends.as_ref().map_err(|e| *e), "{name}");
        }
    }
}

both_drivers! {
    async fn shutdown_finishes_and_answers_the_requests_in_flight() {
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let started = Rc::new(Cell::new(0usize));
        let shutdown = Gate::default();
        let server = {
            let (started, shutdown) = (started.clone(), shutdown.clone());
            ringo_reactor::spawn(async move {
                Server::new()
                    .serve(
                        Framed::new(stream, LinesCodec::new()),
                        move |line: String| {
                            started.set(started.get() + 1);
                            async move {
                                sleep(Duration::from_millis(30)).await;
                                Ok::<_, io::Error>(line.to_uppercase())
                            }
                        },
                        LineProtocol { error_replies: false, shutdown: Box::pin(async move { shutdown.wait().await }) },
                    )
                    .await
            })
        };
        util::write_all(&peer, "one\ntwo\nthree\n").await;
        until(|| started.get() == 3).await;
        shutdown.open();
        let answers = util::read_to_end(&peer).await.expect("peer read");
        assert_eq!(String::from_utf8(answers).expect("utf-8 answers"), "ONE\nTWO\nTHREE\n");
        server.await.expect("server task").expect("a graceful shutdown ends with Ok");
    }
}

both_drivers! {
    async fn a_hundred_concurrent_calls_each_get_their_own_answer() {
        let (stream, server_side) = util::tcp_pair_nodelay().await;
        let server = spawn_echo_server(server_side);
        let (client, connection) = spawn_client(stream, 128);
        let calls: Vec<_> = (0..100)
            .map(|i| {
                let client = client.clone();
                ringo_reactor::spawn(async move { client.call(format!("call {i}")).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let answer = call.await.expect("call task").unwrap_or_else(|e| panic!("call {i}: {e}"));
            assert_eq!(answer, format!("re:call {i}"));
        }
        drop(client);
        connection.await.expect("connection task").expect("connection ends cleanly");
        server.await.expect("server task").expect("server ends cleanly");
    }
}

both_drivers! {
    async fn answers_match_calls_first_in_first_out_across_interleaved_callers() {
        let (stream, server_side) = util::tcp_pair_nodelay().await;
        let server = ringo_reactor::spawn(async move {
            Server::new()
                .max_in_flight(4)
                .serve(Framed::new(server_side, LinesCodec::new()), |line: String| async move {
                    // Uneven handler times, so answers become ready in a shuffled order.
                    let delay = line.bytes().map(u64::from).sum::<u64>() % 5;
                    sleep(Duration::from_millis(delay)).await;
                    Ok::<_, io::Error>(format!("re:{line}"))
                }, ())
                .await
        });
        let (client, connection) = spawn_client(stream, 16);
        let callers: Vec<_> = (0..10)
            .map(|task| {
                let client = client.clone();
                ringo_reactor::spawn(async move {
                    for call in 0..20 {
                        let request = format!("task {task} call {call}");
                        let answer = client.call(request.clone()).await
                            .unwrap_or_else(|e| panic!("{request}: {e}"));
                        assert_eq!(answer, format!("re:{request}"));
                        if (task + call) % 3 == 0 {
                            ringo_reactor::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.expect("caller task");
        }
        drop(client);
        connection.await.expect("connection task").expect("connection ends cleanly");
        server.await.expect("server task").expect("server ends cleanly");
    }
}

both_drivers! {
    async fn calls_fail_with_the_right_kind_when_the_server_hangs_up() {
        let (stream, server_side) = util::tcp_pair_nodelay().await;
        // Reads three requests, answers none, and closes.
        let server = ringo_reactor::spawn(async move {
            let mut framed = Framed::new(server_side, LinesCodec::new());
            for i in 0..3 {
                framed.next().await.unwrap_or_else(|| panic!("request {i}")).expect("decoded");
            }
        });
        let (client, connection) = spawn_client(stream, 128);
        let calls: Vec<_> = (0..3)
            .map(|i| {
                let client = client.clone();
                ringo_reactor::spawn(async move { client.call(format!("call {i}")).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let error = call.await.expect("call task").expect_err("no answer was sent");
            assert_eq!(error.kind(), ClientErrorKind::ConnectionLost, "call {i}: {error}");
        }
        server.await.expect("server task");
        connection.await.expect("connection task").expect("the server closed cleanly");
        assert!(client.is_closed(), "the client knows its connection ended");
        // A call after the end fails at its first poll: it never waits.
        for i in 0..3 {
            let mut call = pin!(client.call(format!("late call {i}")));
            match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(Err(e)) => {
                    assert_eq!(e.kind(), ClientErrorKind::NotWritten, "late call {i}: {e}");
                    assert!(e.is_not_written(), "late call {i}");
                }
                Poll::Ready(Ok(answer)) => panic!("late call {i} answered {answer:?}"),
                Poll::Pending => panic!("late call {i} waits on a dead connection"),
            }
        }
    }
}

both_drivers! {
    async fn a_call_past_max_queued_waits_for_room() {
        let (stream, server_side) = util::tcp_pair_nodelay().await;
        let answer = Gate::default();
        let server = {
            let answer = answer.clone();
            // Holds its answers until the gate opens, then echoes everything.
            ringo_reactor::spawn(async move {
                let mut framed = Framed::new(server_side, LinesCodec::new());
                let mut held = Vec::new();
                for _ in 0..4 {
                    held.push(framed.next().await.expect("a request").expect("decoded"));
                }
                answer.wait().await;
                for line in held {
                    framed.feed(format!("re:{line}")).await.expect("feed");
                }
                framed.flush().await.expect("flush");
                while let Some(line) = framed.next().await {
                    framed.send(format!("re:{}", line.expect("decoded"))).await.expect("send");
                }
            })
        };
        let (client, connection) = spawn_client(stream, 4);
        let calls: Vec<_> = (0..4)
            .map(|i| {
                let client = client.clone();
                ringo_reactor::spawn(async move { client.call(format!("call {i}")).await })
            })
            .collect();
        until(|| client.outstanding() == 4).await;
        let fifth = timeout(Duration::from_millis(50), client.call("call 4".to_owned())).await;
        assert!(fifth.is_err(), "a fifth call went through past max_queued 4: {fifth:?}");
        answer.open();
        for (i, call) in calls.into_iter().enumerate() {
            let got = call.await.expect("call task").unwrap_or_else(|e| panic!("call {i}: {e}"));
            assert_eq!(got, format!("re:call {i}"));
        }
        let fifth = client.call("call 4".to_owned()).await.expect("room once answered");
        assert_eq!(fifth, "re:call 4");
        drop(client);
        connection.await.expect("connection task").expect("connection ends cleanly");
        server.await.expect("server task");
    }
}

both_drivers! {
    async fn dropping_every_client_ends_the_connection_once_answered() {
        let (stream, server_side) = util::tcp_pair_nodelay().await;
        let server = spawn_echo_server(server_side);
        let (client, connection) = spawn_client(stream, 128);
        // The last handle goes while its call is still in flight.
        let caller = {
            let client = client.clone();
            ringo_reactor::spawn(async move { client.call("in flight".to_owned()).await })
        };
        drop(client);
        let answer = caller.await.expect("caller task").expect("answered before the end");
        assert_eq!(answer, "re:in flight");
        connection.await.expect("connection task").expect("connection ends with Ok");
        server.await.expect("server task").expect("server sees a clean end");
    }
}

both_drivers! {
    async fn dropping_the_last_client_of_an_idle_connection_ends_it() {
        let (stream, server_side) = util::tcp_pair_nodelay().await;
        let server = spawn_echo_server(server_side);
        let (client, connection) = spawn_client(stream, 128);
        assert_eq!(client.call("hello".to_owned()).await.expect("answer"), "re:hello");
        // Let the connection settle into waiting for the next response.
        sleep(Duration::from_millis(10)).await;
        drop(client);
        timeout(Duration::from_secs(5), connection)
            .await
            .expect("the connection ends when its last client is dropped")
            .expect("connection task")
            .expect("connection ends with Ok");
        server.await.expect("server task").expect("server sees a clean end");
    }
}

/// Requests per round of the throughput measurement, written in one write.
const MEASURE_REQUESTS: usize = 1000;

/// Rounds per measurement.
const MEASURE_ROUNDS: usize = 200;

/// Measurements of each kind per driver, alternating owned and pooled; the
/// median is reported.
const MEASURE_REPEATS: usize = 7;

/// One connection served by a trivial echo handler on a `Framed` that reads
/// into its own buffer or (`pooled`) from the buffer pool: `MEASURE_ROUNDS`
/// times, the peer writes `MEASURE_REQUESTS` requests at once and reads every
/// answer. Returns requests per second.
async fn pipelined_rate(pooled: bool) -> f64 {
    let (peer, stream) = util::tcp_pair_nodelay().await;
    let framed = if pooled {
        Framed::pooled(stream, LinesCodec::new())
    } else {
        Framed::new(stream, LinesCodec::new())
    };
    let server = ringo_reactor::spawn(async move {
        let echo = |line: String| async move { Ok::<_, io::Error>(line) };
        Server::new().serve(framed, echo, ()).await
    });
    let requests = "ping\n".repeat(MEASURE_REQUESTS).into_bytes();
    let mut buf = vec![0u8; 64 * 1024];
    let started = Instant::now();
    for _ in 0..MEASURE_ROUNDS {
        let (result, _) = peer.write_all(requests.clone()).await;
        result.expect("peer write");
        let mut received = 0;
        while received < requests.len() {
            let (result, back) = peer.read(buf).await;
            buf = back;
            match result.expect("peer read") {
                0 => panic!("server closed after {received} bytes of answers"),
                n => received += n,
            }
        }
    }
    let elapsed = started.elapsed();
    peer.shutdown().await.expect("peer shutdown");
    server
        .await
        .expect("server task")
        .expect("server ends cleanly");
    (MEASURE_REQUESTS * MEASURE_ROUNDS) as f64 / elapsed.as_secs_f64()
}

#[test]
#[ignore = "a measurement: cargo test --release -p ringo-proto --test pipeline measure -- --ignored --nocapture"]
fn measure_pipelined_throughput() {
    for kind in [DriverKind::Uring, DriverKind::Compat] {
        let Some(rt) = util::runtime(kind) else {
            continue;
        };
        let mut rates = [Vec::new(), Vec::new()];
        for repeat in 0..MEASURE_REPEATS {
            let order = if repeat % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for pooled in order {
                rates[usize::from(pooled)].push(rt.block_on(pipelined_rate(pooled)));
            }
        }
        for (name, mut rates) in ["owned", "pooled"].into_iter().zip(rates) {
            rates.sort_by(f64::total_cmp);
            let runs: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
            println!(
                "{kind} {name}: median {:.0} requests/s of {MEASURE_REPEATS} runs [{}] \
                 ({MEASURE_ROUNDS} rounds of {MEASURE_REQUESTS} pipelined requests)",
                rates[rates.len() / 2],
                runs.join(" ")
            );
        }
    }
}

both_drivers! {
    async fn a_quiet_reply_the_socket_takes_in_parts_still_arrives_whole() {
        // Below the backpressure mark a reply is written quietly: a write
        // that goes whole wakes nobody. This one is far larger than the
        // socket buffers of a peer that waits before reading, so it goes out
        // in short writes, each of which wakes the connection to send the
        // rest (`reactor/tests/quiet_write.rs` checks the wake itself).
        const LEN: usize = 8 << 20;
        let (peer, stream) = util::tcp_pair_nodelay().await;
        let server = ringo_reactor::spawn(async move {
            Server::new()
                .backpressure(2 * LEN)
                .serve(Framed::new(stream, LinesCodec::new()), |line: String| async move {
                    Ok::<_, io::Error>(line.repeat(LEN))
                }, ())
                .await
        });
        for letter in ["x", "y"] {
            util::write_all(&peer, format!("{letter}\n")).await;
            sleep(Duration::from_millis(50)).await;
            let (read, reply) = peer.read_exact(vec![0; LEN + 1]).await;
            read.expect("the whole reply arrives");
            assert!(reply[..LEN].iter().all(|&b| b == letter.as_bytes()[0]));
            assert_eq!(reply[LEN], b'\n');
        }
        peer.shutdown().await.expect("peer shutdown");
        server.await.expect("server task").expect("served cleanly");
    }
}
