//! File bodies (`Outgoing::File`) through `serve_connection` on both drivers
//! and both write paths: a plain TCP stream, which sends the file itself
//! (`sendfile`, or splice on io_uring for a file not in the page cache), and
//! a transport without a file send, whose file bodies are copied through the
//! write buffer (as over TLS).
//! Checked byte for byte: pipelined answers in order with HEAD and ranges
//! between them and the connection kept alive after; a file truncated
//! mid-send cutting the body short and closing; a peer that resets; and a
//! reader that stops holding the send to socket buffers, its leaving freeing
//! the file.

// The shared test helpers (ringo-test-util): both_drivers!, loopback pairs, peer reads and writes.
use ringo_test_util as util;
use ringo_test_util::{both_drivers, on_both_drivers};

use std::io::ErrorKind as IoKind;
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::DATE;
use http::{HeaderValue, Request, Response};
use ringo_proto::framed::FileRange;
use ringo_proto::http::{serve_connection, Error, Outgoing, ServerConfig};
use ringo_proto::pipeline::ServerError;
use ringo_reactor::buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
use ringo_reactor::fs::File;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::timeout;
use ringo_reactor::Runtime;
use util::{pattern, TempDir};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Served = Result<(), ServerError<Error, BoxError>>;

/// A TCP stream without a file send: `send_file` keeps the trait's
/// `Unsupported`, so file bodies take the copying path a TLS stream takes.
struct Copying(TcpStream);

impl AsyncRead for Copying {
    type Read<B: IoBufMut> = <TcpStream as AsyncRead>::Read<B>;

    fn read<B: IoBufMut>(&self, buf: B) -> Self::Read<B> {
        self.0.read(buf)
    }

    fn poll_recv_pooled(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<Option<PooledBuf>>> {
        self.0.poll_recv_pooled(cx)
    }
}

impl AsyncWrite for Copying {
    type Write<B: IoBuf> = <TcpStream as AsyncWrite>::Write<B>;

    fn write<B: IoBuf>(&self, buf: B) -> Self::Write<B> {
        self.0.write(buf)
    }

    async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        self.0.writev(bufs).await
    }

    async fn shutdown(&self) -> std::io::Result<()> {
        self.0.shutdown().await
    }
}

/// Size of `file.bin`: more than one pipe round and one copy chunk.
const LEN: usize = 3 * 1024 * 1024 + 5;

/// The files served, under a fresh directory; the server opens them per request.
struct Site {
    dir: TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = TempDir::new("file-body");
        std::fs::write(dir.join("file.bin"), pattern(LEN, 31)).expect("seed");
        Site { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Serves `stream` (through `Copying` if `copy`), answering `GET /NAME` with
/// the file NAME, `Range: bytes=A-B` with that range (as a 200, framing being
/// the point here), and `/whole` with a body from memory.
fn spawn_server(stream: TcpStream, dir: PathBuf, copy: bool) -> ringo_reactor::JoinHandle<Served> {
    ringo_reactor::spawn(async move {
        let handler = move |request: Request<Bytes>| {
            let dir = dir.clone();
            async move {
                let name = request.uri().path().trim_start_matches('/').to_owned();
                let body = if name == "whole" {
                    Outgoing::Full(Bytes::from_static(b"whole"))
                } else {
                    let file = File::open(dir.join(&name)).await?;
                    let len = file.metadata().await?.len();
                    let (start, end) = match request.headers().get("range") {
                        Some(range) => parse_range(range.to_str()?),
                        None => (0, len),
                    };
                    Outgoing::File(FileRange::new(file, start, end - start))
                };
                let mut response = Response::new(body);
                response
                    .headers_mut()
                    .insert(DATE, HeaderValue::from_static("test"));
                Ok::<_, BoxError>(response)
            }
        };
        let config = ServerConfig::default();
        if copy {
            serve_connection(Copying(stream), &config, handler, std::future::pending()).await
        } else {
            serve_connection(stream, &config, handler, std::future::pending()).await
        }
    })
}

/// `bytes=A-B` as the half-open range `A..B+1`.
fn parse_range(value: &str) -> (u64, u64) {
    let (a, b) = value
        .trim_start_matches("bytes=")
        .split_once('-')
        .expect("a range");
    (
        a.parse().expect("start"),
        b.parse::<u64>().expect("end") + 1,
    )
}

/// A client and a fresh server for `site`.
async fn connect(site: &Site, copy: bool) -> (TcpStream, ringo_reactor::JoinHandle<Served>) {
    let (peer, stream) = util::tcp_pair_nodelay().await;
    (peer, spawn_server(stream, site.dir.join(""), copy))
}

fn head(len: usize) -> String {
    format!("HTTP/1.1 200 OK\r\ndate: test\r\ncontent-length: {len}\r\n\r\n")
}

/// Reads exactly `n` bytes from `peer`.
async fn read_n(peer: &TcpStream, n: usize) -> Vec<u8> {
    let (read, buf) = peer.read_exact(vec![0u8; n]).await;
    read.expect("the bytes arrive");
    buf
}

// Whether the server let a file go is read from the process's open files,
// which only Linux (`/proc/self/fd`) and Windows (an open that shares
// nothing) show; elsewhere the tests check the rest.

/// Whether an fd of this process is open on `path` (a file the server holds).
#[cfg(target_os = "linux")]
fn open_in_process(path: &std::path::Path) -> bool {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(Result::ok)
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

/// Whether a handle is open on `path` (a file the server holds): an open
/// that shares nothing then fails with a sharing violation.
#[cfg(windows)]
fn open_in_process(path: &std::path::Path) -> bool {
    use std::os::windows::fs::OpenOptionsExt;
    let exclusive = std::fs::OpenOptions::new()
        .read(true)
        .share_mode(0)
        .open(path);
    exclusive.is_err()
}

/// Waits (bounded) until no fd of this process is open on `path`.
#[cfg(any(target_os = "linux", windows))]
async fn released(path: &std::path::Path) -> bool {
    let path = path.canonicalize().expect("the file exists");
    let path = path.as_path();
    for _ in 0..200 {
        if !open_in_process(path) {
            return true;
        }
        ringo_reactor::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

async fn pipelined_in_order(rt: &Runtime, copy: bool) {
    // Bytes sent from a file without a copy: spliced, or by `sendfile`.
    let zero_copy = || {
        let stats = rt.stats();
        stats.spliced_bytes + stats.sendfile_bytes
    };
    let zero_copy_before = zero_copy();
    let site = Site::new();
    let data = pattern(LEN, 31);
    let (peer, server) = connect(&site, copy).await;
    let requests = "GET /file.bin HTTP/1.1\r\nhost: t\r\n\r\n\
                    GET /whole HTTP/1.1\r\nhost: t\r\n\r\n\
                    HEAD /file.bin HTTP/1.1\r\nhost: t\r\n\r\n\
                    GET /file.bin HTTP/1.1\r\nhost: t\r\nrange: bytes=100000-300004\r\n\r\n\
                    GET /whole HTTP/1.1\r\nhost: t\r\n\r\n";
    util::write_all(&peer, requests).await;
    let mut expected = head(LEN).into_bytes();
    expected.extend_from_slice(&data);
    expected.extend_from_slice(head(5).as_bytes());
    expected.extend_from_slice(b"whole");
    expected.extend_from_slice(head(LEN).as_bytes());
    expected.extend_from_slice(head(200_005).as_bytes());
    expected.extend_from_slice(&data[100_000..300_005]);
    expected.extend_from_slice(head(5).as_bytes());
    expected.extend_from_slice(b"whole");
    let got = read_n(&peer, expected.len()).await;
    assert!(
        got == expected,
        "copy={copy}: five answers in order, byte-exact"
    );
    // The file bodies took the path their transport allows: zero-copy
    // (`sendfile`, or splice on io_uring for a file not in the page cache),
    // copied through the write buffer otherwise.
    let sent = zero_copy() - zero_copy_before;
    if copy || cfg!(not(target_os = "linux")) {
        assert_eq!(sent, 0, "copy={copy}: nothing sent zero-copy");
    } else {
        assert!(
            sent >= (LEN + 200_005) as u64,
            "copy={copy}: both bodies sent zero-copy ({sent} bytes)"
        );
    }
    // Kept alive: the next request is answered on the same connection.
    util::write_all(&peer, "GET /whole HTTP/1.1\r\nhost: t\r\n\r\n").await;
    let again = read_n(&peer, head(5).len() + 5).await;
    assert_eq!(
        again,
        format!("{}whole", head(5)).into_bytes(),
        "copy={copy}"
    );
    drop(peer);
    let served = timeout(Duration::from_secs(10), server).await;
    assert!(
        matches!(served, Ok(Ok(Ok(())))),
        "copy={copy}: the connection ends cleanly when the peer closes"
    );
}

on_both_drivers! {
    fn pipelined_file_bodies_go_out_in_order_and_keep_the_connection(kind: DriverKind) {
        util::run_with_runtime(kind, Runtime::builder(), move |rt| async move {
            pipelined_in_order(&rt, false).await;
            pipelined_in_order(&rt, true).await;
        });
    }
}

async fn truncated_mid_send(copy: bool) {
    const BIG: u64 = 64 * 1024 * 1024;
    let site = Site::new();
    let path = site.path("shrinking.bin");
    let start = pattern(1024 * 1024, 32);
    {
        let file = std::fs::File::create(&path).expect("create");
        std::io::Write::write_all(&mut &file, &start).expect("write");
        file.set_len(BIG).expect("set_len");
    }
    let (peer, server) = connect(&site, copy).await;
    util::write_all(&peer, "GET /shrinking.bin HTTP/1.1\r\nhost: t\r\n\r\n").await;
    let mut got = read_n(&peer, head(BIG as usize).len() + 64 * 1024).await;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(2 * 1024 * 1024)
        .expect("truncate");
    let rest = timeout(Duration::from_secs(20), util::read_to_end(&peer))
        .await
        .expect("the server closes the connection")
        .expect("read");
    got.extend_from_slice(&rest);
    let expected_head = head(BIG as usize);
    assert!(got.starts_with(expected_head.as_bytes()), "copy={copy}");
    let body = &got[expected_head.len()..];
    assert!(
        (body.len() as u64) < BIG,
        "copy={copy}: the body was cut short ({} bytes)",
        body.len()
    );
    let checked = body.len().min(start.len());
    assert!(
        body[..checked] == start[..checked],
        "copy={copy}: no garbage before the cut"
    );
    assert!(
        body[checked..].iter().all(|&b| b == 0),
        "copy={copy}: the sparse tail, nothing else"
    );
    let served = timeout(Duration::from_secs(10), server)
        .await
        .expect("the server ends")
        .expect("server task");
    match served {
        Err(ServerError::Codec(e)) => {
            let io = std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            assert_eq!(io, Some(IoKind::UnexpectedEof), "copy={copy}: {e}");
        }
        other => panic!("copy={copy}: a short file ends the connection with an error: {other:?}"),
    }
    #[cfg(any(target_os = "linux", windows))]
    assert!(released(&path).await, "copy={copy}: the file is closed");
}

both_drivers! {
    async fn a_file_truncated_mid_send_cuts_the_body_and_closes() {
        truncated_mid_send(false).await;
        truncated_mid_send(true).await;
    }
}

async fn reset_mid_send(copy: bool) {
    let site = Site::new();
    let path = site.path("big.bin");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(256 * 1024 * 1024))
        .expect("sparse file");
    let (peer, server) = connect(&site, copy).await;
    util::write_all(&peer, "GET /big.bin HTTP/1.1\r\nhost: t\r\n\r\n").await;
    read_n(&peer, 256 * 1024).await;
    peer.set_linger_zero().expect("linger");
    drop(peer);
    let served = timeout(Duration::from_secs(10), server)
        .await
        .expect("the server ends after the reset")
        .expect("server task");
    assert!(
        served.is_err(),
        "copy={copy}: a reset mid-body is an error: {served:?}"
    );
    #[cfg(any(target_os = "linux", windows))]
    assert!(released(&path).await, "copy={copy}: the file is closed");
}

both_drivers! {
    async fn a_peer_reset_mid_send_ends_the_connection_and_frees_the_file() {
        reset_mid_send(false).await;
        reset_mid_send(true).await;
    }
}

async fn stalled_reader(copy: bool) {
    let site = Site::new();
    let path = site.path("huge.bin");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(1 << 30))
        .expect("sparse file");
    let (peer, stream) = util::tcp_pair_nodelay().await;
    #[cfg(unix)]
    let server_fd = stream.as_raw_fd();
    let server = spawn_server(stream, site.dir.join(""), copy);
    util::write_all(&peer, "GET /huge.bin HTTP/1.1\r\nhost: t\r\n\r\n").await;
    ringo_reactor::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !server.is_finished(),
        "copy={copy}: the send waits for the reader"
    );
    // What the kernel holds: the server's send queue and the peer's receive
    // queue; the rest of a 1 GiB body was never read from the file. (Unix:
    // Windows has no call for the bytes a socket has yet to send.)
    #[cfg(unix)]
    {
        let queued = util::queues::unsent(server_fd) + util::queues::unread(peer.as_raw_fd());
        assert!(
            queued < 32 * 1024 * 1024,
            "copy={copy}: only socket buffers are held ({queued} bytes)"
        );
    }
    peer.set_linger_zero().expect("linger");
    drop(peer);
    let served = timeout(Duration::from_secs(10), server)
        .await
        .expect("the server ends once the reader has gone")
        .expect("server task");
    assert!(served.is_err(), "copy={copy}: {served:?}");
    #[cfg(any(target_os = "linux", windows))]
    assert!(released(&path).await, "copy={copy}: the file is closed");
}

both_drivers! {
    async fn a_reader_that_stops_holds_socket_buffers_and_its_leaving_frees_the_file() {
        stalled_reader(false).await;
        stalled_reader(true).await;
    }
}
