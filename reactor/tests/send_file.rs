//! `AsyncWrite::send_file` of a TCP stream on both drivers: byte-exact whole files and ranges,
//! the zero-copy path taken where it should be and the buffered fallback when
//! the kernel refuses splice, a file shorter than asked, a peer that resets,
//! a reader that stops (the send waits, bounded, and ends on disconnect), a
//! head put before the file on each path;
//! and a Unix stream, which sends files the same way.

use ringo_test_util as util;
#[cfg(unix)]
use ringo_test_util::both_drivers;
use ringo_test_util::on_both_drivers;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::fs::File;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::runtime::Simulate;
use ringo_reactor::time::timeout;
use ringo_reactor::{Builder, DriverKind, Runtime};
use util::{pattern, read_to_end, tcp_pair, TempDir};

/// A file of `len` bytes at `path`: `head` first, zeros (a sparse tail) after,
/// so large files cost no time to make.
fn sparse_file(path: &std::path::Path, head: &[u8], len: u64) {
    let file = std::fs::File::create(path).expect("create");
    std::io::Write::write_all(&mut &file, head).expect("write head");
    file.set_len(len).expect("set_len");
}

/// A runtime whose file sends take the path with the most to go wrong:
/// splice through a pipe on io_uring (as for a file not in the page cache:
/// `cachestat` is simulated away), `sendfile` on compat — the same
/// `sendfile` code io_uring runs for a cached file.
fn splicing(kind: DriverKind) -> Builder {
    match kind {
        DriverKind::Uring => Runtime::builder().simulate(Simulate {
            no_cachestat: true,
            ..Default::default()
        }),
        _ => Runtime::builder(),
    }
}

/// Sends `len` bytes of `file` from `offset` over a fresh pair; returns what
/// `send_file` said and what the peer received.
async fn send_and_receive(file: &File, offset: u64, len: u64) -> (u64, Vec<u8>) {
    let (client, server) = tcp_pair().await;
    let reader = ringo_reactor::spawn(async move { read_to_end(&client).await });
    let sent = server
        .send_file(file, offset, len)
        .expect("a TCP stream sends files")
        .await
        .expect("send_file");
    server.shutdown_std(Shutdown::Write).expect("shutdown");
    let received = reader.await.expect("reader task").expect("read_to_end");
    (sent, received)
}

on_both_drivers! {
    fn whole_files_and_ranges_arrive_byte_exact(kind: DriverKind) {
        util::run_with_runtime(kind, Runtime::builder(), move |rt| whole_files_and_ranges(kind, rt, true));
    }
}

/// Without `cachestat(2)` (before Linux 6.5) io_uring cannot tell a cached
/// file from one on disk, so every large send splices through io-wq.
#[cfg(target_os = "linux")]
#[test]
fn without_cachestat_uring_splices_every_large_send() {
    let builder = Runtime::builder().simulate(Simulate {
        no_cachestat: true,
        ..Default::default()
    });
    util::run_with_runtime(DriverKind::Uring, builder, |rt| {
        whole_files_and_ranges(DriverKind::Uring, rt, false)
    });
}

/// `cache_checked`: the runtime may ask `cachestat(2)` (not simulated away).
async fn whole_files_and_ranges(kind: DriverKind, rt: Rc<Runtime>, cache_checked: bool) {
    const LEN: usize = 3 * 1024 * 1024 + 17;
    let dir = TempDir::new("send-file");
    let data = pattern(LEN, 11);
    std::fs::write(dir.join("f"), &data).expect("seed");
    let file = File::open(dir.join("f")).await.expect("open");
    let before = rt.stats();
    let cases: [(u64, u64); 7] = [
        (0, 0),
        (0, 1),
        (0, 4096),
        (100, 64 * 1024 + 1),
        (0, LEN as u64),
        (12345, 2 * 1024 * 1024),
        (LEN as u64 - 10, 10),
    ];
    for (offset, len) in cases {
        let (sent, received) = send_and_receive(&file, offset, len).await;
        assert_eq!(sent, len, "sent {len} from {offset}");
        let range = offset as usize..(offset + len) as usize;
        assert!(received == data[range], "bytes of {len} from {offset}");
    }
    // The large sends went zero-copy: `sendfile` on compat and for a cached
    // file on io_uring, splice on io_uring otherwise.
    let after = rt.stats();
    let spliced = after.spliced_bytes - before.spliced_bytes;
    let sendfile = after.sendfile_bytes - before.sendfile_bytes;
    if cfg!(target_os = "linux") {
        match kind {
            DriverKind::Uring if !cache_checked => {
                assert!(
                    spliced >= LEN as u64,
                    "without cachestat, splice ({spliced})"
                );
                assert_eq!(sendfile, 0, "without cachestat, no sendfile");
            }
            DriverKind::Uring => assert!(
                spliced + sendfile >= LEN as u64,
                "zero-copy on io_uring (spliced {spliced}, sendfile {sendfile})"
            ),
            _ => {
                assert!(sendfile >= LEN as u64, "sendfile on compat ({sendfile})");
                assert_eq!(spliced, 0, "no splice on compat");
            }
        }
    }
}

on_both_drivers! {
    fn a_refused_splice_falls_back_to_the_buffered_send(kind: DriverKind) {
        let refusing = Runtime::builder().simulate(Simulate { no_splice: true, no_cachestat: true, ..Default::default() });
        util::run_with_runtime(kind, refusing, |rt| async move {
            let dir = TempDir::new("send-file-refused");
            let data = pattern(1024 * 1024, 12);
            std::fs::write(dir.join("f"), &data).expect("seed");
            let file = File::open(dir.join("f")).await.expect("open");
            for round in 0..2 {
                let (sent, received) = send_and_receive(&file, 0, data.len() as u64).await;
                assert_eq!(sent, data.len() as u64, "round {round}");
                assert!(received == data, "round {round}");
            }
            assert_eq!(rt.stats().spliced_bytes, 0, "nothing was spliced on a refusing kernel");
        });
    }
}

on_both_drivers! {
    fn a_file_shorter_than_asked_ends_the_send_early(kind: DriverKind) {
        util::run_with(kind, splicing(kind), || async move {
            let dir = TempDir::new("send-file-short");
            std::fs::write(dir.join("f"), pattern(200_000, 13)).expect("seed");
            let file = File::open(dir.join("f")).await.expect("open");
            for (offset, len, expected) in [(0, 300_000, 200_000), (150_000, 100_000, 50_000), (200_000, 10, 0), (999_999, 10, 0)] {
                let (sent, received) = send_and_receive(&file, offset, len).await;
                assert_eq!(sent, expected, "{len} from {offset}");
                assert_eq!(received.len() as u64, expected);
            }
        });
    }
}

on_both_drivers! {
    fn a_file_truncated_mid_send_ends_it_with_a_short_count(kind: DriverKind) {
        util::run_with(kind, splicing(kind), || async move {
            const LEN: usize = 64 * 1024 * 1024;
            let dir = TempDir::new("send-file-truncate");
            let path = dir.join("f");
            let head = pattern(1000, 14);
            sparse_file(&path, &head, LEN as u64);
            let file = File::open(&path).await.expect("open");
            let (client, server) = tcp_pair().await;
            let client = Rc::new(client);
            // A slow reader, so the truncation lands mid-send.
            let reader = {
                let client = client.clone();
                ringo_reactor::spawn(async move { read_to_end(&*client).await })
            };
            let truncate = ringo_reactor::spawn(async move {
                ringo_reactor::time::sleep(Duration::from_millis(5)).await;
                std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(1000).expect("truncate");
            });
            let sent = server.send_file(&file, 0, LEN as u64).expect("tcp").await.expect("send_file");
            truncate.await.expect("truncate task");
            server.shutdown_std(Shutdown::Write).expect("shutdown");
            let received = reader.await.expect("reader").expect("read");
            assert_eq!(received.len() as u64, sent, "the peer got exactly what send_file counted");
            assert!(sent < LEN as u64, "the truncation was seen (sent {sent})");
            let checked = 1000.min(received.len());
            assert!(received[..checked] == head[..checked], "the head arrived intact");
        });
    }
}

on_both_drivers! {
    fn a_peer_reset_fails_the_send_with_the_sockets_error(kind: DriverKind) {
        util::run_with(kind, splicing(kind), || async move {
            let dir = TempDir::new("send-file-reset");
            sparse_file(&dir.join("f"), b"head", 32 * 1024 * 1024);
            let file = File::open(dir.join("f")).await.expect("open");
            let (client, server) = tcp_pair().await;
            let closer = ringo_reactor::spawn(async move {
                ringo_reactor::time::sleep(Duration::from_millis(20)).await;
                client.set_linger_zero().expect("linger");
                drop(client);
            });
            let result = timeout(Duration::from_secs(10), server.send_file(&file, 0, 32 * 1024 * 1024).expect("tcp"))
                .await
                .expect("the send ends after the reset");
            closer.await.expect("closer");
            let err = result.expect_err("a reset peer fails the send");
            assert!(
                matches!(err.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
                "{err}"
            );
        });
    }
}

// Reads the sockets' kernel queues (`util::queues`), which Windows does not
// report: SIO_TCP_INFO counts only the bytes in flight, not those queued.
#[cfg(unix)]
on_both_drivers! {
    fn a_reader_that_stops_holds_the_send_bounded_until_it_leaves(kind: DriverKind) {
        util::run_with(kind, splicing(kind), || async move {
            let dir = TempDir::new("send-file-stall");
            sparse_file(&dir.join("f"), b"head", 64 * 1024 * 1024);
            let file = File::open(dir.join("f")).await.expect("open");
            let (client, server) = tcp_pair().await;
            let server = Rc::new(server);
            let sending = {
                let server = server.clone();
                ringo_reactor::spawn(async move { server.send_file(&file, 0, 64 * 1024 * 1024)?.await })
            };
            ringo_reactor::time::sleep(Duration::from_millis(300)).await;
            assert!(!sending.is_finished(), "the send waits for a reader that stopped");
            let queued = util::queues::unsent(std::os::fd::AsRawFd::as_raw_fd(&*server))
                + util::queues::unread(std::os::fd::AsRawFd::as_raw_fd(&client));
            assert!(queued < 32 * 1024 * 1024, "the kernel holds only socket buffers ({queued} bytes)");
            client.set_linger_zero().expect("linger");
            drop(client);
            let result = timeout(Duration::from_secs(10), sending)
                .await
                .expect("the send ends once the reader has gone")
                .expect("task");
            assert!(result.is_err(), "the send fails when the reader leaves: {result:?}");
        });
    }
}

#[cfg(unix)]
both_drivers! {
    async fn a_unix_stream_sends_files_too() {
        const LEN: usize = 300 * 1024 + 3;
        let dir = TempDir::new("send-file-unix");
        let data = pattern(LEN, 13);
        std::fs::write(dir.join("f"), &data).expect("seed");
        let file = File::open(dir.join("f")).await.expect("open");
        let (client, server) = ringo_reactor::net::UnixStream::pair().expect("pair");
        let reader = ringo_reactor::spawn(async move { read_to_end(&client).await });
        let sent = server
            .send_file(&file, 5, (LEN - 5) as u64)
            .expect("a Unix stream sends files")
            .await
            .expect("send_file");
        assert_eq!(sent, (LEN - 5) as u64);
        server.shutdown().await.expect("shutdown");
        let received = reader.await.expect("reader task").expect("read_to_end");
        assert!(received == data[5..], "the bytes from offset 5, byte-exact");
    }
}

on_both_drivers! {
    fn a_prepended_head_arrives_before_the_file_on_every_path(kind: DriverKind) {
        // The default (sendfile for a cached file on io_uring, sendfile on
        // compat), splice (cachestat simulated away) and the buffered
        // fallback (splice refused too).
        let paths = [
            Simulate::default(),
            Simulate { no_cachestat: true, ..Default::default() },
            Simulate { no_splice: true, no_cachestat: true, ..Default::default() },
        ];
        for simulate in paths {
            let builder = Runtime::builder().simulate(simulate);
            util::run_with_runtime(kind, builder, |_| async move {
                let dir = TempDir::new("send-file-head");
                let data = pattern(1024 * 1024 + 5, 13);
                std::fs::write(dir.join("f"), &data).expect("seed");
                let file = File::open(dir.join("f")).await.expect("open");
                // Large (the zero-copy paths), small (buffered), and empty.
                for len in [data.len() as u64, 1000, 0] {
                    let (client, server) = tcp_pair().await;
                    let reader = ringo_reactor::spawn(async move { read_to_end(&client).await });
                    let mut send = server.send_file(&file, 0, len).expect("a TCP stream sends files");
                    assert!(send.prepend(b"HTTP/1.1 200 OK\r\n\r\n"), "not polled yet");
                    let sent = (&mut send).await.expect("send_file");
                    assert_eq!(sent, len, "the count is the file's bytes");
                    assert!(!send.prepend(b"late"), "a started send takes no head");
                    server.shutdown_std(Shutdown::Write).expect("shutdown");
                    let received = reader.await.expect("reader task").expect("read_to_end");
                    let (head, body) = received.split_at(19);
                    assert_eq!(head, b"HTTP/1.1 200 OK\r\n\r\n", "{simulate:?}, {len} bytes");
                    assert!(body == &data[..len as usize], "{simulate:?}, {len} bytes");
                }
            });
        }
    }
}
