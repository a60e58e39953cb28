//! An fd is registered on its first `WouldBlock` and forgotten by `deregister`;
//! both wake waiters so no task is left hanging, and a reused fd number starts fresh.

use std::io::Write;

use ringo_compat::Proactor;

use crate::util::{park_until_woken, poll_with, raw, tcp_pair, Flag, RecvOp, NOT_A_SOCKET};

#[test]
fn registered_goes_back_to_zero_after_deregister() {
    let (first, _first_peer) = tcp_pair();
    let (second, _second_peer) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (_flag, waker) = Flag::new();
    assert_eq!(proactor.registered(), 0);

    for stream in [&first, &second] {
        let mut op = RecvOp::new(raw(stream), 16);
        assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
        // A second wait on the same fd does not register it again.
        assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    }
    assert_eq!(proactor.registered(), 2);

    proactor.deregister(raw(&first));
    assert_eq!(proactor.registered(), 1);
    proactor.deregister(raw(&second));
    assert_eq!(proactor.registered(), 0);
    // Forgetting an fd that is not registered changes nothing.
    proactor.deregister(raw(&second));
    proactor.deregister(NOT_A_SOCKET);
    assert_eq!(proactor.registered(), 0);
}

#[test]
fn deregister_wakes_the_waiters() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert!(!flag.is_set());
    proactor.deregister(raw(&ours));
    assert!(flag.is_set(), "waiter not woken by deregister");
}

#[test]
fn dropping_the_proactor_wakes_the_waiters() {
    let (ours, _theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    drop(proactor);
    assert!(flag.is_set(), "waiter not woken by drop");
}

// Unix only: it needs `dup2` to hand the old number to a new socket in one
// step; Windows has no way to choose a socket's handle value. The test below,
// which runs everywhere, covers a handle registered again after `deregister`.
#[cfg(unix)]
#[test]
fn an_fd_number_reused_after_deregister_works() {
    use std::os::fd::AsRawFd;

    let (old, _old_peer) = tcp_pair();
    let fd = raw(&old);
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

#[test]
fn a_socket_registered_again_after_deregister_starts_fresh() {
    let (ours, mut theirs) = tcp_pair();
    let mut proactor = Proactor::new().unwrap();
    let (flag, waker) = Flag::new();
    let mut op = RecvOp::new(raw(&ours), 16);

    // Known not readable, then forgotten.
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    proactor.deregister(raw(&ours));
    assert_eq!(proactor.registered(), 0);
    flag.take();

    // Stale "not readable" state would skip the read and wait for an event from
    // a registration that is gone: data sent now must be read.
    theirs.write_all(b"again").unwrap();
    let mut read = None;
    for _ in 0..crate::util::MAX_PARKS {
        if let std::task::Poll::Ready(result) = poll_with(&mut proactor, &mut op, &waker) {
            read = Some(result.unwrap());
            break;
        }
        assert!(
            park_until_woken(&mut proactor, &flag),
            "re-registered socket never woken"
        );
        flag.take();
    }
    let n = read.expect("the read never completed");
    assert_eq!(&op.buf[..n], b"again");

    // And the new registration waits and wakes like the first.
    assert!(poll_with(&mut proactor, &mut op, &waker).is_pending());
    assert_eq!(proactor.registered(), 1);
    theirs.write_all(b"more").unwrap();
    assert!(
        park_until_woken(&mut proactor, &flag),
        "re-registered socket never woken"
    );
}
