//! The load generator: many connections on one mio (epoll) loop.
//!
//! Each connection keeps a fixed number of requests in flight: ping-pong with 1,
//! pipelining with more. Or, for the keep-alive mix of a real server, a few
//! hundred requests are in flight over thousands of connections, each next
//! request on the connection that has been idle longest (`LoadSpec::active`). A reply is verified ([`workload`]) and timed from the
//! moment its request was queued; the next request goes out at once. Requests
//! completing during the warm-up are not counted. The generator is a plain
//! readiness loop with no allocation per request, so that it is not the
//! bottleneck when it has its own core.

pub mod http2;
pub mod transport;
pub mod workload;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::sync::Arc;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Registry, Token};
use ringo_proto::tls::rustls::ClientConfig;
use ringo_service::observe::Histogram;

use crate::proc;
use transport::Transport;
use workload::Workload;

/// One load run.
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub connections: usize,
    /// Requests kept in flight per connection.
    pub in_flight: usize,
    /// The keep-alive mix: at most this many requests in flight across all
    /// connections, one per connection, each next request going to the
    /// connection that has waited longest, so most connections sit idle at
    /// any moment. `None`: every connection keeps `in_flight`.
    pub active: Option<usize>,
    pub warmup: Duration,
    pub duration: Duration,
    /// Makes the workload of connection `i`.
    pub workload: fn(usize) -> Box<dyn Workload>,
    /// The server's pid, if known: its CPU time is sampled at the start and
    /// end of the measured window (not the warm-up).
    pub server_pid: Option<u32>,
    /// Speak TLS with this configuration.
    pub tls: Option<Arc<ClientConfig>>,
    /// Close each connection after its reply and open a new one for the
    /// next request (a TLS handshake per request); needs `in_flight` 1.
    pub new_connection_per_request: bool,
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
    stream: Transport,
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
        match self.stream.flush() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            done => done,
        }
    }

    /// Replaces the connection with a new one (registered under `token`)
    /// and queues the next request on it.
    fn reconnect(
        &mut self,
        spec: &LoadSpec,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> io::Result<()> {
        registry.deregister(self.stream.socket())?;
        self.stream = open(spec, registry, token)?;
        self.input.clear();
        self.queue(now);
        self.flush()
    }
}

/// A new connection to the spec's server, registered under `token`.
fn open(spec: &LoadSpec, registry: &Registry, token: Token) -> io::Result<Transport> {
    let stream = connect(spec.addr)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    let mut stream = Transport::new(TcpStream::from_std(stream), spec.tls.as_ref())?;
    registry.register(
        stream.socket(),
        token,
        Interest::READABLE | Interest::WRITABLE,
    )?;
    Ok(stream)
}

/// Connects to `addr`, retrying briefly while the server's accept queue is
/// full.
fn connect(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let mut attempt = 0;
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => return Ok(s),
            Err(_) if attempt < 50 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs `spec` and reports what it measured.
pub fn run(spec: &LoadSpec) -> io::Result<LoadResult> {
    let mut poll = Poll::new()?;
    let mut conns: Vec<Conn> = Vec::with_capacity(spec.connections);
    for i in 0..spec.connections {
        let stream = open(spec, poll.registry(), Token(i))?;
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
    // Active mode: the connections with nothing in flight, longest idle first.
    let mut waiting = VecDeque::new();
    for (i, conn) in conns.iter_mut().enumerate() {
        let requests = match spec.active {
            None => spec.in_flight,
            Some(active) if i < active => 1,
            Some(_) => {
                waiting.push_back(i);
                0
            }
        };
        for _ in 0..requests {
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
            let i = event.token().0;
            let conn = &mut conns[i];
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
                // The next request goes on this connection, unless the
                // keep-alive mix rotates it or a new connection takes it.
                let requeue = spec.active.is_none() && !spec.new_connection_per_request;
                let replies =
                    match on_readable(conn, &mut chunk, measure_from, end, requeue, &mut result) {
                        Ok(replies) => replies,
                        Err(message) => {
                            fail(&mut result, conn, message);
                            continue;
                        }
                    };
                let now = Instant::now();
                if now >= end {
                    continue;
                }
                if spec.active.is_some() {
                    for _ in 0..replies {
                        waiting.push_back(i);
                        send_to_longest_idle(&mut conns, &mut waiting, &mut result);
                    }
                } else if spec.new_connection_per_request && conn.sent.is_empty() {
                    if let Err(e) = conn.reconnect(spec, poll.registry(), event.token(), now) {
                        fail(&mut result, conn, format!("reconnect: {e}"));
                    }
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

/// Active mode: the next request goes to the connection idle the longest.
fn send_to_longest_idle(
    conns: &mut [Conn],
    waiting: &mut VecDeque<usize>,
    result: &mut LoadResult,
) {
    while let Some(j) = waiting.pop_front() {
        let conn = &mut conns[j];
        if conn.dead {
            continue;
        }
        conn.queue(Instant::now());
        if let Err(e) = conn.flush() {
            fail(result, conn, format!("write: {e}"));
            continue;
        }
        return;
    }
}

/// Reads what is available and checks every whole reply; with `requeue`,
/// sends each next request on this connection at once. Returns how many
/// replies arrived.
fn on_readable(
    conn: &mut Conn,
    chunk: &mut [u8],
    measure_from: Instant,
    end: Instant,
    requeue: bool,
    result: &mut LoadResult,
) -> Result<usize, String> {
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
    let mut replies = 0;
    let now = Instant::now();
    while let Some(n) = conn.workload.parse_reply(&conn.input[consumed..])? {
        consumed += n;
        replies += 1;
        let sent = conn.sent.pop_front().ok_or("reply without a request")?;
        if now >= measure_from && now < end {
            result.requests += 1;
            result.latency.record(now - sent);
        }
        if requeue && now < end {
            conn.queue(now);
        }
    }
    conn.input.drain(..consumed);
    conn.flush().map_err(|e| format!("write: {e}"))?;
    Ok(replies)
}

/// Opens `n` connections to `addr` that each make one real request and then
/// stay idle (for memory-per-connection figures): an idle keep-alive
/// connection has parsed a request and written a response, so whatever its
/// server keeps from that is counted too. With `tls`, each finishes its
/// handshake first, so the figure is that of an idle TLS session. `first`
/// numbers the connections for the workload, so several batches to one
/// server use distinct keys.
pub fn open_idle(
    addr: SocketAddr,
    first: usize,
    n: usize,
    workload: fn(usize) -> Box<dyn Workload>,
    tls: Option<&Arc<ClientConfig>>,
) -> io::Result<Vec<Transport>> {
    // Each connects, handshakes and makes its request in turn, as a client
    // does: connected all at once first, the last of a batch would wait
    // longer than a server's TLS handshake timeout (10 s for ringo's) before
    // sending its hello, and be cut off.
    (0..n)
        .map(|i| {
            let stream = connect(addr)?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut idle = Transport::new(TcpStream::from_std(stream), tls)?;
            idle.finish_handshake()?;
            one_round_trip(&mut idle, workload(first + i).as_mut())
                .map_err(|e| io::Error::new(e.kind(), format!("idle connection {i}: {e}")))?;
            Ok(idle)
        })
        .collect()
}

/// Sends one request on a blocking `stream` and reads its whole, correct reply.
fn one_round_trip(stream: &mut Transport, workload: &mut dyn Workload) -> io::Result<()> {
    let mut request = Vec::new();
    workload.write_request(&mut request);
    stream.write_all(&request)?;
    stream.flush()?;
    let mut input = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match workload.parse_reply(&input) {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => {}
            Err(message) => return Err(io::Error::new(io::ErrorKind::InvalidData, message)),
        }
        match stream.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => input.extend_from_slice(&chunk[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// An echo server, a thread per connection, that waits `delay` before each
    /// reply and counts the requests each connection made.
    fn slow_echo(connections: usize, delay: Duration) -> (SocketAddr, Arc<Vec<AtomicUsize>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new((0..connections).map(|_| AtomicUsize::new(0)).collect());
        let served = counts.clone();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(connections).enumerate() {
                let mut stream = stream.unwrap();
                let served = served.clone();
                std::thread::spawn(move || {
                    let mut message = [0u8; 64];
                    while stream.read_exact(&mut message).is_ok() {
                        std::thread::sleep(delay);
                        served[i].fetch_add(1, Ordering::Relaxed);
                        if stream.write_all(&message).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, counts)
    }

    #[test]
    fn the_keep_alive_mix_rotates_over_every_connection_with_a_bounded_number_in_flight() {
        const CONNECTIONS: usize = 40;
        const ACTIVE: usize = 4;
        let delay = Duration::from_millis(2);
        let (addr, counts) = slow_echo(CONNECTIONS, delay);
        let duration = Duration::from_millis(400);
        let result = run(&LoadSpec {
            addr,
            connections: CONNECTIONS,
            in_flight: 1,
            active: Some(ACTIVE),
            warmup: Duration::ZERO,
            duration,
            workload: |i| Box::new(workload::Echo::new(64, i)),
            server_pid: None,
            tls: None,
            new_connection_per_request: false,
        })
        .unwrap();
        assert_eq!(result.errors, 0, "{:?}", result.first_error);
        let served: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert!(
            served.iter().all(|&n| n > 0),
            "every connection takes its turn: {served:?}"
        );
        // Each request holds the server for at least `delay`, so at most
        // ACTIVE at a time fit this many into the run (plus the last round).
        let bound = ACTIVE * (duration.as_millis() / delay.as_millis()) as usize + ACTIVE;
        let total: usize = served.iter().sum();
        assert!(
            total <= bound,
            "{total} requests: more than {ACTIVE} were in flight at once"
        );
    }
}
