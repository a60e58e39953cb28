//! The hand-written floor server must be right before its figures mean anything:
//! every byte echoed in order, also when its buffer ring runs dry; with
//! `--http`, exactly one well-formed response per request head however the
//! heads are split or batched; and in both modes peers that reset or
//! half-close never stop it nor leak its sockets.

// The floor server is hand-written io_uring: Linux only.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A running `raw_uring`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// `None` where the run declares a machine without io_uring
    /// (`RINGO_TEST_NO_URING`, as the reactor's tests do) and the server
    /// could not start; any other failure to start fails the test.
    fn start(extra: &[&str]) -> Option<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_raw_uring"))
            .arg("127.0.0.1:0")
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start raw_uring");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() && std::env::var_os("RINGO_TEST_NO_URING").is_some() {
            eprintln!("raw_uring did not start and RINGO_TEST_NO_URING is set: not run");
            let _ = child.wait();
            return None;
        }
        let addr = line
            .trim()
            .strip_prefix("raw_uring: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Some(Server { child, addr })
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect_timeout(&self.addr, TIMEOUT).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream
    }

    /// Sockets the server holds open (its listener included).
    fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }

    fn assert_alive(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "server exited");
    }

    /// Waits until the server holds no socket but its listener.
    fn assert_connections_close(&self) {
        let deadline = Instant::now() + TIMEOUT;
        while self.sockets() > 1 {
            assert!(Instant::now() < deadline, "{} sockets left", self.sockets());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A payload that tells which connection and offset each byte is from.
fn payload(conn: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + conn * 7) as u8).collect()
}

/// `connections` clients at once each send `len` bytes while reading the echo.
fn echo_concurrently(server: &Server, connections: usize, len: usize) {
    std::thread::scope(|scope| {
        for conn in 0..connections {
            let mut stream = server.connect();
            scope.spawn(move || {
                let sent = payload(conn, len);
                let mut writer = stream.try_clone().unwrap();
                let data = sent.clone();
                let write = std::thread::spawn(move || writer.write_all(&data));
                let mut echoed = vec![0; len];
                stream.read_exact(&mut echoed).unwrap();
                write.join().unwrap().unwrap();
                assert!(echoed == sent, "connection {conn}: echo differs");
            });
        }
    });
}

#[test]
fn echoes_every_byte_in_order() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    echo_concurrently(&server, 32, 256 * 1024);
    server.assert_alive();
}

#[test]
fn a_dry_buffer_ring_only_slows_receives() {
    // 8 buffers for 32 connections: receives keep ending with ENOBUFS and are
    // re-armed as sends give buffers back.
    let Some(mut server) = Server::start(&["--buffers", "8"]) else {
        return;
    };
    echo_concurrently(&server, 32, 256 * 1024);
    server.assert_alive();
}

#[test]
fn rejects_a_buffer_count_the_kernel_would_refuse() {
    for bad in ["3", "65536", "x"] {
        let status = Command::new(env!("CARGO_BIN_EXE_raw_uring"))
            .args(["127.0.0.1:0", "--buffers", bad])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "--buffers {bad} was accepted");
    }
}

/// Writes as much of `data` as the socket takes without waiting.
fn write_what_fits(stream: &mut TcpStream, data: &[u8]) {
    stream.set_nonblocking(true).unwrap();
    let mut written = 0;
    while written < data.len() {
        match stream.write(&data[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    stream.set_nonblocking(false).unwrap();
}

/// Makes closing `stream` send a reset instead of a FIN.
fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: sets SO_LINGER on a socket we own from a live local of the size
    // given.
    let ret = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of_val(&linger) as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0);
}

#[test]
fn resets_mid_echo_close_their_sockets_and_the_server_goes_on() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    for conn in 0..20 {
        let mut stream = server.connect();
        // Unread echoes fill our receive buffer, so the server's send of the
        // rest waits in the kernel when the reset comes.
        let len = if conn % 2 == 0 { 4 << 20 } else { 100 };
        write_what_fits(&mut stream, &payload(conn, len));
        std::thread::sleep(Duration::from_millis(10));
        set_linger_zero(&stream);
    }
    server.assert_connections_close();
    server.assert_alive();
    echo_concurrently(&server, 1, 1000);
}

#[test]
fn a_half_closed_peer_gets_every_byte_then_the_end() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let mut stream = server.connect();
    let sent = payload(0, 1 << 20);
    let mut writer = stream.try_clone().unwrap();
    let data = sent.clone();
    let write = std::thread::spawn(move || {
        writer.write_all(&data)?;
        writer.shutdown(std::net::Shutdown::Write)
    });
    let mut echoed = Vec::new();
    stream.read_to_end(&mut echoed).unwrap();
    write.join().unwrap().unwrap();
    assert!(
        echoed == sent,
        "{} of {} bytes back",
        echoed.len(),
        sent.len()
    );
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\nUser-Agent: raw_uring-test\r\n\r\n";
/// `hello_http`'s response, its date included.
const RESPONSE_LEN: usize = 115;

/// Checks that `response` is the hello response, header by header.
fn assert_hello(response: &[u8]) {
    let text = std::str::from_utf8(response).expect("response is not UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("no end of head");
    assert_eq!(body, "Hello, World!", "{text:?}");
    let lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{text:?}");
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    assert_eq!(lines[1], "content-type: text/plain");
    assert_eq!(lines[2], "content-length: 13");
    let date = lines[3].strip_prefix("date: ").expect("no date header");
    // `Fri, 27 Nov 2026 09:37:24 GMT`
    assert!(
        date.len() == 29 && &date[3..5] == ", " && date.ends_with(" GMT"),
        "bad date {date:?}"
    );
    assert_eq!(response.len(), RESPONSE_LEN);
}

/// Checks that `bytes` are `count` hello responses and nothing else.
fn assert_responses(bytes: &[u8], count: usize) {
    assert_eq!(
        bytes.len(),
        count * RESPONSE_LEN,
        "bytes for {count} responses"
    );
    let first = &bytes[..RESPONSE_LEN];
    assert_hello(first);
    // The date is fixed at start, so every response is the same bytes.
    for (i, response) in bytes.chunks(RESPONSE_LEN).enumerate() {
        assert!(response == first, "response {i} differs");
    }
}

/// Half-closes `stream` and reads what the server sends before it closes.
fn read_until_close(stream: &mut TcpStream) -> Vec<u8> {
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn http_one_get_gets_exactly_the_hello_response() {
    let Some(server) = Server::start(&["--http"]) else {
        return;
    };
    let mut stream = server.connect();
    stream.write_all(GET).unwrap();
    let mut response = [0; RESPONSE_LEN];
    stream.read_exact(&mut response).unwrap();
    assert_hello(&response);
    assert_eq!(
        read_until_close(&mut stream),
        b"",
        "bytes after the response"
    );
}

#[test]
fn http_pipelined_gets_in_one_write_get_one_response_each() {
    let Some(server) = Server::start(&["--http"]) else {
        return;
    };
    let mut stream = server.connect();
    // More than one send's batch of 32, so the count carries across sends.
    stream.write_all(&GET.repeat(100)).unwrap();
    assert_responses(&read_until_close(&mut stream), 100);
}

#[test]
fn http_a_head_sent_byte_by_byte_gets_one_response() {
    let Some(server) = Server::start(&["--http"]) else {
        return;
    };
    let mut stream = server.connect();
    stream.set_nodelay(true).unwrap();
    // One segment per byte, each given time to arrive alone, so the server
    // sees the terminator split across receives.
    for byte in GET.chunks(1) {
        stream.write_all(byte).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_responses(&read_until_close(&mut stream), 1);
}

#[test]
fn http_keep_alive_round_trips_on_several_connections() {
    let Some(mut server) = Server::start(&["--http"]) else {
        return;
    };
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let mut stream = server.connect();
            scope.spawn(move || {
                let mut responses = vec![0; 200 * RESPONSE_LEN];
                for response in responses.chunks_mut(RESPONSE_LEN) {
                    stream.write_all(GET).unwrap();
                    stream.read_exact(response).unwrap();
                }
                assert_responses(&responses, 200);
                assert_eq!(read_until_close(&mut stream), b"");
            });
        }
    });
    server.assert_alive();
}

#[test]
fn http_resets_and_half_closes_mid_stream_close_their_sockets_and_the_server_goes_on() {
    let Some(mut server) = Server::start(&["--http"]) else {
        return;
    };
    // Some 2 MiB of responses owed, which we do not read: the server's send
    // waits for space in our receive buffer when the peer goes.
    let requests = GET.repeat(20_000);
    for conn in 0..20 {
        let mut stream = server.connect();
        write_what_fits(&mut stream, &requests);
        std::thread::sleep(Duration::from_millis(10));
        if conn % 2 == 0 {
            set_linger_zero(&stream);
        } else {
            // The server sees the end of our requests while it owes, sends
            // on, and gets a reset when we close with its responses unread.
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut some = [0; 10 * RESPONSE_LEN];
            stream.read_exact(&mut some).unwrap();
            assert_responses(&some, 10);
        }
    }
    server.assert_connections_close();
    server.assert_alive();
    let mut stream = server.connect();
    stream.write_all(GET).unwrap();
    assert_responses(&read_until_close(&mut stream), 1);
}
