//! Registered buffers on both drivers: `FixedBufPool` and the fixed file
//! calls read and write what the plain calls do, registered (io_uring) or not
//! (compat, a refused registration, a second pool); the pool's limits; and
//! cancellation: a read dropped in flight keeps its buffer until its
//! completion, and dropping the pool or the runtime with reads in flight
//! frees nothing under them.

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::io::ErrorKind;
#[cfg(unix)]
use std::io::{Read, Write};
use std::path::Path;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::buf::{FixedBufPool, MAX_FIXED_BUFFERS, MAX_FIXED_BUFFER_SIZE};
use ringo_reactor::fs::{File, OpenOptions};
use ringo_reactor::runtime::Simulate;
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::{Builder, DriverKind, Runtime};
#[cfg(unix)]
use util::pipe;
use util::{pattern, TempDir};

/// Size of the buffers of the cancellation tests: large enough that a read
/// of a whole buffer is still running when its future is dropped, small
/// enough to stay far below `RLIMIT_MEMLOCK` with every test's pool at once.
const BIG: usize = 256 * 1024;

/// How long a test waits for a buffer to come back before failing.
const BACK_WITHIN: Duration = Duration::from_secs(5);

/// A runtime builder whose io_uring refuses registered buffers.
fn refusing() -> Builder {
    Runtime::builder().simulate(Simulate {
        no_registered_buffers: true,
        ..Default::default()
    })
}

/// Creates `path` holding `data` and opens it read-write.
async fn file_with(path: &Path, data: &[u8]) -> File {
    std::fs::write(path, data).expect("seed the file");
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .await
        .expect("open")
}

/// Writes, reads back and checks `data` at `offset` through `pool`'s buffers,
/// by the fixed calls and by the plain ones, which must agree.
async fn round_trip(pool: &FixedBufPool, file: &File, data: &[u8], offset: u64, what: &str) {
    let mut buf = pool.get().await;
    buf.extend_from_slice(data);
    let (written, buf) = file.write_fixed_at(buf, offset).await;
    assert_eq!(
        written.expect("write_fixed_at"),
        data.len(),
        "{what}: written"
    );
    drop(buf);
    let (read, buf) = file.read_fixed_at(pool.get().await, offset).await;
    let n = read.expect("read_fixed_at");
    assert_eq!(buf.len(), n, "{what}: the read sets the length");
    // The file goes on past what was written; a read takes a whole buffer.
    assert!(n >= data.len(), "{what}: read {n} of {} bytes", data.len());
    assert!(
        buf[..data.len()] == *data,
        "{what}: read_fixed_at reads what was written"
    );
    // A pool buffer is an ordinary owned buffer too.
    let (plain, other) = file.read_at(pool.get().await, offset).await;
    assert_eq!(plain.expect("read_at"), n, "{what}: read_at's count");
    assert!(
        other[..] == buf[..],
        "{what}: read_at into a pool buffer reads the same"
    );
}

on_both_drivers! {
    fn fixed_reads_and_writes_agree_with_plain_ones(kind: DriverKind) {
        util::run_on(kind, || async move {
            let dir = TempDir::new("fixed-round-trip");
            let file = file_with(&dir.join("f"), &pattern(64 * 1024, 3)).await;
            let pool = FixedBufPool::new(4, 4096).expect("pool");
            assert_eq!(pool.is_registered(), kind == DriverKind::Uring, "{kind}: registered");
            assert_eq!((pool.count(), pool.buffer_size(), pool.available()), (4, 4096, 4));
            for (i, offset) in [0u64, 1, 4095, 4096, 40_000].into_iter().enumerate() {
                let data = pattern(1000 + i * 700, i as u64);
                round_trip(&pool, &file, &data, offset, &format!("{kind} offset {offset}")).await;
            }
            // Past the end: 0 bytes; across it: a short read.
            let (n, buf) = file.read_fixed_at(pool.get().await, 1 << 20).await;
            assert_eq!((n.expect("read past the end"), buf.len()), (0, 0), "{kind}: past the end");
            let (n, buf) = file.read_fixed_at(buf, 64 * 1024 - 100).await;
            assert_eq!(n.expect("read across the end"), 100, "{kind}: across the end");
            assert_eq!(&buf[..], &pattern(64 * 1024, 3)[64 * 1024 - 100..], "{kind}: tail");
            drop(buf);
            assert_eq!(pool.available(), 4, "{kind}: every buffer back");
        });
    }
}

on_both_drivers! {
    fn a_refused_registration_reads_and_writes_the_same(kind: DriverKind) {
        util::run_with(kind, refusing(), || async move {
            let dir = TempDir::new("fixed-refused");
            let file = file_with(&dir.join("f"), &pattern(16 * 1024, 5)).await;
            let pool = FixedBufPool::new(2, 4096).expect("pool without registration");
            assert!(!pool.is_registered(), "{kind}: the refusal leaves it unregistered");
            round_trip(&pool, &file, &pattern(3000, 9), 123, &format!("{kind} refused")).await;
        });
    }
}

on_both_drivers! {
    fn the_ring_table_goes_to_one_pool_at_a_time(kind: DriverKind) {
        util::run_on(kind, || async move {
            let uring = kind == DriverKind::Uring;
            let dir = TempDir::new("fixed-one-at-a-time");
            let file = file_with(&dir.join("f"), &pattern(16 * 1024, 6)).await;
            let first = FixedBufPool::new(4, 4096).expect("first pool");
            let second = FixedBufPool::new(2, 4096).expect("second pool");
            assert_eq!(first.is_registered(), uring, "{kind}: the first pool takes the table");
            assert!(!second.is_registered(), "{kind}: the second finds it lent out");
            round_trip(&second, &file, &pattern(2000, 1), 0, &format!("{kind} second")).await;
            // A buffer out keeps the first pool, and its lease, alive.
            let held = first.try_get().expect("a buffer of the first pool");
            drop(first);
            let third = FixedBufPool::new(2, 4096).expect("third pool");
            assert!(!third.is_registered(), "{kind}: still lent while a buffer is out");
            drop((held, third));
            let fourth = FixedBufPool::new(2, 4096).expect("fourth pool");
            assert_eq!(fourth.is_registered(), uring, "{kind}: the emptied table is lent again");
            round_trip(&fourth, &file, &pattern(2000, 2), 100, &format!("{kind} fourth")).await;
            drop(fourth);
            // Larger than the first: registered where the kernel has sparse
            // tables (Linux 5.19), plain before; the same results either way.
            let larger = FixedBufPool::new(8, 4096).expect("larger pool");
            round_trip(&larger, &file, &pattern(2000, 4), 200, &format!("{kind} larger")).await;
        });
    }
}

on_both_drivers! {
    fn pool_limits_are_checked_at_their_edges(kind: DriverKind) {
        // Unregistered, so the largest buffer stays address space: registering
        // it would pin a whole GiB.
        util::run_with(kind, refusing(), || async move {
            let cases: [(&str, usize, usize, bool); 6] = [
                ("no buffers", 0, 4096, false),
                ("the most buffers", MAX_FIXED_BUFFERS, 1, true),
                ("one buffer too many", MAX_FIXED_BUFFERS + 1, 1, false),
                ("empty buffers", 1, 0, false),
                ("the largest buffer", 1, MAX_FIXED_BUFFER_SIZE, true),
                ("a buffer too large", 1, MAX_FIXED_BUFFER_SIZE + 1, false),
            ];
            for (name, count, size, ok) in cases {
                match FixedBufPool::new(count, size) {
                    Ok(pool) => {
                        assert!(ok, "{kind} {name}: accepted");
                        assert_eq!((pool.count(), pool.buffer_size()), (count, size), "{kind} {name}");
                    }
                    Err(e) => {
                        assert!(!ok, "{kind} {name}: refused: {e}");
                        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{kind} {name}: {e}");
                    }
                }
            }
        });
        let outside = FixedBufPool::new(1, 4096).expect_err("no runtime on this thread");
        assert!(outside.to_string().contains("no ringo runtime"), "{outside}");
    }
}

on_both_drivers! {
    fn get_waits_for_a_buffer_to_come_back(kind: DriverKind) {
        util::run_on(kind, || async move {
            let pool = FixedBufPool::new(1, 64).expect("pool");
            let held = pool.try_get().expect("the one buffer");
            assert!(pool.try_get().is_none(), "{kind}: none left");
            let waiting = {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.get().await.capacity() })
            };
            sleep(Duration::from_millis(5)).await;
            assert!(!waiting.is_finished(), "{kind}: get waits while the buffer is out");
            drop(held);
            let capacity = timeout(BACK_WITHIN, waiting).await.expect("woken").expect("task");
            assert_eq!(capacity, 64, "{kind}: got the buffer back");
        });
    }
}

on_both_drivers! {
    fn a_fixed_read_dropped_in_flight_keeps_its_buffer_until_its_completion(kind: DriverKind) {
        util::run_on(kind, || async move {
            let dir = TempDir::new("fixed-dropped-read");
            let data = pattern(BIG, 8);
            let file = file_with(&dir.join("f"), &data).await;
            // Unix also reads a pipe, whose read waits for data (a pipe read on
            // Windows's blocking pool would hold its thread instead).
            #[cfg(unix)]
            let (mut pipe_writer, mut pipe_reader, pipe) = {
                let (read_end, write_end) = pipe();
                let reader = std::fs::File::from(read_end.try_clone().expect("dup"));
                (std::fs::File::from(write_end), reader, File::from_std(std::fs::File::from(read_end)))
            };
            #[cfg(unix)]
            let sources = [&file, &pipe, &file, &pipe];
            #[cfg(windows)]
            let sources = [&file, &file];
            let pool = FixedBufPool::new(1, BIG).expect("pool");
            for (round, source) in sources.into_iter().enumerate() {
                let what = format!("{kind} round {round}");
                {
                    let mut read = pin!(source.read_fixed_at(pool.try_get().expect("free"), 0));
                    assert!(futures::poll!(read.as_mut()).is_pending(), "{what}: in flight");
                }
                assert_eq!(pool.available(), 0, "{what}: the dropped read still owns its buffer");
                let mut buf = timeout(BACK_WITHIN, pool.get()).await.expect("buffer back");
                assert_eq!(buf.len(), 0, "{what}: back empty");
                // Lent again: nothing may write it now but its new owner.
                let marker = vec![0xA5; BIG];
                buf.extend_from_slice(&marker);
                #[cfg(unix)]
                pipe_writer.write_all(b"late").expect("write to the pipe");
                sleep(Duration::from_millis(20)).await;
                assert!(buf[..] == marker[..], "{what}: the re-lent buffer was written");
                // The cancelled pipe read took nothing: the bytes wait in the pipe.
                #[cfg(unix)]
                {
                    let mut late = [0u8; 4];
                    pipe_reader.read_exact(&mut late).expect("read the pipe");
                    assert_eq!(&late, b"late", "{what}: the pipe kept its bytes");
                }
            }
        });
    }
}

on_both_drivers! {
    fn dropping_the_pool_with_a_read_in_flight_keeps_its_memory(kind: DriverKind) {
        util::run_on(kind, || async move {
            let dir = TempDir::new("fixed-pool-dropped");
            let data = pattern(BIG, 11);
            let file = Rc::new(file_with(&dir.join("f"), &data).await);
            let pool = FixedBufPool::new(2, BIG).expect("pool");
            let buf = pool.try_get().expect("free");
            let reading = file.clone();
            let read = ringo_reactor::spawn(async move { reading.read_fixed_at(buf, 0).await });
            drop(pool);
            let (n, buf) = read.await.expect("read task");
            assert_eq!(n.expect("read into a pool buffer whose handle is gone"), BIG);
            assert!(buf[..] == data[..], "{kind}: the read landed in the buffer");
            drop(buf);
            // The last buffer back freed the pool and emptied the ring's table.
            let next = FixedBufPool::new(2, BIG).expect("next pool");
            assert_eq!(next.is_registered(), kind == DriverKind::Uring, "{kind}: table free");
        });
    }
}

on_both_drivers! {
    fn dropping_the_runtime_with_fixed_reads_in_flight_waits_for_them(kind: DriverKind) {
        for keep_pool in [true, false] {
            let what = format!("{kind}, pool handle kept: {keep_pool}");
            util::within(Duration::from_secs(30), "runtime drop with fixed reads in flight", move || {
                let rt = util::runtime(kind).expect("runtime");
                let dir = TempDir::new("fixed-runtime-dropped");
                #[cfg(unix)]
                let (read_end, write_end) = pipe();
                let kept = rt.block_on(async {
                    let file = Rc::new(file_with(&dir.join("f"), &pattern(BIG, 12)).await);
                    let pool = FixedBufPool::new(4, BIG).expect("pool");
                    // A pipe without data: on io_uring its read stays in flight
                    // (compat's pread fails at once with ESPIPE). Unix only, as above.
                    #[cfg(unix)]
                    {
                        let pipe = File::from_std(std::fs::File::from(read_end));
                        let buf = pool.try_get().expect("free");
                        drop(ringo_reactor::spawn(async move { pipe.read_fixed_at(buf, 0).await.0 }));
                    }
                    for _ in 0..3 {
                        let (file, buf) = (file.clone(), pool.try_get().expect("free"));
                        drop(ringo_reactor::spawn(async move { file.read_fixed_at(buf, 0).await.0 }));
                    }
                    ringo_reactor::task::yield_now().await;
                    if kind == DriverKind::Uring {
                        assert!(pool.available() < 4, "{kind}: the pipe read holds a buffer");
                    }
                    keep_pool.then_some(pool)
                });
                drop(rt);
                // The read end closed with the runtime: nothing lands anywhere.
                #[cfg(unix)]
                let _ = std::fs::File::from(write_end).write_all(b"late");
                if let Some(pool) = kept {
                    assert_eq!(pool.available(), 4, "{what}: every buffer back after the drop");
                    let mut buf = pool.try_get().expect("usable after its runtime");
                    buf.extend_from_slice(b"still mapped");
                    assert_eq!(&buf[..], b"still mapped", "{what}");
                }
            });
        }
    }
}
