//! What the load generator sends and how it checks each reply, per protocol.
//!
//! Every reply is verified byte for byte against what the request must produce;
//! a mismatch is an error, counted and reported, never silently accepted.

/// One protocol's requests and reply parser, per connection.
pub trait Workload {
    /// Appends the next request to `out`.
    fn write_request(&mut self, out: &mut Vec<u8>);
    /// Parses one reply at the front of `input`: `Ok(Some(n))` consumed `n` bytes
    /// of a correct reply, `Ok(None)` needs more bytes, `Err` is a wrong reply.
    fn parse_reply(&mut self, input: &[u8]) -> Result<Option<usize>, String>;
}

/// Echo: messages of a fixed size with a per-connection pattern; the reply must
/// be the same bytes.
pub struct Echo {
    message: Vec<u8>,
}

impl Echo {
    pub fn new(size: usize, connection: usize) -> Echo {
        let message = (0..size)
            .map(|i| b'a' + ((i + connection) % 26) as u8)
            .collect();
        Echo { message }
    }
}

impl Workload for Echo {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.message);
    }

    fn parse_reply(&mut self, input: &[u8]) -> Result<Option<usize>, String> {
        let n = self.message.len();
        match input.get(..n) {
            None => Ok(None),
            Some(reply) if reply == self.message.as_slice() => Ok(Some(n)),
            Some(_) => Err("echo reply differs from the message".to_owned()),
        }
    }
}

/// HTTP/1.1 keep-alive `GET` of one path; the reply must be `200` with
/// `content-length` and exactly the expected body.
pub struct HttpGet {
    request: Vec<u8>,
    body: std::sync::Arc<[u8]>,
}

impl HttpGet {
    /// `GET /`, answered `Hello, World!` (the hello servers).
    pub fn hello() -> HttpGet {
        HttpGet::new("/", std::sync::Arc::from(&b"Hello, World!"[..]))
    }

    /// `GET path`, answered with `body` (a file server).
    pub fn new(path: &str, body: std::sync::Arc<[u8]>) -> HttpGet {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: ringo-benches\r\n\r\n");
        HttpGet {
            request: request.into_bytes(),
            body,
        }
    }
}

impl Workload for HttpGet {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request);
    }

    fn parse_reply(&mut self, input: &[u8]) -> Result<Option<usize>, String> {
        let Some(head_end) = find(input, b"\r\n\r\n") else {
            return if input.len() > 64 * 1024 {
                Err("response head over 64 KiB".to_owned())
            } else {
                Ok(None)
            };
        };
        let head = std::str::from_utf8(&input[..head_end])
            .map_err(|_| "response head is not UTF-8".to_owned())?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!(
                "unexpected status line: {}",
                head.lines().next().unwrap_or("")
            ));
        }
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .ok_or_else(|| "response without content-length".to_owned())?;
        let total = head_end + 4 + length;
        match input.get(head_end + 4..total) {
            None => Ok(None),
            Some(body) if body == &self.body[..] => Ok(Some(total)),
            Some(_) => Err(format!(
                "response body is not the expected {} bytes",
                self.body.len()
            )),
        }
    }
}

/// RESP: alternating `SET key value` and `GET key` on a per-connection key; the
/// replies must be `+OK` and the value.
pub struct Resp {
    set: Vec<u8>,
    get: Vec<u8>,
    value_reply: Vec<u8>,
    /// Whether each request in flight was a SET, oldest first.
    kinds: std::collections::VecDeque<bool>,
    next_is_set: bool,
}

impl Resp {
    pub fn new(connection: usize) -> Resp {
        let key = format!("key:{connection:06}");
        let value = "xxx";
        let set = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
            key.len(),
            value.len()
        );
        let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
        let value_reply = format!("${}\r\n{value}\r\n", value.len());
        Resp {
            set: set.into_bytes(),
            get: get.into_bytes(),
            value_reply: value_reply.into_bytes(),
            kinds: Default::default(),
            next_is_set: true,
        }
    }
}

impl Workload for Resp {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        let is_set = self.next_is_set;
        self.next_is_set = !is_set;
        out.extend_from_slice(if is_set { &self.set } else { &self.get });
        self.kinds.push_back(is_set);
    }

    fn parse_reply(&mut self, input: &[u8]) -> Result<Option<usize>, String> {
        if input.is_empty() {
            return Ok(None);
        }
        let Some(&is_set) = self.kinds.front() else {
            return Err("reply without a request".to_owned());
        };
        let expected: &[u8] = if is_set {
            b"+OK\r\n"
        } else {
            &self.value_reply
        };
        // A GET racing its own connection's first SET cannot happen (one
        // connection's commands run in order), so the value must be there.
        match input.get(..expected.len()) {
            None => Ok(None),
            Some(reply) if reply == expected => {
                self.kinds.pop_front();
                Ok(Some(expected.len()))
            }
            Some(reply) => Err(format!(
                "unexpected RESP reply {:?}",
                String::from_utf8_lossy(reply)
            )),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_parser_accepts_a_hello_response_and_needs_more_for_a_partial_one() {
        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, World!";
        assert_eq!(HttpGet::hello().parse_reply(reply), Ok(Some(reply.len())));
        assert_eq!(
            HttpGet::hello().parse_reply(&reply[..reply.len() - 1]),
            Ok(None)
        );
        assert!(HttpGet::hello()
            .parse_reply(b"HTTP/1.1 500 X\r\ncontent-length: 0\r\n\r\n")
            .is_err());
    }

    #[test]
    fn resp_workload_alternates_set_and_get_and_checks_replies() {
        let mut resp = Resp::new(1);
        let mut out = Vec::new();
        resp.write_request(&mut out);
        resp.write_request(&mut out);
        assert!(out.starts_with(b"*3\r\n$3\r\nSET"));
        assert_eq!(resp.parse_reply(b"+OK\r\n"), Ok(Some(5)));
        assert_eq!(resp.parse_reply(b"$3\r\nxx"), Ok(None));
        assert_eq!(resp.parse_reply(b"$3\r\nxxx\r\n"), Ok(Some(9)));
        assert_eq!(
            resp.parse_reply(b""),
            Ok(None),
            "nothing in flight, nothing buffered"
        );
        assert!(
            resp.parse_reply(b"+OK\r\n").is_err(),
            "a reply to no request"
        );
    }

    #[test]
    fn echo_rejects_a_different_reply() {
        let mut echo = Echo::new(4, 0);
        assert_eq!(echo.parse_reply(b"abcd"), Ok(Some(4)));
        assert!(echo.parse_reply(b"abce").is_err());
    }
}
