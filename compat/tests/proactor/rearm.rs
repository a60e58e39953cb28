//! Waits that depend on how the source is armed. mio's AFD poll on Windows
//! reports a socket once per arming, so the proactor re-arms it after every
//! `WouldBlock` and after an event that leaves a direction waiting, for the
//! directions that have waiters only. These tests run everywhere (epoll and
//! kqueue must pass them too) but exist to guard that Windows logic: a waiter
//! is woken for every new readiness of its own direction, and a socket that is
//! always writable does not report itself to a reader over and over.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use ringo_compat::{Interest, Operation, Proactor, RawSource};

use crate::util::{
    park_until_woken, poll_with, raw, tcp_pair, Flag, RecvOp, SendOp, MAX_PARKS, PARK_TIMEOUT,
};

/// Parks turns during which nothing arrives for the waiter under test.
const QUIET_TURNS: u32 = 20;

/// Round trips for the tests that wait again after every read.
const ROUND_TRIPS: usize = 50;

/// A `recv` that counts its syscalls.
struct CountingRecv {
    inner: RecvOp,
    attempts: usize,
}

impl Operation for CountingRecv {
    fn readiness(&self) -> (RawSource, Interest) {
        self.inner.readiness()
    }

    fn attempt(&mut self) -> io::Result<usize> {
        self.attempts += 1;
        self.inner.attempt()
    }
}

/// Polls `op` until it completes, parking (bounded) until woken while it is
/// pending.
fn complete<O: Operation>(
    proactor: &mut Proactor,
    op: &mut O,
    flag: &Flag,
    waker: &Waker,
) -> io::Result<usize> {
    for _ in 0..MAX_PARKS {
        if let Poll::Ready(result) = poll_with(proactor, op, waker) {
            return result;
        }
        assert!(park_until_woken(proactor, flag), "operation never woken");
        flag.take();
    }
    panic!("operation never completed");
}

/// A send on `ours` that would block: sends until the socket buffers are full
/// and the last poll stored `waker`. Returns the op and the bytes sent.
fn blocked_writer(proactor: &mut Proactor, ours: &TcpStream, waker: &Waker) -> (SendOp, usize) {
    let mut op = SendOp {
        fd: raw(ours),
        buf: vec![7; 64 * 1024],
    };
    // Loopback buffers are a few MiB at most, so 10 000 sends of 64 KiB always
    // get there.
    let mut sent = 0;
    for _ in 0..10_000 {
        match poll_with(proactor, &mut op, waker) {
            Poll::Ready(result) => sent += result.unwrap(),
            Poll::Pending => return (op, sent),
        }
    }
    panic!("send never blocked after {sent} bytes");
}

/// Reads what `theirs` has received of `sent` bytes, parking between reads,
/// until `flag` is set (the writer was woken) or everything is read. Returns
/// the bytes read.
fn drain_until_woken(
    proactor: &mut Proactor,
    theirs: &mut TcpStream,
    sent: usize,
    flag: &Flag,
) -> usize {
    let mut buf = vec![0; 1024 * 1024];
    let mut read = 0;
    while read < sent && !flag.is_set() {
        let want = (sent - read).min(buf.len());
        read += theirs.read(&mut buf[..want]).unwrap();
        proactor.park(Some(PARK_TIMEOUT)).unwrap();
    }
    assert!(park_until_woken(proactor, flag), "writer never woken");
    read
}

/// Parks `QUIET_TURNS` turns in which nothing arrives for the waiter behind
/// `flag`: it must not be woken, and the parks must last. Parks that return at
/// once mean the socket keeps reporting itself (say its writability, re-armed
/// after every event) to nobody.
fn assert_quiet(proactor: &mut Proactor, flag: &Flag, what: &str) {
    let started = Instant::now();
    for turn in 0..QUIET_TURNS {
        proactor.park(Some(PARK_TIMEOUT)).unwrap();
        assert!(
            !flag.is_set(),
            "{what} woken at turn {turn} with nothing new"
        );
    }
    let quiet = started.elapsed();
    assert!(
        quiet >= PARK_TIMEOUT * QUIET_TURNS / 2,
        "{QUIET_TURNS} parks of {PARK_TIMEOUT:?} took only {quiet:?}: events for nobody"
    );
}

#[test]
fn a_reader_on_an_always_writable_socket_is_not_woken_until_data_arrives() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = CountingRecv {
        inner: RecvOp::new(raw(&ours), 16),
        attempts: 0,
    };

    // The first wait registers the socket, the second re-arms it.
    for wait in 0..2 {
        op.attempts = 0;
        assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
        assert_quiet(&mut proactor, &flag, &format!("reader (wait {wait})"));
        // A task may be polled for other reasons; a read known not ready makes
        // no syscall.
        assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
        assert_eq!(
            op.attempts, 1,
            "wait {wait}: a read known not ready was tried again"
        );

        theirs.write_all(b"at last").unwrap();
        assert!(
            park_until_woken(&mut proactor, &flag),
            "wait {wait}: reader never woken"
        );
        flag.take();
        let n = complete(&mut proactor, &mut op, &flag, &waker).unwrap();
        assert_eq!(&op.inner.buf[..n], b"at last", "wait {wait}");
        assert!(
            op.attempts <= 3,
            "wait {wait}: {} attempts for one read that waited once",
            op.attempts
        );
    }
}

#[test]
fn a_reader_woken_first_leaves_the_writer_waiting_for_its_own_direction() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (write_flag, write_waker) = Flag::new();
    let (read_flag, read_waker) = Flag::new();
    let (mut write, sent) = blocked_writer(&mut proactor, &ours, &write_waker);
    let mut read = RecvOp::new(raw(&ours), 16);
    assert!(poll_with(&mut proactor, &mut read, &read_waker).is_pending());

    theirs.write_all(b"ping").unwrap();
    assert!(
        park_until_woken(&mut proactor, &read_flag),
        "reader never woken"
    );
    read_flag.take();
    let n = complete(&mut proactor, &mut read, &read_flag, &read_waker).unwrap();
    assert_eq!(&read.buf[..n], b"ping");

    // The event that woke the reader left the writer waiting: its direction
    // must still be armed.
    drain_until_woken(&mut proactor, &mut theirs, sent, &write_flag);
    write_flag.take();
    assert!(complete(&mut proactor, &mut write, &write_flag, &write_waker).unwrap() > 0);
}

#[test]
fn a_writer_woken_first_leaves_the_reader_waiting_for_its_own_direction() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (write_flag, write_waker) = Flag::new();
    let (read_flag, read_waker) = Flag::new();
    let mut read = RecvOp::new(raw(&ours), 16);
    assert!(poll_with(&mut proactor, &mut read, &read_waker).is_pending());
    let (mut write, sent) = blocked_writer(&mut proactor, &ours, &write_waker);

    drain_until_woken(&mut proactor, &mut theirs, sent, &write_flag);
    write_flag.take();
    assert!(complete(&mut proactor, &mut write, &write_flag, &write_waker).unwrap() > 0);

    // The event that woke the writer left the reader waiting: its direction
    // must still be armed, and only its direction (nobody waits to write).
    assert_quiet(&mut proactor, &read_flag, "reader");
    theirs.write_all(b"pong").unwrap();
    assert!(
        park_until_woken(&mut proactor, &read_flag),
        "reader never woken"
    );
    read_flag.take();
    let n = complete(&mut proactor, &mut read, &read_flag, &read_waker).unwrap();
    assert_eq!(&read.buf[..n], b"pong");
}

#[test]
fn data_after_every_would_block_wakes_the_reader() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    for round in 0..ROUND_TRIPS {
        // Nothing to read: `WouldBlock`, which must re-arm the socket.
        assert!(
            poll_with(&mut proactor, &mut op, &waker).is_pending(),
            "round {round}: a read with nothing sent completed"
        );
        let sent = [u8::try_from(round).unwrap(); 3];
        theirs.write_all(&sent).unwrap();
        assert!(
            park_until_woken(&mut proactor, &flag),
            "round {round}: reader never woken"
        );
        flag.take();
        let n = complete(&mut proactor, &mut op, &flag, &waker).unwrap();
        assert_eq!(&op.buf[..n], &sent, "round {round}");
    }
}

#[test]
fn echoes_that_arrive_while_parked_wake_the_reader_every_time() {
    let (ours, mut theirs) = tcp_pair();
    let echo = thread::spawn(move || {
        let mut buf = [0; 16];
        loop {
            let n = theirs.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            // Let the reader find nothing and park before the echo arrives.
            thread::sleep(Duration::from_millis(2));
            theirs.write_all(&buf[..n]).unwrap();
        }
    });
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();

    for round in 0..ROUND_TRIPS {
        let sent = [u8::try_from(round).unwrap(); 5];
        let mut send = SendOp {
            fd: raw(&ours),
            buf: sent.to_vec(),
        };
        assert_eq!(
            complete(&mut proactor, &mut send, &flag, &waker).unwrap(),
            5
        );
        let mut recv = RecvOp::new(raw(&ours), 16);
        let mut got = Vec::new();
        while got.len() < sent.len() {
            let n = complete(&mut proactor, &mut recv, &flag, &waker).unwrap();
            assert!(n > 0, "round {round}: EOF before the echo");
            got.extend_from_slice(&recv.buf[..n]);
        }
        assert_eq!(got, sent, "round {round}");
    }
    // EOF ends the echo thread.
    drop(ours);
    echo.join().unwrap();
}

#[test]
fn a_writer_blocked_again_after_every_drain_is_woken_every_time() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();

    for round in 0..3 {
        let (mut write, sent) = blocked_writer(&mut proactor, &ours, &waker);
        let read = drain_until_woken(&mut proactor, &mut theirs, sent, &flag);
        flag.take();
        let last = complete(&mut proactor, &mut write, &flag, &waker).unwrap();
        assert!(last > 0, "round {round}");
        // Empty the pipe, so that the next round starts from the same state.
        let mut rest = vec![0; sent + last - read];
        theirs.read_exact(&mut rest).unwrap();
    }
}
