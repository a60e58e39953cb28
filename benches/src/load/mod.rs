//! The load generator: many connections on one mio (epoll) loop.
//!
//! Each connection keeps a fixed number of requests in flight: ping-pong with 1,
//! pipelining with more. A reply is verified ([`workload`]) and timed from the
//! moment its request was queued; the next request goes out at once. Requests
//! completing during the warm-up are not counted. The generator is a plain
//! readiness loop with no allocation per request, so that it is not the
//! bottleneck when it has its own core.

pub mod http2;
pub mod workload;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use ringo_service::observe::Histogram;

use crate::proc;
use workload::Workload;

/// One load run.
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub connections: usize,
    /// Requests kept in flight per connection.
    pub in_flight: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Makes the workload of connection `i`.
    pub workload: fn(usize) -> Box<dyn Workload>,
    /// The server's pid, if known: its CPU time is sampled at the start and
    /// end of the measured window (not the warm-up).
    pub server_pid: Option<u32>,
}

/// What a load run measured.
#[derive(Debug)]
pub struct LoadResult {
    /// Correct replies in the measured window.
    pub requests: u64,
    /// Wrong replies, broken connections and failed connects.
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Histogram,
    /// CPU time the server used during the measured window.
    pub server_cpu: Duration,
}

struct Conn {
    stream: TcpStream,
    workload: Box<dyn Workload>,
    out: Vec<u8>,
    out_pos: usize,
    input: Vec<u8>,
    sent: VecDeque<Instant>,
    dead: bool,
}

impl Conn {
    fn queue(&mut self, now: Instant) {
        self.workload.write_request(&mut self.out);
        self.sent.push_back(now);
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }
}

/// Connects `n` sockets to `addr`, retrying briefly while the server's accept
/// queue is full.
fn connect_all(addr: SocketAddr, n: usize) -> io::Result<Vec<std::net::TcpStream>> {
    (0..n)
        .map(|_| {
            let mut attempt = 0;
            loop {
                match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                    Ok(s) => return Ok(s),
                    Err(e) if attempt < 50 => {
                        attempt += 1;
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .collect()
}

/// Runs `spec` and reports what it measured.
pub fn run(spec: &LoadSpec) -> io::Result<LoadResult> {
    let mut poll = Poll::new()?;
    let mut conns: Vec<Conn> = Vec::with_capacity(spec.connections);
    for (i, stream) in connect_all(spec.addr, spec.connections)?
        .into_iter()
        .enumerate()
    {
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns.push(Conn {
            stream,
            workload: (spec.workload)(i),
            out: Vec::with_capacity(4096),
            out_pos: 0,
            input: Vec::with_capacity(16 * 1024),
            sent: VecDeque::with_capacity(spec.in_flight),
            dead: false,
        });
    }
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let mut result = LoadResult {
        requests: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: Histogram::new(),
        server_cpu: Duration::ZERO,
    };
    let mut cpu_at_start = None;
    for conn in &mut conns {
        for _ in 0..spec.in_flight {
            conn.queue(start);
        }
        if let Err(e) = conn.flush() {
            fail(&mut result, conn, format!("write: {e}"));
        }
    }
    let mut events = Events::with_capacity(1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        if cpu_at_start.is_none() && now >= measure_from {
            cpu_at_start = Some(server_cpu(spec.server_pid)?);
        }
        if now >= end || conns.iter().all(|c| c.dead) {
            break;
        }
        poll.poll(
            &mut events,
            Some((end - now).min(Duration::from_millis(50))),
        )?;
        for event in events.iter() {
            let conn = &mut conns[event.token().0];
            if conn.dead {
                continue;
            }
            if event.is_writable() {
                if let Err(e) = conn.flush() {
                    fail(&mut result, conn, format!("write: {e}"));
                    continue;
                }
            }
            if event.is_readable() || event.is_read_closed() {
                if let Err(message) = on_readable(conn, &mut chunk, measure_from, end, &mut result)
                {
                    fail(&mut result, conn, message);
                }
            }
        }
    }
    result.elapsed = Instant::now()
        .min(end)
        .saturating_duration_since(measure_from);
    let cpu_at_end = server_cpu(spec.server_pid)?;
    result.server_cpu = cpu_at_end.saturating_sub(cpu_at_start.unwrap_or(cpu_at_end));
    Ok(result)
}

fn server_cpu(pid: Option<u32>) -> io::Result<Duration> {
    pid.map_or(Ok(Duration::ZERO), proc::cpu_time)
}

fn fail(result: &mut LoadResult, conn: &mut Conn, message: String) {
    conn.dead = true;
    result.errors += 1;
    result.first_error.get_or_insert(message);
}

/// Reads what is available, checks every whole reply, and sends the next requests.
fn on_readable(
    conn: &mut Conn,
    chunk: &mut [u8],
    measure_from: Instant,
    end: Instant,
    result: &mut LoadResult,
) -> Result<(), String> {
    loop {
        match conn.stream.read(chunk) {
            Ok(0) => return Err("server closed the connection".to_owned()),
            Ok(n) => conn.input.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let mut consumed = 0;
    let now = Instant::now();
    while let Some(n) = conn.workload.parse_reply(&conn.input[consumed..])? {
        consumed += n;
        let sent = conn.sent.pop_front().ok_or("reply without a request")?;
        if now >= measure_from && now < end {
            result.requests += 1;
            result.latency.record(now - sent);
        }
        if now < end {
            conn.queue(now);
        }
    }
    conn.input.drain(..consumed);
    conn.flush().map_err(|e| format!("write: {e}"))
}

/// Opens `n` idle connections to `addr` (for memory-per-connection figures).
pub fn open_idle(addr: SocketAddr, n: usize) -> io::Result<Vec<std::net::TcpStream>> {
    connect_all(addr, n)
}
