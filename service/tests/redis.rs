//! `redis::serve` and `redis::Client` around small in-test services, on both
//! drivers: failed calls become `-ERR` replies on a connection that stays
//! open, `QUIT`, protocol errors, idle timeouts, pipelining, the per-worker
//! factory, and the client's reply checks.
//!
//! The key-value server (`mini_redis`) has its own tests in `mini_redis.rs`.

// The shared test helpers (ringo-test-util): on_both_drivers!, `run_on` runs an async body on a given driver.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ringo_reactor::DriverKind;
use ringo_service::pool::PoolError;
use ringo_service::redis::{self, command, Client, Commands, Frame, Pool, ReplyError};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error, ErrorKind, Service};

on_both_drivers!(
    failed_calls_become_err_replies_and_the_connection_stays_open,
    quit_is_answered_after_earlier_replies_and_closes_the_connection,
    a_protocol_error_is_answered_and_closes_the_connection,
    inline_commands_are_answered,
    a_deep_pipeline_is_answered_in_order_with_one_command_in_flight,
    an_idle_connection_is_closed_after_the_idle_timeout,
    the_factory_makes_one_service_per_worker,
    client_helpers_reject_replies_of_the_wrong_type,
    pool_callers_wait_for_a_connect_up_to_the_waiter_limit,
);

/// The test service: `PING` → `+PONG`, `ECHO x` → `x`, `FAIL` → a failed call
/// (with a CR LF in its message), `GET missing` → null, `GET broken` → an
/// error reply, any other `GET` → `+OK` (a reply of the wrong type), anything
/// else → `+OK`.
async fn answer(request: Frame) -> Result<Frame, Error> {
    let Frame::Array(words) = request else {
        return Ok(Frame::Error("ERR not an array".into()));
    };
    let name = match words.first() {
        Some(Frame::Bulk(name) | Frame::Simple(name)) => name.to_ascii_uppercase(),
        _ => Vec::new(),
    };
    let arg = match words.get(1) {
        Some(Frame::Bulk(arg) | Frame::Simple(arg)) => arg.clone(),
        _ => Bytes::new(),
    };
    Ok(match (name.as_slice(), &arg[..]) {
        (b"PING", _) => Frame::Simple("PONG".into()),
        (b"ECHO", _) => Frame::Bulk(arg),
        (b"FAIL", _) => return Err(Error::from(std::io::Error::other("boom\r\nsplit"))),
        (b"GET", b"missing") => Frame::Null,
        (b"GET", b"broken") => Frame::Error("ERR no such thing".into()),
        _ => Frame::Simple("OK".into()),
    })
}

fn test_service() -> impl Service<Frame, Response = Frame, Error = Error> {
    service_fn(answer)
}

/// Starts `server` on `kind` with the test service; `None` when io_uring is
/// refused and the run declares a machine without it.
fn start(server: redis::Server, kind: DriverKind) -> Option<Running> {
    util::unless_no_uring(
        kind,
        "start a redis server",
        server.driver(kind).serve(test_service),
    )
}

fn local() -> redis::Server {
    redis::Server::bind(util::any_local()).workers(1)
}

/// A blocking loopback connection with a read timeout, so a bug shows as a
/// failure instead of a hang.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream
}

/// Sends `input` at once and reads until the server closes the connection.
fn exchange_until_close(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(input).expect("write the commands");
    let mut output = Vec::new();
    stream
        .read_to_end(&mut output)
        .expect("the server closes the connection");
    output
}

fn failed_calls_become_err_replies_and_the_connection_stays_open(kind: DriverKind) {
    let Some(running) = start(local(), kind) else {
        return;
    };
    let addr = running.local_addr();
    util::run_on(kind, || async move {
        let client = Client::connect(addr).await.expect("connect");
        let reply = client.call(command(["FAIL"])).await.expect("a reply");
        assert_eq!(reply, Frame::Error("ERR boom  split".into()));
        client
            .ping()
            .await
            .expect("the same connection still answers");
        assert!(!client.is_closed());
    });
}

fn quit_is_answered_after_earlier_replies_and_closes_the_connection(kind: DriverKind) {
    let Some(running) = start(local(), kind) else {
        return;
    };
    let output = exchange_until_close(
        running.local_addr(),
        b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nquit\r\n*1\r\n$4\r\nPING\r\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&output),
        "+PONG\r\n+OK\r\n",
        "the command after QUIT is neither run nor answered"
    );
}

fn a_protocol_error_is_answered_and_closes_the_connection(kind: DriverKind) {
    let Some(running) = start(local(), kind) else {
        return;
    };
    let output = exchange_until_close(running.local_addr(), b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n");
    assert_eq!(
        String::from_utf8_lossy(&output),
        "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
}

fn inline_commands_are_answered(kind: DriverKind) {
    let Some(running) = start(local(), kind) else {
        return;
    };
    let output = exchange_until_close(running.local_addr(), b"PING\r\nECHO hi\r\nQUIT\r\n");
    assert_eq!(
        String::from_utf8_lossy(&output),
        "+PONG\r\n$2\r\nhi\r\n+OK\r\n"
    );
}

fn a_deep_pipeline_is_answered_in_order_with_one_command_in_flight(kind: DriverKind) {
    let Some(running) = start(local().max_pipelined(1), kind) else {
        return;
    };
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..200 {
        let word = i.to_string();
        input.extend_from_slice(
            format!("*2\r\n$4\r\nECHO\r\n${}\r\n{word}\r\n", word.len()).as_bytes(),
        );
        expected.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
    }
    input.extend_from_slice(b"*1\r\n$4\r\nQUIT\r\n");
    expected.extend_from_slice(b"+OK\r\n");
    let output = exchange_until_close(running.local_addr(), &input);
    assert_eq!(
        String::from_utf8_lossy(&output),
        String::from_utf8_lossy(&expected)
    );
}

fn an_idle_connection_is_closed_after_the_idle_timeout(kind: DriverKind) {
    let server = local().idle_timeout(Duration::from_millis(100));
    let Some(running) = start(server, kind) else {
        return;
    };
    let output = exchange_until_close(running.local_addr(), b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(
        String::from_utf8_lossy(&output),
        "+PONG\r\n",
        "answered, then closed for idleness before the read timeout"
    );
}

fn the_factory_makes_one_service_per_worker(kind: DriverKind) {
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let server = redis::Server::bind(util::any_local())
        .workers(3)
        .driver(kind);
    let started = server.serve(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        test_service()
    });
    let Some(running) = util::unless_no_uring(kind, "start a redis server", started) else {
        return;
    };
    assert_eq!(made.load(Ordering::SeqCst), 3, "one service per worker");
    let output = exchange_until_close(running.local_addr(), b"PING\r\nQUIT\r\n");
    assert_eq!(String::from_utf8_lossy(&output), "+PONG\r\n+OK\r\n");
    assert_eq!(
        made.load(Ordering::SeqCst),
        3,
        "connections make no services"
    );
}

fn client_helpers_reject_replies_of_the_wrong_type(kind: DriverKind) {
    let Some(running) = start(local(), kind) else {
        return;
    };
    let addr = running.local_addr();
    util::run_on(kind, || async move {
        let client = Client::connect(addr).await.expect("connect");
        client
            .set("key", "value")
            .await
            .expect("+OK is what SET returns");
        let wrong = client.get("key").await.expect_err("+OK is not a GET reply");
        assert_eq!(
            wrong.downcast_ref::<ReplyError>(),
            Some(&ReplyError::Unexpected(Frame::Simple(Bytes::from_static(
                b"OK"
            ))))
        );
        assert_eq!(client.get("missing").await.expect("a null reply"), None);
        let broken = client.get("broken").await.expect_err("an error reply");
        assert_eq!(
            broken.downcast_ref::<ReplyError>(),
            Some(&ReplyError::Server("ERR no such thing".into()))
        );
        assert!(
            !client.is_closed(),
            "bad replies leave the connection usable"
        );
    });
}

fn pool_callers_wait_for_a_connect_up_to_the_waiter_limit(kind: DriverKind) {
    let Some(running) = start(local(), kind) else {
        return;
    };
    let addr = running.local_addr();
    util::run_on(kind, || async move {
        // One slot: the first call connects it; the second finds it connecting
        // and must wait, which a limit of N waiters allows N callers to do.
        for (max_waiters, second_waits) in [(0, false), (1, true)] {
            let pool = Pool::builder(addr).size(1).max_waiters(max_waiters).build();
            let calls: Vec<_> = (0..2)
                .map(|_| {
                    let pool = pool.clone();
                    ringo_reactor::spawn(async move { pool.call(command(["PING"])).await })
                })
                .collect();
            let mut results = Vec::new();
            for call in calls {
                results.push(call.await.expect("the task finishes"));
            }
            let [first, second] = &results[..] else {
                unreachable!("two calls were spawned")
            };
            assert!(
                first.is_ok(),
                "max_waiters {max_waiters}: the connecting call succeeds"
            );
            match second {
                Ok(reply) if second_waits => assert_eq!(*reply, Frame::Simple("PONG".into())),
                Err(e) if !second_waits => {
                    assert_eq!(e.kind(), ErrorKind::Unavailable);
                    let cause = e.downcast_ref::<PoolError>();
                    assert!(
                        matches!(cause, Some(PoolError::TooManyWaiters { limit: 0 })),
                        "{e}"
                    );
                }
                other => panic!("max_waiters {max_waiters}: second call gave {other:?}"),
            }
            assert_eq!(pool.connections(), 1, "max_waiters {max_waiters}");
        }
    });
}
