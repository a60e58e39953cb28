//! What the integration tests cannot see: which mechanism enforces a
//! deadline (a linked timeout leaves the timer wheel empty), and that an op
//! cancelled before its deadline is not reported as timed out.

use std::future::Future;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::super::recv::Recv;
use super::super::Op;
use crate::fd::SharedFd;
use crate::runtime::context;
use crate::sys::OwnedSocket;
use crate::{Builder, DriverKind};

/// A connected loopback TCP pair: the first end to read, the second to keep
/// the connection open.
fn pair() -> (SharedFd, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let theirs = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (ours, _) = listener.accept().expect("accept");
    ours.set_nonblocking(true).expect("nonblocking");
    (SharedFd::new(OwnedSocket::from(ours)), theirs)
}

/// Polls `op` once with a no-op waker.
fn poll_once(op: &mut Op<Recv<Vec<u8>>>) -> Poll<(io::Result<usize>, Vec<u8>)> {
    Pin::new(op).poll(&mut Context::from_waker(Waker::noop()))
}

fn armed_timers() -> usize {
    context::with(|rt| rt.timers.borrow().len())
}

/// A pending read with a far deadline: linked on io_uring (no timer), in the
/// wheel with the test hook and on compat.
#[test]
fn a_linked_deadline_arms_no_timer() {
    #[cfg(not(target_os = "linux"))]
    let cases = [(Builder::new().driver(DriverKind::Compat), 1)];
    #[cfg(target_os = "linux")]
    let cases = [
        (Builder::new().driver(DriverKind::Uring), 0),
        (
            Builder::new()
                .driver(DriverKind::Uring)
                .simulate(crate::runtime::Simulate {
                    no_link_timeout: true,
                    ..Default::default()
                }),
            1,
        ),
        (Builder::new().driver(DriverKind::Compat), 1),
    ];
    for (builder, timers) in cases {
        let rt = builder.build().expect("runtime");
        rt.block_on(async {
            let (fd, _peer) = pair();
            let mut op = Op::new(Recv::stream(fd, vec![0u8; 16]));
            op.set_deadline(Instant::now() + Duration::from_secs(60));
            assert!(poll_once(&mut op).is_pending());
            assert_eq!(armed_timers(), timers, "timers armed by one timed read");
            drop(op);
            assert_eq!(armed_timers(), 0, "a dropped op leaves no timer behind");
        });
    }
}

/// A linked read cancelled (as a runtime's shutdown would) long before its
/// deadline reports `ECANCELED`, not `TimedOut`. Linked timeouts are
/// io_uring's.
#[cfg(target_os = "linux")]
#[test]
fn a_cancel_before_the_deadline_is_not_a_time_out() {
    let rt = Builder::new()
        .driver(DriverKind::Uring)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (fd, _peer) = pair();
        let mut op = Op::new(Recv::stream(fd, vec![0u8; 16]));
        op.set_deadline(Instant::now() + Duration::from_secs(60));
        assert!(poll_once(&mut op).is_pending());
        let super::super::State::InFlight(key) = op.state else {
            panic!("an io_uring op is in flight after its first poll")
        };
        context::with(|rt| rt.driver.cancel(key));
        let (result, buf) = (&mut op).await;
        let error = result.expect_err("a cancelled read has no bytes");
        assert_eq!(error.raw_os_error(), Some(libc::ECANCELED), "{error}");
        assert_eq!(buf.len(), 16, "the buffer comes back");
    });
}
