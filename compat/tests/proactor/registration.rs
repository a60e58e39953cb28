//! An fd is registered on its first `WouldBlock` and forgotten by `deregister`;
//! both wake waiters so no task is left hanging, and a reused fd number starts fresh.

use std::io::Write;
use std::os::fd::AsRawFd;

use ringo_compat::Proactor;

use crate::util::{park_until_woken, poll_with, tcp_pair, Flag, RecvOp};

#[test]
fn registered_goes_back_to_zero_after_deregister() {
    let (first, _first_peer) = tcp_pair();
    let (second, _second_peer) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (_flag, waker) = Flag::new();
    assert_eq!(proactor.registered(), 0);

    for stream in [&first, &second] {
        let mut op = RecvOp::new(stream.as_raw_fd(), 16);
        assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
        // A second wait on the same fd does not register it again.
        assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    }
    assert_eq!(proactor.registered(), 2);

    proactor.deregister(first.as_raw_fd());
    assert_eq!(proactor.registered(), 1);
    proactor.deregister(second.as_raw_fd());
    assert_eq!(proactor.registered(), 0);
    // Forgetting an fd that is not registered changes nothing.
    proactor.deregister(second.as_raw_fd());
    proactor.deregister(-1);
    assert_eq!(proactor.registered(), 0);
}

#[test]
fn deregister_wakes_the_waiters() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(ours.as_raw_fd(), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert!(!flag.is_set());
    proactor.deregister(ours.as_raw_fd());
    assert!(flag.is_set(), "waiter not woken by deregister");
}

#[test]
fn dropping_the_proactor_wakes_the_waiters() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(ours.as_raw_fd(), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    drop(proactor);
    assert!(flag.is_set(), "waiter not woken by drop");
}

#[test]
fn an_fd_number_reused_after_deregister_works() {
    let (old, _old_peer) = tcp_pair();
    let fd = old.as_raw_fd();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();

    let mut op = RecvOp::new(fd, 16);
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    proactor.deregister(fd);
    flag.take();

    // Give the number to a new socket. dup2 closes the old socket and reuses its
    // number in one step, so no other test thread can take the number in between.
    let (fresh, mut fresh_peer) = tcp_pair();
    // SAFETY: both fds are open for the whole call; `fd` stays owned by `old`, which
    // now closes the duplicate of `fresh` instead of the old socket.
    let ret = unsafe { libc::dup2(fresh.as_raw_fd(), fd) };
    assert_eq!(ret, fd, "dup2: {}", std::io::Error::last_os_error());

    let mut op = RecvOp::new(fd, 16);
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert_eq!(proactor.registered(), 1);
    fresh_peer.write_all(b"new").unwrap();
    assert!(
        park_until_woken(&mut proactor, &flag),
        "reused fd never woken"
    );
    match poll_with(&mut proactor, &mut op, &waker) {
        std::task::Poll::Ready(Ok(n)) => assert_eq!(&op.buf[..n], b"new"),
        other => panic!("expected the new socket's data, got {other:?}"),
    }
}
