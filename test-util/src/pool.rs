//! The receive buffer pool's harness: its tests run on io_uring with kernel
//! provided buffers, on io_uring with the free-list fallback, and on compat,
//! and a shared body proves exhaustion loses no byte.

use std::future::Future;
use std::time::Duration;

use ringo_reactor::buf::{BufferPool, PooledBuf};
use ringo_reactor::io::AsyncWrite;

use crate::data::pattern;
use crate::peers::tcp_pair_nodelay;

/// Defines tests of the receive buffer pool that run three ways, each on a
/// runtime built from `builder`: `name::uring`, `name::uring_free_list`
/// (provided buffers denied by the test hook, so io_uring's fallback to the
/// free list stays tested) and `name::compat`.
#[macro_export]
macro_rules! pool_drivers {
    ($builder:expr; $(#[$meta:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            fn builder() -> $crate::reactor::Builder {
                $builder
            }

            $(#[$meta])*
            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                $crate::run_with($crate::reactor::DriverKind::Uring, builder(), || {
                    $crate::with_pool_provided(true, body)
                });
            }

            $(#[$meta])*
            #[cfg(target_os = "linux")]
            #[test]
            fn uring_free_list() {
                let builder = builder().simulate($crate::reactor::runtime::Simulate {
                    no_provided_buffers: true,
                    ..Default::default()
                });
                $crate::run_with($crate::reactor::DriverKind::Uring, builder, || {
                    $crate::with_pool_provided(false, body)
                });
            }

            $(#[$meta])*
            #[test]
            fn compat() {
                $crate::run_with($crate::reactor::DriverKind::Compat, builder(), || {
                    $crate::with_pool_provided(false, body)
                });
            }
        }
    };
}

/// Runs `body` after checking that the current runtime's buffer pool is
/// (`provided`) or is not fed to the kernel as provided buffers, so each
/// variant of [`pool_drivers!`] tests the path it names.
pub async fn with_pool_provided<Fut: Future<Output = ()>>(
    provided: bool,
    body: impl FnOnce() -> Fut,
) {
    let pool = BufferPool::current().expect("the runtime's buffer pool");
    assert_eq!(pool.is_provided(), provided, "kernel-provided buffers");
    body().await;
}

/// Streams 256 KiB (pattern `seed`) over a fresh TCP pair and receives it with
/// `recv_pooled` while holding every one of the pool's `buffers`: then the pool
/// is empty and a receive waits. Releasing them resumes the stream with no byte
/// lost or reordered, EOF follows, and every buffer comes back.
pub async fn pool_exhaustion_loses_nothing(buffers: usize, seed: u64) {
    let pool = BufferPool::current().expect("the runtime's buffer pool");
    let (client, server) = tcp_pair_nodelay().await;
    let sent = pattern(256 * 1024, seed);
    let writer = ringo_reactor::spawn({
        let sent = sent.clone();
        async move {
            client.write_all(sent).await.0.expect("write");
            client
        }
    });
    let mut received = Vec::new();
    let mut held: Vec<PooledBuf> = Vec::new();
    while held.len() < buffers {
        let buf = server
            .recv_pooled()
            .await
            .expect("receive")
            .expect("not EOF");
        received.extend_from_slice(&buf);
        held.push(buf);
    }
    assert_eq!(pool.available(), 0, "the reader holds every buffer");
    let waiting =
        ringo_reactor::time::timeout(Duration::from_millis(50), server.recv_pooled()).await;
    assert!(waiting.is_err(), "a receive with the pool empty waits");
    held.clear();
    while received.len() < sent.len() {
        let buf = server
            .recv_pooled()
            .await
            .expect("receive")
            .expect("not EOF");
        received.extend_from_slice(&buf);
    }
    assert!(
        received == sent,
        "bytes lost or reordered across exhaustion"
    );
    drop(writer.await.expect("writer task"));
    assert!(
        server.recv_pooled().await.expect("receive").is_none(),
        "EOF after close"
    );
    all_buffers_back(&pool).await;
}

/// Waits until the current runtime's receive buffer pool has every buffer
/// back (none held by the application); fails after 10 s.
pub async fn all_buffers_back(pool: &BufferPool) {
    let limit = Duration::from_secs(10);
    let waited = ringo_reactor::time::timeout(limit, async {
        while pool.available() != pool.count() {
            ringo_reactor::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{} of {} buffers back after {limit:?}",
        pool.available(),
        pool.count()
    );
}
