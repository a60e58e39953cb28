//! `AsyncWrite::poll_write_quietly` on both drivers: a write that goes whole
//! wakes nobody and waits to be collected by the next poll; a short or failed
//! one wakes its task. On compat a socket write completes inside the poll, so
//! there every case is `Ready` at once and only the results are checked.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite, WriteFuture};
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::sleep;

/// Counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Wakes {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls `write` quietly once with a waker that counts.
fn poll_quietly(
    write: &mut WriteFuture<Vec<u8>>,
    wakes: &Arc<Wakes>,
) -> Poll<(std::io::Result<usize>, Vec<u8>)> {
    let waker = Waker::from(wakes.clone());
    TcpStream::poll_write_quietly(write, &mut Context::from_waker(&waker))
}

/// Long enough for the loop to reap a completion on loopback.
const SETTLE: Duration = Duration::from_millis(50);

both_drivers! {
    async fn a_whole_quiet_write_wakes_nobody_and_is_collected_by_the_next_poll() {
        let (writer, reader) = util::tcp_pair().await;
        let wakes = Arc::new(Wakes::default());
        let mut write = writer.write(b"hello".to_vec());
        let first = poll_quietly(&mut write, &wakes);
        let (read, echoed) = reader.read_exact(vec![0; 5]).await;
        read.expect("the peer reads the bytes");
        assert_eq!(echoed, b"hello");
        let (result, _) = match first {
            Poll::Ready(done) => done,
            Poll::Pending => {
                sleep(SETTLE).await;
                assert_eq!(wakes.count(), 0, "a whole quiet write woke its task");
                match poll_quietly(&mut write, &wakes) {
                    Poll::Ready(done) => done,
                    Poll::Pending => panic!("the write went whole, yet is not collected"),
                }
            }
        };
        assert_eq!(result.expect("the write"), 5);
    }
}

both_drivers! {
    async fn a_short_quiet_write_wakes_its_task() {
        let (writer, _reader) = util::tcp_pair().await;
        // Far more than the socket buffers take while the peer reads nothing.
        let len = 64 << 20;
        let wakes = Arc::new(Wakes::default());
        let mut write = writer.write(vec![7; len]);
        let mut polled = poll_quietly(&mut write, &wakes);
        for _ in 0..200 {
            if polled.is_ready() || wakes.count() > 0 {
                break;
            }
            sleep(Duration::from_millis(10)).await;
        }
        if polled.is_pending() {
            assert_eq!(wakes.count(), 1, "a short quiet write must wake its task");
            polled = poll_quietly(&mut write, &wakes);
        }
        let Poll::Ready((result, _)) = polled else {
            panic!("woken, yet the short write is not collected");
        };
        let sent = result.expect("a short write is no error");
        assert!(sent > 0 && sent < len, "sent {sent} of {len} to a peer that reads nothing");
    }
}

both_drivers! {
    async fn a_failed_quiet_write_wakes_its_task() {
        let (writer, reader) = util::tcp_pair().await;
        // The peer resets the connection: the next send fails.
        reader.set_linger_zero().expect("SO_LINGER 0");
        drop(reader);
        sleep(SETTLE).await;
        let wakes = Arc::new(Wakes::default());
        let mut write = writer.write(vec![1; 1024]);
        let mut polled = poll_quietly(&mut write, &wakes);
        if polled.is_pending() {
            sleep(SETTLE).await;
            assert_eq!(wakes.count(), 1, "a failed quiet write must wake its task");
            polled = poll_quietly(&mut write, &wakes);
        }
        let Poll::Ready((result, _)) = polled else {
            panic!("woken, yet the failed write is not collected");
        };
        assert!(result.is_err(), "a send to a reset connection fails: {result:?}");
    }
}
