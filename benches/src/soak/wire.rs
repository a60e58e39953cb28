//! The two protocols the soak speaks, as requests whose exact answers are
//! known in advance, so every good request's answer is checked byte for byte
//! rather than merely received.
//!
//! HTTP (`hello_http`): every `GET` is answered `200 OK` with the body
//! `Hello, World!`. RESP (`mini_redis`): request `n` of a connection is, in
//! turn, an `ECHO` of a text unique to it, a `SET` of a key owned by the
//! client thread to such a text, and a `GET` of that key, which must return
//! what the `SET` just stored. Faulty connections send only `ECHO`s, so they
//! never touch a key a good connection reads.

use std::io::{self, BufRead};

/// The body `hello_http` answers every request with.
const HELLO: &[u8] = b"Hello, World!";

/// Keys a client thread cycles through (its store footprint stays bounded).
const KEYS_PER_THREAD: u64 = 16;

/// A protocol of the soak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// HTTP/1.1 against `hello_http`.
    Http,
    /// RESP against `mini_redis`.
    Resp,
}

/// Who sends a request: the client thread, its connection, the request's
/// number on it.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub thread: u64,
    pub connection: u64,
}

impl Wire {
    /// Good request number `n` of `sender`'s connection.
    pub fn request(self, sender: Sender, n: u64) -> Vec<u8> {
        match self {
            Wire::Http => format!(
                "GET /soak/{}/{}/{n} HTTP/1.1\r\nhost: soak\r\n\r\n",
                sender.thread, sender.connection
            )
            .into_bytes(),
            Wire::Resp => match n % 3 {
                0 => resp_command(&[b"ECHO", &text(sender, n)]),
                1 => resp_command(&[b"SET", &key(sender, n), &text(sender, n)]),
                _ => resp_command(&[b"GET", &key(sender, n - 1)]),
            },
        }
    }

    /// A request a faulty connection may send (and never read the answer
    /// of): it changes no state a good connection reads.
    pub fn harmless_request(self, sender: Sender, n: u64) -> Vec<u8> {
        match self {
            Wire::Http => self.request(sender, n),
            Wire::Resp => resp_command(&[b"ECHO", &text(sender, n)]),
        }
    }

    /// Reads the answer to good request `n` of `sender`'s connection and
    /// checks it is exactly right.
    pub fn check_answer(self, reader: &mut impl BufRead, sender: Sender, n: u64) -> io::Result<()> {
        match self {
            Wire::Http => check_hello(reader),
            Wire::Resp => {
                let expected = match n % 3 {
                    0 => bulk(&text(sender, n)),
                    1 => b"+OK\r\n".to_vec(),
                    _ => bulk(&text(sender, n - 1)),
                };
                let mut got = vec![0; expected.len()];
                reader.read_exact(&mut got)?;
                if got != expected {
                    return Err(wrong(&expected, &got));
                }
                Ok(())
            }
        }
    }
}

/// `hello_http`'s answer: a 200 head with `content-length: 13`, then the body.
fn check_hello(reader: &mut impl BufRead) -> io::Result<()> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line != "HTTP/1.1 200 OK\r\n" {
        return Err(wrong(b"HTTP/1.1 200 OK\r\n", line.as_bytes()));
    }
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    if length != Some(HELLO.len()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("content-length {length:?}, not {}", HELLO.len()),
        ));
    }
    let mut body = [0; HELLO.len()];
    reader.read_exact(&mut body)?;
    if body != HELLO {
        return Err(wrong(HELLO, &body));
    }
    Ok(())
}

fn wrong(expected: &[u8], got: &[u8]) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "expected {:?}, got {:?}",
            expected.escape_ascii().to_string(),
            got.escape_ascii().to_string()
        ),
    )
}

/// A text no other request of the run sends.
fn text(sender: Sender, n: u64) -> Vec<u8> {
    format!("v{}-{}-{n}", sender.thread, sender.connection).into_bytes()
}

/// The key request `n` (a `SET`) of `sender` writes.
fn key(sender: Sender, n: u64) -> Vec<u8> {
    format!("soak:{}:{}", sender.thread, (n / 3) % KEYS_PER_THREAD).into_bytes()
}

/// A RESP command: an array of bulk strings.
fn resp_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(&bulk(arg));
    }
    out
}

fn bulk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}
