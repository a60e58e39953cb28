//! One soak connection: a good exchange whose every answer is checked, or a
//! fault a careless or hostile client commits. Blocking std sockets with
//! timeouts, so a server that stops answering shows as an error, never a
//! hang.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::wire::{Sender, Wire};

/// How long any read or write may block before the exchange counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Most requests a good keep-alive connection sends one after another.
const MAX_KEEP_ALIVE: u64 = 20;

/// Most requests a good connection pipelines in one write.
const MAX_PIPELINED: u64 = 64;

/// Requests a stalled reader pipelines before it reads: over 100 KiB of
/// answers back up in the socket buffers while it stalls.
const STALLED_REQUESTS: u64 = 1000;

/// How long a stalled reader leaves the answers unread.
const STALL: Duration = Duration::from_millis(200);

/// Most garbage bytes one connection sends.
const MAX_GARBAGE: usize = 2048;

/// What one connection does. The first five are good: every answer must come
/// and be right. The rest are faults: the server must survive them and
/// release the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Requests one at a time on one connection.
    KeepAlive,
    /// A batch of requests in one write, then their answers.
    Pipelined,
    /// One request, one byte per write.
    ByteByByte,
    /// Requests, then the write half shut down; the answers must still come.
    HalfClose,
    /// Thousands of requests pipelined, their answers left unread a while.
    StalledReader,
    /// Part of a request, then a reset (`SO_LINGER` 0).
    ResetMidRequest,
    /// Requests, then a close with their answers unread.
    CloseUnread,
    /// Random bytes, then a half-close: the server must close the connection.
    Garbage,
}

impl Scenario {
    /// Every scenario, in the order the report lists them.
    pub const ALL: [Scenario; 8] = [
        Scenario::KeepAlive,
        Scenario::Pipelined,
        Scenario::ByteByByte,
        Scenario::HalfClose,
        Scenario::StalledReader,
        Scenario::ResetMidRequest,
        Scenario::CloseUnread,
        Scenario::Garbage,
    ];

    /// True for the scenarios whose answers are checked.
    pub fn is_good(self) -> bool {
        matches!(
            self,
            Scenario::KeepAlive
                | Scenario::Pipelined
                | Scenario::ByteByByte
                | Scenario::HalfClose
                | Scenario::StalledReader
        )
    }

    /// Picks a scenario: the stalled reader (heavy) is rarer than the rest.
    pub fn pick(rng: &mut Rng) -> Scenario {
        match rng.below(32) {
            0 => Scenario::StalledReader,
            n => Scenario::ALL[usize::try_from(n).unwrap_or(0) % 8],
        }
    }
}

/// What one connection achieved.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Good requests sent whose answers were checked and right.
    pub answered: u64,
    /// Bytes of garbage sent.
    pub garbage: u64,
}

/// A small deterministic generator (xorshift64*), so a failing run can be
/// repeated from its seed.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs `scenario` on a new connection to `addr`. A good scenario fails on
/// any wrong, missing or late answer; a fault fails only when the server
/// misbehaves in a way the fault cannot explain (it keeps a garbage-sending
/// connection open).
pub fn run(
    wire: Wire,
    addr: SocketAddr,
    sender: Sender,
    scenario: Scenario,
    rng: &mut Rng,
) -> io::Result<Tally> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let requests = |range: std::ops::Range<u64>| -> Vec<u8> {
        range.flat_map(|n| wire.request(sender, n)).collect()
    };
    let mut tally = Tally::default();
    match scenario {
        Scenario::KeepAlive => {
            let mut reader = BufReader::new(stream.try_clone()?);
            for n in 0..1 + rng.below(MAX_KEEP_ALIVE) {
                (&stream).write_all(&wire.request(sender, n))?;
                wire.check_answer(&mut reader, sender, n)?;
                tally.answered += 1;
            }
        }
        Scenario::Pipelined | Scenario::HalfClose | Scenario::StalledReader => {
            let count = match scenario {
                Scenario::StalledReader => STALLED_REQUESTS,
                _ => 1 + rng.below(MAX_PIPELINED),
            };
            (&stream).write_all(&requests(0..count))?;
            match scenario {
                Scenario::HalfClose => stream.shutdown(Shutdown::Write)?,
                Scenario::StalledReader => std::thread::sleep(STALL),
                _ => {}
            }
            let mut reader = BufReader::new(stream.try_clone()?);
            for n in 0..count {
                wire.check_answer(&mut reader, sender, n)?;
                tally.answered += 1;
            }
            if scenario == Scenario::HalfClose {
                expect_close(&mut reader)?;
            }
        }
        Scenario::ByteByByte => {
            for byte in wire.request(sender, 0) {
                (&stream).write_all(&[byte])?;
            }
            wire.check_answer(&mut BufReader::new(stream), sender, 0)?;
            tally.answered += 1;
        }
        Scenario::ResetMidRequest => {
            let request = wire.harmless_request(sender, 0);
            let cut = 1 + rng.below(request.len() as u64 - 1) as usize;
            (&stream).write_all(&request[..cut])?;
            reset(&stream)?;
        }
        Scenario::CloseUnread => {
            let batch: Vec<u8> = (0..1 + rng.below(MAX_PIPELINED))
                .flat_map(|n| wire.harmless_request(sender, n))
                .collect();
            (&stream).write_all(&batch)?;
        }
        Scenario::Garbage => {
            let len = 1 + rng.below(MAX_GARBAGE as u64) as usize;
            let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // The server may close before reading it all: a reset here is fine.
            if (&stream).write_all(&garbage).is_ok() && stream.shutdown(Shutdown::Write).is_ok() {
                expect_close(&mut BufReader::new(stream))?;
            }
            tally.garbage += len as u64;
        }
    }
    Ok(tally)
}

/// Reads until the server closes (answers to garbage, error replies and the
/// like are discarded); a reset counts as closed, a timeout does not.
fn expect_close(reader: &mut impl Read) -> io::Result<()> {
    let mut sink = [0; 4096];
    loop {
        match reader.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("server kept the connection open: {e}"),
                ))
            }
        }
    }
}

/// Closes `stream` with a reset instead of a FIN.
fn reset(stream: &TcpStream) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is `stream`'s, open for this call; `linger` is a valid
    // `struct linger` on the stack and its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
