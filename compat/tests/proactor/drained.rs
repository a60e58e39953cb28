//! An attempt that says it drained its fd (`Operation::drained`) makes the next
//! one wait for an edge instead of spending a syscall on `WouldBlock` (Unix
//! only), and never makes it miss data, an EOF or an error that already
//! arrived (everywhere).

use std::cell::Cell;
use std::io::{self, Write};
use std::net::Shutdown;
use std::task::Poll;

use ringo_compat::{Interest, Operation, Proactor, RawSource};

use crate::util::{
    assert_reset, park_until_woken, poll_with, raw, reset_on_close, tcp_pair, Flag, RecvOp,
};

/// A stream read that counts its syscalls and reports a short read as drained,
/// as ringo's stream receive does.
struct StreamRead {
    inner: RecvOp,
    attempts: Cell<usize>,
}

impl StreamRead {
    fn new(fd: RawSource) -> StreamRead {
        StreamRead {
            inner: RecvOp::new(fd, 64),
            attempts: Cell::new(0),
        }
    }
}

impl Operation for StreamRead {
    fn readiness(&self) -> (RawSource, Interest) {
        self.inner.readiness()
    }

    fn attempt(&mut self) -> io::Result<usize> {
        self.attempts.set(self.attempts.get() + 1);
        self.inner.attempt()
    }

    fn drained(&self, n: usize) -> bool {
        n > 0 && n < self.inner.buf.len()
    }
}

/// Waits (bounded) until `op` completes, parking while it is pending.
fn complete(proactor: &mut Proactor, op: &mut StreamRead) -> io::Result<usize> {
    let (flag, waker) = Flag::new();
    for _ in 0..crate::util::MAX_PARKS {
        if let Poll::Ready(result) = poll_with(proactor, op, &waker) {
            return result;
        }
        assert!(park_until_woken(proactor, &flag), "read never woken");
        flag.take();
    }
    panic!("read never completed");
}

/// Registers `op`'s fd (a first attempt that would block), then has the peer
/// act and completes the read that follows.
fn first_read_after(
    proactor: &mut Proactor,
    op: &mut StreamRead,
    peer_acts: impl FnOnce(),
) -> usize {
    let (_, waker) = Flag::new();
    assert!(poll_with(proactor, op, &waker).is_pending());
    peer_acts();
    complete(proactor, op).expect("the first read succeeds")
}

// Unix only: the shortcut is off on Windows, where mio's AFD poll re-arms only
// on a `WouldBlock`, so a drained read must make its syscall there (see
// `Operation::drained` and `sys` in compat/src).
#[cfg(unix)]
#[test]
fn a_short_read_makes_the_next_read_wait_without_a_syscall() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let mut op = StreamRead::new(raw(&ours));

    let n = first_read_after(&mut proactor, &mut op, || {
        theirs.write_all(b"ping").unwrap()
    });
    assert_eq!(&op.inner.buf[..n], b"ping");
    let attempts = op.attempts.get();

    let (_, waker) = Flag::new();
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert_eq!(op.attempts.get(), attempts, "a drained fd was tried again");

    theirs.write_all(b"pong").unwrap();
    let n = complete(&mut proactor, &mut op).unwrap();
    assert_eq!(&op.inner.buf[..n], b"pong", "data after the drain is read");
}

#[test]
fn a_full_read_tries_again_at_once() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let mut op = StreamRead::new(raw(&ours));
    let sent = [7u8; 100];

    let n = first_read_after(&mut proactor, &mut op, || theirs.write_all(&sent).unwrap());
    assert_eq!(n, 64, "the buffer filled: the socket may hold more");
    let (_, waker) = Flag::new();
    match poll_with(&mut proactor, &mut op, &waker) {
        Poll::Ready(Ok(rest)) => assert_eq!(rest, 36),
        other => panic!("the rest was not read at once: {other:?}"),
    }
}

#[test]
fn an_eof_behind_the_drained_data_is_still_seen() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let mut op = StreamRead::new(raw(&ours));

    let n = first_read_after(&mut proactor, &mut op, || {
        theirs.write_all(b"last").unwrap();
        theirs.shutdown(Shutdown::Write).unwrap();
        // Let both arrive before the edge is read, so one event carries both.
        std::thread::sleep(std::time::Duration::from_millis(20));
    });
    assert_eq!(&op.inner.buf[..n], b"last");
    // The hang-up edge has been consumed; only the sticky `closed` state lets
    // the read run again and see the EOF.
    assert_eq!(
        complete(&mut proactor, &mut op).unwrap(),
        0,
        "EOF after the data"
    );
}

#[test]
fn a_reset_behind_the_drained_data_is_still_seen() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let mut op = StreamRead::new(raw(&ours));

    let n = first_read_after(&mut proactor, &mut op, || {
        theirs.write_all(b"bye").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    });
    assert_eq!(&op.inner.buf[..n], b"bye");
    reset_on_close(&theirs);
    drop(theirs);
    assert_reset(complete(&mut proactor, &mut op));
}

/// Runs everywhere, and guards Windows in particular: there the shortcut is
/// off, because mio's AFD poll only reports again once a `WouldBlock` re-armed
/// it; a drained read that skipped its syscall would wait for an event that
/// never comes.
#[test]
fn data_after_a_drained_read_wakes_the_next_read_every_time() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let mut op = StreamRead::new(raw(&ours));

    for round in 0..20u8 {
        let (_, waker) = Flag::new();
        // Drained (Unix) or would block (Windows): either way it must wait.
        assert!(
            poll_with(&mut proactor, &mut op, &waker).is_pending(),
            "round {round}: a read with nothing sent completed"
        );
        let sent = [round; 4];
        theirs.write_all(&sent).unwrap();
        let n = complete(&mut proactor, &mut op).unwrap();
        assert_eq!(&op.inner.buf[..n], &sent, "round {round}");
    }
}
