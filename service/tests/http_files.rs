//! `ServeDir` behind the HTTP server on both drivers: files, directories and
//! index pages, content types, validators and 304s, single ranges (206/416),
//! `HEAD`, 405 — and every bad path of issue 19 (`..`, `%2e%2e`, NUL, absolute
//! paths, symlinks out of the root) answered 400/404 without a byte from
//! outside, a file truncated mid-response, a client that stops reading or
//! resets (the file is let go), pipelined file bodies in order, and the same
//! files over TLS, where they are copied rather than sent from the file.

// The reactor's test helpers: on_both_drivers!, curl, exchange_until_close.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ringo_reactor::DriverKind;
use ringo_service::http::{self as ringo_http, ServeDir};
use ringo_service::server::Running;
use util::tls as tls_util;
use util::{pattern, TempDir};

/// What a request for an absolute path gets: on Unix it is a path under the
/// root, which does not exist (404); on Windows its drive (`C:`) is no file
/// name, so the request is refused (400).
const ABSOLUTE_PATH: &[u16] = if cfg!(windows) { &[400] } else { &[404] };

/// Where curl writes a body nobody reads.
const NULL_DEVICE: &str = if cfg!(windows) { "NUL" } else { "/dev/null" };

/// What the files outside the root hold: no response may contain it.
const SECRET: &[u8] = b"top-secret-outside-the-root";

/// A served tree: `root/` with pages, a big file, a subdirectory without an
/// index, and symlinks in and out; `outside/secret` next to it.
struct Site {
    dir: TempDir,
    /// Whether the symlinks exist: Wine (8) reports a symlink made and makes
    /// none; real systems make it or fail.
    symlinks: bool,
}

impl Site {
    fn new() -> Site {
        let dir = TempDir::new("serve-dir");
        let root = dir.join("root");
        for sub in ["root/docs", "root/empty", "outside"] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        std::fs::write(root.join("index.html"), b"<h1>home</h1>").expect("seed");
        std::fs::write(root.join("docs/index.html"), b"<h1>docs</h1>").expect("seed");
        std::fs::write(root.join("style.css"), b"body{}").expect("seed");
        std::fs::write(root.join("big.bin"), pattern(3 * 1024 * 1024 + 5, 21)).expect("seed");
        std::fs::write(dir.join("outside/secret"), SECRET).expect("seed");
        symlink(&dir.join("outside/secret"), &root.join("out"), false);
        symlink(Path::new("../outside"), &root.join("outdir"), true);
        symlink(Path::new("style.css"), &root.join("alias.css"), false);
        let symlinks = std::fs::symlink_metadata(root.join("alias.css")).is_ok();
        if !symlinks {
            eprintln!("SKIPPED: symlinks in the served tree: this system reports them made but made none (Wine)");
        }
        Site { dir, symlinks }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn serve(&self, kind: DriverKind) -> Running {
        let files = ServeDir::new(self.root()).expect("ServeDir");
        ringo_http::Server::bind(util::any_local())
            .driver(kind)
            .workers(1)
            .serve(move || files.clone())
            .expect("serve")
    }
}

/// Makes `link` a symlink to `target` (a directory if `dir`; Windows tells
/// the two kinds apart).
fn symlink(target: &Path, link: &Path, dir: bool) {
    #[cfg(unix)]
    let made = {
        let _ = dir;
        std::os::unix::fs::symlink(target, link)
    };
    #[cfg(windows)]
    let made = if dir {
        std::os::windows::fs::symlink_dir(target, link)
    } else {
        std::os::windows::fs::symlink_file(target, link)
    };
    made.unwrap_or_else(|e| panic!("symlink {} -> {}: {e}", link.display(), target.display()));
}

/// A response split into status, lower-cased head text and body.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn parse(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head[9..12].parse().expect("status code");
    Reply {
        status,
        head,
        body: raw[end + 4..].to_vec(),
    }
}

/// One request (raw target, extra header lines) on its own connection.
fn request(addr: SocketAddr, method: &str, target: &str, headers: &str) -> Reply {
    let text =
        format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
    parse(&util::exchange_until_close(addr, text.as_bytes()))
}

fn stop(running: Running) {
    util::within(Duration::from_secs(10), "shutdown", move || {
        running.shutdown()
    })
    .expect("shutdown");
}

on_both_drivers! {
    fn files_directories_and_types_are_served(kind: DriverKind) {
        let site = Site::new();
        let running = site.serve(kind);
        let addr = running.local_addr();
        let home = request(addr, "GET", "/", "");
        assert_eq!((home.status, &home.body[..]), (200, &b"<h1>home</h1>"[..]));
        assert_eq!(home.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(home.header("content-length"), Some("13"));
        assert_eq!(request(addr, "GET", "/docs/", "").body, b"<h1>docs</h1>");
        assert_eq!(request(addr, "GET", "/docs", "").body, b"<h1>docs</h1>");
        if site.symlinks {
            let css = request(addr, "GET", "/alias.css", "");
            assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));
        }
        assert_eq!(request(addr, "GET", "/empty/", "").status, 404, "a directory without index");
        assert_eq!(request(addr, "GET", "/missing.txt", "").status, 404);
        let big = request(addr, "GET", "/big.bin", "");
        assert_eq!(big.status, 200);
        assert_eq!(big.header("content-type"), Some("application/octet-stream"));
        assert!(big.body == pattern(3 * 1024 * 1024 + 5, 21), "the big file arrives byte-exact");
        let post = request(addr, "POST", "/index.html", "Content-Length: 0\r\n");
        assert_eq!((post.status, post.header("allow")), (405, Some("GET, HEAD")));
        // curl, over one kept-alive connection, and the big file through it.
        if tls_util::have("curl", "files_directories_and_types_are_served, its curl part") {
            let url = |p: &str| format!("http://{addr}{p}");
            let both = util::curl(&["-w", " %{http_code} %{num_connects}\n", &url("/"), &url("/style.css")]);
            assert_eq!(both, "<h1>home</h1> 200 1\nbody{} 200 0\n");
            let size = util::curl(&["-o", NULL_DEVICE, "-w", "%{size_download}", &url("/big.bin")]);
            assert_eq!(size, (3 * 1024 * 1024 + 5).to_string());
        }
        stop(running);
    }
}

on_both_drivers! {
    fn no_bad_path_reaches_a_file_outside_the_root(kind: DriverKind) {
        let site = Site::new();
        let running = site.serve(kind);
        let addr = running.local_addr();
        let secret = site.dir.join("outside/secret");
        let absolute = format!("/{}", secret.display());
        let cases: [(&str, &[u16]); 14] = [
            ("/../outside/secret", &[400]),
            ("/docs/../../outside/secret", &[400]),
            ("/%2e%2e/outside/secret", &[400]),
            ("/%2E%2e/outside/secret", &[400]),
            ("/.%2e/outside/secret", &[400]),
            ("/docs%2f..%2f..%2foutside%2fsecret", &[400]),
            ("/index.html%00.css", &[400]),
            ("/%00", &[400]),
            ("/bad%zzescape", &[400]),
            ("/out", &[404]),
            ("/outdir/secret", &[404]),
            ("/outdir/", &[404]),
            (&absolute, ABSOLUTE_PATH),
            ("//etc/passwd", &[404]),
        ];
        for (target, allowed) in cases {
            let reply = request(addr, "GET", target, "");
            assert!(allowed.contains(&reply.status), "{target}: {}", reply.status);
            assert!(
                !reply.body.windows(SECRET.len()).any(|w| w == SECRET),
                "{target}: the secret leaked"
            );
        }
        // curl normalises "..", unless asked not to.
        if tls_util::have("curl", "no_bad_path_reaches_a_file_outside_the_root, its curl part") {
            let code = util::curl(&["--path-as-is", "-o", NULL_DEVICE, "-w", "%{http_code}",
                &format!("http://{addr}/../outside/secret")]);
            assert_eq!(code, "400");
        }
        // The server still serves after all that.
        assert_eq!(request(addr, "GET", "/style.css", "").status, 200);
        stop(running);
    }
}

on_both_drivers! {
    fn validators_answer_304_and_head_has_the_get_framing(kind: DriverKind) {
        let site = Site::new();
        let running = site.serve(kind);
        let addr = running.local_addr();
        let first = request(addr, "GET", "/style.css", "");
        let etag = first.header("etag").expect("etag").to_owned();
        let modified = first.header("last-modified").expect("last-modified").to_owned();
        let cases = [
            (format!("If-None-Match: {etag}\r\n"), 304),
            (format!("If-None-Match: W/{etag}, \"other\"\r\n"), 304),
            ("If-None-Match: \"other\"\r\n".to_owned(), 200),
            (format!("If-Modified-Since: {modified}\r\n"), 304),
            ("If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n".to_owned(), 200),
            (format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}\r\n"), 200),
            ("If-Modified-Since: not a date\r\n".to_owned(), 200),
        ];
        for (headers, expected) in cases {
            let reply = request(addr, "GET", "/style.css", &headers);
            assert_eq!(reply.status, expected, "{headers}");
            if expected == 304 {
                assert!(reply.body.is_empty(), "a 304 has no body");
                assert_eq!(reply.header("etag"), Some(etag.as_str()));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(site.root().join("style.css"), b"body{color:red}").expect("rewrite");
        let changed = request(addr, "GET", "/style.css", &format!("If-None-Match: {etag}\r\n"));
        assert_eq!(changed.status, 200, "a changed file has a new ETag");
        assert_eq!(changed.body, b"body{color:red}");

        let head = request(addr, "HEAD", "/big.bin", "");
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some((3 * 1024 * 1024 + 5).to_string().as_str()));
        assert!(head.body.is_empty(), "HEAD sends no body");
        stop(running);
    }
}

on_both_drivers! {
    fn single_ranges_get_206_and_impossible_ones_416(kind: DriverKind) {
        let site = Site::new();
        let running = site.serve(kind);
        let addr = running.local_addr();
        let len = 3 * 1024 * 1024 + 5;
        let data = pattern(len, 21);
        let cases: [(&str, usize, usize); 4] = [
            ("bytes=0-99", 0, 99),
            ("bytes=1000000-", 1_000_000, len - 1),
            ("bytes=-10", len - 10, len - 1),
            ("bytes=5-5", 5, 5),
        ];
        for (range, start, end) in cases {
            let reply = request(addr, "GET", "/big.bin", &format!("Range: {range}\r\n"));
            assert_eq!(reply.status, 206, "{range}");
            let content_range = format!("bytes {start}-{end}/{len}");
            assert_eq!(reply.header("content-range"), Some(content_range.as_str()), "{range}");
            assert!(reply.body == data[start..=end], "{range}: bytes");
        }
        let past = request(addr, "GET", "/big.bin", &format!("Range: bytes={len}-\r\n"));
        assert_eq!(past.status, 416);
        assert_eq!(past.header("content-range"), Some(format!("bytes */{len}").as_str()));
        let multi = request(addr, "GET", "/style.css", "Range: bytes=0-1,3-4\r\n");
        assert_eq!((multi.status, &multi.body[..]), (200, &b"body{}"[..]), "several ranges: whole file");
        let stale = request(addr, "GET", "/style.css", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n");
        assert_eq!(stale.status, 200, "If-Range with an old tag: whole file");
        if tls_util::have("curl", "single_ranges_get_206_and_impossible_ones_416, its curl part") {
            let curl = util::curl(&["-r", "2-4", &format!("http://{addr}/style.css")]);
            assert_eq!(curl, "dy{");
        }
        stop(running);
    }
}

/// Writes a sparse file of `len` bytes whose first bytes are `head`.
fn sparse(path: &Path, head: &[u8], len: u64) {
    let file = std::fs::File::create(path).expect("create");
    (&file).write_all(head).expect("head");
    file.set_len(len).expect("set_len");
}

on_both_drivers! {
    fn a_file_truncated_mid_response_closes_the_connection_cleanly(kind: DriverKind) {
        let site = Site::new();
        let path = site.root().join("shrinking.bin");
        let head = pattern(1024 * 1024, 22);
        sparse(&path, &head, 64 * 1024 * 1024);
        let running = site.serve(kind);
        let mut stream = std::net::TcpStream::connect(running.local_addr()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        stream.write_all(b"GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n").expect("request");
        let mut first = vec![0u8; 64 * 1024];
        stream.read_exact(&mut first).expect("the response starts");
        std::fs::OpenOptions::new().write(true).open(&path).expect("open")
            .set_len(2 * 1024 * 1024).expect("truncate");
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).expect("the server closes the connection");
        first.extend_from_slice(&rest);
        let reply = parse(&first);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-length"), Some("67108864"));
        assert!(reply.body.len() < 64 * 1024 * 1024, "the body was cut short ({} bytes)", reply.body.len());
        assert!(reply.body.len() <= 64 * 1024 * 1024);
        let checked = reply.body.len().min(head.len());
        assert!(reply.body[..checked] == head[..checked], "no garbage before the cut");
        assert!(reply.body[checked..].iter().all(|&b| b == 0), "the sparse tail, nothing else");
        assert_eq!(request(running.local_addr(), "GET", "/style.css", "").status, 200);
        stop(running);
    }
}

// Whether the file is let go is read from the process's open files, which
// only Linux (`/proc/self/fd`) and Windows (an exclusive open) show.
#[cfg(any(target_os = "linux", windows))]
on_both_drivers! {
    fn a_client_that_stops_reading_a_huge_file_is_bounded_and_let_go(kind: DriverKind) {
        let site = Site::new();
        sparse(&site.root().join("huge.bin"), b"", 1 << 30);
        let running = site.serve(kind);
        let mut stream = std::net::TcpStream::connect(running.local_addr()).expect("connect");
        stream.write_all(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n").expect("request");
        std::thread::sleep(Duration::from_millis(500));
        // What the kernel holds for this client: its receive queue (the server
        // side's send queue is the rest of the backpressure mark).
        let unread = unread(&stream);
        assert!(unread < 64 * 1024 * 1024, "a stalled client is sent only socket buffers ({unread})");
        drop(stream);
        // The server lets go: it closes the file, still serves, and shuts
        // down in time.
        assert!(released(&site.root().join("huge.bin")), "the file is closed");
        assert_eq!(request(running.local_addr(), "GET", "/style.css", "").status, 200);
        stop(running);
    }
}

/// Bytes received on `stream` and not yet read.
#[cfg(target_os = "linux")]
fn unread(stream: &std::net::TcpStream) -> u64 {
    util::queues::unread(std::os::fd::AsRawFd::as_raw_fd(stream))
}

/// Bytes received on `stream` and not yet read (`FIONREAD`).
#[cfg(windows)]
fn unread(stream: &std::net::TcpStream) -> u64 {
    use windows_sys::Win32::Networking::WinSock::{ioctlsocket, FIONREAD, SOCKET};
    let mut n = 0u32;
    let socket = std::os::windows::io::AsRawSocket::as_raw_socket(stream) as SOCKET;
    // SAFETY: FIONREAD writes one u32 through the pointer, to a live local.
    let rc = unsafe { ioctlsocket(socket, FIONREAD, &mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    u64::from(n)
}

/// Whether, within a few seconds, no fd of this process (the server runs in
/// it) is open on `path`.
#[cfg(target_os = "linux")]
fn released(path: &Path) -> bool {
    let path = path.canonicalize().expect("the file exists");
    let open = || {
        std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .filter_map(Result::ok)
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
    };
    retry_until_closed(open)
}

/// Whether, within a few seconds, no handle is open on `path`: an open that
/// shares nothing fails with a sharing violation while one is.
#[cfg(windows)]
fn released(path: &Path) -> bool {
    use std::os::windows::fs::OpenOptionsExt;
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .share_mode(0)
            .open(path)
            .is_err()
    };
    retry_until_closed(open)
}

/// Whether `open` turns false within three seconds.
#[cfg(any(target_os = "linux", windows))]
fn retry_until_closed(open: impl Fn() -> bool) -> bool {
    for _ in 0..300 {
        if !open() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[cfg(any(target_os = "linux", windows))]
on_both_drivers! {
    fn a_client_that_resets_mid_download_is_let_go(kind: DriverKind) {
        let site = Site::new();
        sparse(&site.root().join("large.bin"), b"start", 256 * 1024 * 1024);
        let running = site.serve(kind);
        let mut stream = std::net::TcpStream::connect(running.local_addr()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        stream.write_all(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n").expect("request");
        let mut first = vec![0u8; 256 * 1024];
        stream.read_exact(&mut first).expect("the response starts");
        // SO_LINGER 0: the close sends a reset, not a FIN.
        socket2_linger_zero(&stream);
        drop(stream);
        assert!(released(&site.root().join("large.bin")), "the file is closed");
        assert_eq!(request(running.local_addr(), "GET", "/style.css", "").status, 200);
        stop(running);
    }
}

/// Sets `SO_LINGER` to zero seconds, so closing `stream` resets the connection.
#[cfg(windows)]
fn socket2_linger_zero(stream: &std::net::TcpStream) {
    use windows_sys::Win32::Networking::WinSock::{
        setsockopt, LINGER, SOCKET, SOL_SOCKET, SO_LINGER,
    };
    let linger = LINGER {
        l_onoff: 1,
        l_linger: 0,
    };
    let socket = std::os::windows::io::AsRawSocket::as_raw_socket(stream) as SOCKET;
    // SAFETY: SO_LINGER reads one `LINGER` from a live local, of the size given.
    let rc = unsafe {
        setsockopt(
            socket,
            SOL_SOCKET,
            SO_LINGER,
            (&linger as *const LINGER).cast(),
            std::mem::size_of::<LINGER>() as i32,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}

/// Sets `SO_LINGER` to zero seconds, so closing `stream` resets the connection.
#[cfg(target_os = "linux")]
fn socket2_linger_zero(stream: &std::net::TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: SO_LINGER reads one `linger` from a live local, of the size given.
    let rc = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(stream),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}

on_both_drivers! {
    fn pipelined_file_bodies_come_back_in_order_on_one_connection(kind: DriverKind) {
        let site = Site::new();
        let running = site.serve(kind);
        let big = pattern(3 * 1024 * 1024 + 5, 21);
        let mut stream = std::net::TcpStream::connect(running.local_addr()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let get = |target: &str, extra: &str| format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
        let requests = [
            get("/big.bin", ""),
            get("/style.css", ""),
            "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            get("/big.bin", "Range: bytes=70000-\r\n"),
            get("/big.bin", "Connection: close\r\n"),
        ]
        .concat();
        stream.write_all(requests.as_bytes()).expect("requests");
        let mut all = Vec::new();
        stream.read_to_end(&mut all).expect("the server closes after the last");
        let mut rest = &all[..];
        let mut next = |body_len: usize| {
            let end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
            let reply = parse(&rest[..end + body_len]);
            rest = &rest[end + body_len..];
            reply
        };
        let first = next(big.len());
        assert_eq!(first.status, 200);
        assert!(first.body == big, "the first body, byte-exact");
        assert_eq!(next(6).body, b"body{}", "the small file after it");
        let head = next(0);
        assert_eq!(head.header("content-length"), Some(big.len().to_string().as_str()));
        let part = next(big.len() - 70000);
        assert_eq!(part.status, 206);
        assert!(part.body == big[70000..], "the range, byte-exact");
        let last = next(big.len());
        assert!(last.body == big, "the last body, byte-exact");
        assert!(rest.is_empty(), "nothing after the last response");
        stop(running);
    }
}

on_both_drivers! {
    fn files_over_tls_are_copied_byte_exact(kind: DriverKind) {
        if !tls_util::have("curl", "files_over_tls_are_copied_byte_exact") {
            return;
        }
        let certs = tls_util::certs("files CA");
        let site = Site::new();
        let files = ServeDir::new(site.root()).expect("ServeDir");
        let started = ringo_http::Server::bind(util::any_local())
            .driver(kind)
            .workers(1)
            .tls(certs.server_config())
            .serve(move || files.clone());
        let Some(running) = util::unless_no_uring(kind, "start the HTTPS server", started) else {
            return;
        };
        let port = running.local_addr().port();
        let out = site.dir.join("fetched.bin");
        let resolve = format!("localhost:{port}:127.0.0.1");
        let ca = certs.ca_pem.display().to_string();
        let url = format!("https://localhost:{port}/big.bin");
        let out_arg = out.display().to_string();
        util::curl(&["--cacert", &ca, "--resolve", &resolve, "-o", &out_arg, &url]);
        let fetched = std::fs::read(&out).expect("curl wrote the file");
        assert!(fetched == pattern(3 * 1024 * 1024 + 5, 21), "the big file over TLS, byte-exact");
        stop(running);
    }
}

/// Linux before 5.6 has no `openat2`, and compat runs there: every test of
/// this file again, in a child process whose `openat2` fails with `ENOSYS`
/// (a seccomp filter), so `ServeDir` takes its resolve-then-open path — the
/// same refusals, the same bytes. (io_uring's open is no syscall, so the
/// child's io_uring tests still open beneath the root.)
#[cfg(target_os = "linux")]
#[test]
fn every_file_test_passes_without_openat2() {
    use std::os::unix::process::CommandExt;
    const CHILD: &str = "RINGO_TEST_WITHOUT_OPENAT2";
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    // Load the syscall number; openat2 returns ENOSYS, all else is allowed.
    let filter = [
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_openat2 as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // An address, not a reference: the closure must be Send + Sync.
    let program_at = &program as *const libc::sock_fprog as usize;
    let exe = std::env::current_exe().expect("this test binary");
    let mut child = std::process::Command::new(exe);
    child.env(CHILD, "1").args(["--test-threads", "2"]);
    // SAFETY: between fork and exec the closure makes two prctl calls, both
    // async-signal-safe, reading `program` and `filter`, which the parent
    // keeps alive until `status` returns.
    unsafe {
        child.pre_exec(move || {
            let no_new_privs = libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            let seccomp = libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                program_at as *const libc::sock_fprog,
            );
            if no_new_privs != 0 || seccomp != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let status = child
        .status()
        .expect("rerun this file's tests without openat2");
    assert!(
        status.success(),
        "the file tests failed without openat2: {status}"
    );
}
