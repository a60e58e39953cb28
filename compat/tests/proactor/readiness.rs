//! Operations that would block wait for readiness and are woken by `park`: data,
//! buffer space, EOF and resets all wake the waiters.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::task::{Poll, Waker};

use ringo_compat::{Interest, Operation, Proactor, RawSource};

use crate::util::{
    assert_reset, park_until_woken, poll_with, raw, reset_on_close, tcp_pair, Flag, RecvOp, SendOp,
    NOT_A_SOCKET, NOT_A_SOCKET_ERROR,
};

/// Polls `op` until it completes, parking while it is pending.
fn complete<O: Operation>(proactor: &mut Proactor, op: &mut O) -> io::Result<usize> {
    let (flag, waker) = Flag::new();
    for _ in 0..crate::util::MAX_PARKS {
        if let Poll::Ready(result) = poll_with(proactor, op, &waker) {
            return result;
        }
        assert!(park_until_woken(proactor, &flag), "operation never woken");
        flag.take();
    }
    panic!("operation never completed");
}

#[test]
fn read_that_would_block_is_pending_then_woken_after_the_peer_writes() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert_eq!(proactor.registered(), 1);
    theirs.write_all(b"ping").unwrap();
    assert!(park_until_woken(&mut proactor, &flag), "reader never woken");

    let n = complete(&mut proactor, &mut op).unwrap();
    assert_eq!(&op.buf[..n], b"ping");
}

#[test]
fn two_reads_waiting_on_one_fd_are_both_woken() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (first_flag, first) = Flag::new();
    let (second_flag, second) = Flag::new();
    let mut first_op = RecvOp::new(raw(&ours), 16);
    let mut second_op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut first_op, &first).is_pending());
    assert!(poll_with(&mut proactor, &mut second_op, &second).is_pending());
    theirs.write_all(b"x").unwrap();

    assert!(
        park_until_woken(&mut proactor, &first_flag),
        "first reader never woken"
    );
    assert!(
        park_until_woken(&mut proactor, &second_flag),
        "second reader never woken"
    );
}

#[test]
fn the_same_waker_waiting_twice_is_stored_once() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    let stored_once = Arc::strong_count(&flag);
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert_eq!(Arc::strong_count(&flag), stored_once, "waker stored twice");
}

#[test]
fn write_that_would_block_is_woken_when_the_peer_reads() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = SendOp {
        fd: raw(&ours),
        buf: vec![7; 64 * 1024],
    };

    // Fill the socket buffers until a send would block; loopback buffers are a few
    // MiB at most, so 10 000 sends of 64 KiB always get there.
    let mut sent = 0;
    let mut blocked = false;
    for _ in 0..10_000 {
        match poll_with(&mut proactor, &mut op, &waker) {
            Poll::Ready(result) => sent += result.unwrap(),
            Poll::Pending => {
                blocked = true;
                break;
            }
        }
    }
    assert!(blocked, "send never blocked after {sent} bytes");

    let mut drained = vec![0; 1024 * 1024];
    let mut read = 0;
    while read < sent && !flag.is_set() {
        read += theirs.read(&mut drained).unwrap();
        proactor.park(Some(crate::util::PARK_TIMEOUT)).unwrap();
    }
    assert!(park_until_woken(&mut proactor, &flag), "writer never woken");
    assert!(complete(&mut proactor, &mut op).unwrap() > 0);
}

#[test]
fn eof_wakes_the_reader_and_recv_returns_zero() {
    let (ours, theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    drop(theirs);
    assert!(
        park_until_woken(&mut proactor, &flag),
        "reader never woken by EOF"
    );
    assert_eq!(complete(&mut proactor, &mut op).unwrap(), 0);
}

#[test]
fn half_close_wakes_the_reader_and_writes_still_complete() {
    let (ours, theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut read = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut read, &waker).is_pending());
    theirs.shutdown(Shutdown::Write).unwrap();
    assert!(
        park_until_woken(&mut proactor, &flag),
        "reader never woken by half-close"
    );
    assert_eq!(complete(&mut proactor, &mut read).unwrap(), 0);

    let mut write = SendOp {
        fd: raw(&ours),
        buf: b"still open".to_vec(),
    };
    assert_eq!(complete(&mut proactor, &mut write).unwrap(), 10);
}

#[test]
fn peer_reset_wakes_the_reader_with_an_error() {
    let (ours, theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    reset_on_close(&theirs);
    drop(theirs);
    assert!(
        park_until_woken(&mut proactor, &flag),
        "reader never woken by reset"
    );
    assert_reset(complete(&mut proactor, &mut op));
}

/// An operation that always would block, counting its attempts.
#[derive(Debug)]
struct AlwaysBlocks {
    fd: RawSource,
    attempts: usize,
}

impl Operation for AlwaysBlocks {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd, Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        self.attempts += 1;
        Err(io::ErrorKind::WouldBlock.into())
    }
}

#[test]
fn an_fd_known_not_ready_is_not_attempted_again() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (_flag, waker) = Flag::new();
    let mut op = AlwaysBlocks {
        fd: raw(&ours),
        attempts: 0,
    };

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert_eq!(op.attempts, 1);
}

#[test]
fn a_direction_not_known_blocked_is_still_attempted() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let waker = Waker::from(Arc::new(Flag::default()));
    let mut read = RecvOp::new(raw(&ours), 16);
    let mut write = SendOp {
        fd: raw(&ours),
        buf: b"out".to_vec(),
    };

    assert!(poll_with(&mut proactor, &mut read, &waker).is_pending());
    assert!(matches!(
        poll_with(&mut proactor, &mut write, &waker),
        Poll::Ready(Ok(3))
    ));
}

#[test]
fn a_real_error_completes_at_once_without_registering() {
    let mut proactor = Proactor::new().unwrap();
    let (_flag, waker) = Flag::new();
    let mut op = RecvOp::new(NOT_A_SOCKET, 16);

    match poll_with(&mut proactor, &mut op, &waker) {
        Poll::Ready(Err(e)) => assert_eq!(e.raw_os_error(), Some(NOT_A_SOCKET_ERROR), "{e}"),
        other => panic!("expected EBADF (WSAENOTSOCK on Windows), got {other:?}"),
    }
    assert_eq!(proactor.registered(), 0);
}
