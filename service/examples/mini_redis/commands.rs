//! The commands mini_redis answers, executed against the shared [`Store`].
//!
//! Each command is a row of [`COMMANDS`]: a name and a function from the
//! arguments to a reply. Replies, including errors, use redis-server's exact
//! wording (its `server.c`, `t_string.c`, `expire.c` and `db.c`), so clients
//! and tools written for Redis read them the same way. Failures are replies,
//! not service errors: a bad command never closes the connection.
//!
//! `QUIT` is listed so that a caller of [`execute`] gets the usual `+OK`, but on
//! a connection `ringo_service::redis::Server` answers it itself and then
//! closes the connection, as only the connection layer can.

use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringo_proto::resp::Frame;
use ringo_service::{service_fn, Service};

use crate::glob;
use crate::store::{parse_integer, Condition, IncrementError, Remaining, Store, Ttl};

/// A command's implementation: the store and the arguments after the name.
type Handler = fn(&Store, &[Bytes]) -> Result<Frame, Failure>;

/// Every command, by lower-case name (the form Redis's messages use), in
/// order, so a name is found by binary search.
pub const COMMANDS: &[(&str, Handler)] = &[
    ("command", command),
    ("config", config),
    ("dbsize", dbsize),
    ("decr", decr),
    ("decrby", decrby),
    ("del", del),
    ("echo", echo),
    ("exists", exists),
    ("expire", expire),
    ("flushall", flush),
    ("flushdb", flush),
    ("get", get),
    ("incr", incr),
    ("incrby", incrby),
    ("info", info),
    ("keys", keys),
    ("mget", mget),
    ("mset", mset),
    ("pexpire", pexpire),
    ("ping", ping),
    ("pttl", pttl),
    ("quit", quit),
    ("select", select),
    ("set", set),
    ("ttl", ttl),
];

/// The configuration `CONFIG GET` reports: what redis-benchmark asks at start.
const CONFIG: &[(&str, &str)] = &[("appendonly", "no"), ("save", "")];

/// Longest command name, and most argument text, quoted back in the
/// unknown-command error (redis-server's `%.128s` and its 128-byte budget).
const MAX_QUOTED: usize = 128;

/// Why a command failed; [`execute`] turns it into the error reply.
#[derive(Debug)]
pub enum Failure {
    /// The argument count does not fit the command.
    Arity,
    /// Options that do not parse or do not go together.
    Syntax,
    /// An argument or a stored value that must be an integer is not.
    NotInteger,
    /// Any other error, with its full reply text.
    Reply(String),
}

/// Answers one request. `args` is scratch space for its words, kept between
/// requests so that they cost no allocation; it is left empty.
pub fn execute(store: &Store, request: Frame, args: &mut Vec<Bytes>) -> Frame {
    let reply = answer(store, request, args);
    args.clear();
    reply
}

fn answer(store: &Store, request: Frame, args: &mut Vec<Bytes>) -> Frame {
    if !arguments(request, args) {
        return error("ERR Protocol error: expected an array of bulk strings".to_owned());
    }
    let Some((name, rest)) = args.split_first() else {
        return error("ERR empty command".to_owned());
    };
    let Some(&(command, handler)) = find_command(name) else {
        return error(unknown_command(name, rest));
    };
    match handler(store, rest) {
        Ok(reply) => reply,
        Err(Failure::Arity) => error(format!(
            "ERR wrong number of arguments for '{command}' command"
        )),
        Err(Failure::Syntax) => error("ERR syntax error".to_owned()),
        Err(Failure::NotInteger) => error("ERR value is not an integer or out of range".to_owned()),
        Err(Failure::Reply(text)) => error(text),
    }
}

/// The commands as a service, for `ringo_service::redis::serve`. Each worker
/// makes its own, so the scratch space for arguments is per thread.
pub fn service(store: Arc<Store>) -> impl Service<Frame, Response = Frame, Error = Infallible> {
    let args = RefCell::new(Vec::new());
    service_fn(move |request| {
        std::future::ready(Ok(execute(&store, request, &mut args.borrow_mut())))
    })
}

/// Puts a command's words into `args` (expected empty), if `request` is an
/// array of strings (inline commands arrive as one too).
fn arguments(request: Frame, args: &mut Vec<Bytes>) -> bool {
    let Frame::Array(items) = request else {
        return false;
    };
    for item in items {
        match item {
            Frame::Bulk(word) | Frame::Simple(word) => args.push(word),
            _ => return false,
        }
    }
    true
}

/// The row of the command `name`, in any case.
fn find_command(name: &[u8]) -> Option<&'static (&'static str, Handler)> {
    // `name` compared as if lower case, as the table is.
    let order = |command: &str| command.bytes().cmp(name.iter().map(u8::to_ascii_lowercase));
    let found = COMMANDS.binary_search_by(|(command, _)| order(command));
    found.ok().and_then(|index| COMMANDS.get(index))
}

/// redis-server's reply to an unknown command: the name, then the arguments
/// quoted one by one while under [`MAX_QUOTED`] bytes.
fn unknown_command(name: &[u8], args: &[Bytes]) -> String {
    let mut quoted = String::new();
    for arg in args {
        if quoted.len() >= MAX_QUOTED {
            break;
        }
        let room = MAX_QUOTED - quoted.len();
        let shown = arg.get(..room.min(arg.len())).unwrap_or_default();
        quoted.push_str(&format!("'{}' ", String::from_utf8_lossy(shown)));
    }
    let name = name.get(..MAX_QUOTED.min(name.len())).unwrap_or_default();
    format!(
        "ERR unknown command '{}', with args beginning with: {quoted}",
        String::from_utf8_lossy(name)
    )
}

/// An error reply; CR and LF, which a simple error cannot hold, become spaces.
fn error(text: String) -> Frame {
    Frame::Error(text.replace(['\r', '\n'], " ").into())
}

fn ok() -> Frame {
    Frame::Simple(Bytes::from_static(b"OK"))
}

fn bulk_or_null(value: Option<Bytes>) -> Frame {
    value.map_or(Frame::Null, Frame::Bulk)
}

fn integer(n: usize) -> Frame {
    Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn parse(arg: &[u8]) -> Result<i64, Failure> {
    parse_integer(arg).ok_or(Failure::NotInteger)
}

/// The instant `ms` milliseconds from now; `None` when it is too far to
/// represent. Zero or negative means now (the key expires at once).
fn deadline_after(ms: i64) -> Option<Instant> {
    let now = Instant::now();
    match u64::try_from(ms) {
        Ok(ms) => now.checked_add(Duration::from_millis(ms)),
        Err(_) => Some(now),
    }
}

fn ping(_: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    match args {
        [] => Ok(Frame::Simple(Bytes::from_static(b"PONG"))),
        [message] => Ok(Frame::Bulk(message.clone())),
        _ => Err(Failure::Arity),
    }
}

fn echo(_: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [message] = args else {
        return Err(Failure::Arity);
    };
    Ok(Frame::Bulk(message.clone()))
}

fn get(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [key] = args else {
        return Err(Failure::Arity);
    };
    Ok(bulk_or_null(store.get(key)))
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]`.
fn set(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [key, value, options @ ..] = args else {
        return Err(Failure::Arity);
    };
    let mut when = Condition::Always;
    let mut ttl = Ttl::Forever;
    let mut reply_previous = false;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let option = option.to_ascii_uppercase();
        match (option.as_slice(), when, ttl) {
            (b"NX", Condition::Always, _) => when = Condition::IfAbsent,
            (b"XX", Condition::Always, _) => when = Condition::IfPresent,
            (b"GET", _, _) => reply_previous = true,
            (b"KEEPTTL", _, Ttl::Forever) => ttl = Ttl::Keep,
            (b"EX" | b"PX", _, Ttl::Forever) => {
                let amount = parse(options.next().ok_or(Failure::Syntax)?)?;
                let ms = if option == b"EX" {
                    amount.checked_mul(1000)
                } else {
                    Some(amount)
                };
                let at = ms
                    .filter(|&ms| ms > 0)
                    .and_then(deadline_after)
                    .ok_or_else(|| {
                        Failure::Reply("ERR invalid expire time in 'set' command".to_owned())
                    })?;
                ttl = Ttl::At(at);
            }
            _ => return Err(Failure::Syntax),
        }
    }
    let outcome = store.set(key, value, ttl, when);
    Ok(match (reply_previous, outcome.written) {
        (true, _) => bulk_or_null(outcome.previous),
        (false, true) => ok(),
        (false, false) => Frame::Null,
    })
}

fn del(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    if args.is_empty() {
        return Err(Failure::Arity);
    }
    Ok(integer(args.iter().filter(|key| store.remove(key)).count()))
}

fn exists(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    if args.is_empty() {
        return Err(Failure::Arity);
    }
    Ok(integer(
        args.iter().filter(|key| store.contains(key)).count(),
    ))
}

/// Shared by the four counters: adds `delta` to `key`.
fn add(store: &Store, key: &Bytes, delta: i64) -> Result<Frame, Failure> {
    match store.increment(key, delta) {
        Ok(n) => Ok(Frame::Integer(n)),
        Err(IncrementError::NotInteger) => Err(Failure::NotInteger),
        Err(IncrementError::Overflow) => Err(Failure::Reply(
            "ERR increment or decrement would overflow".to_owned(),
        )),
    }
}

fn incr(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [key] = args else {
        return Err(Failure::Arity);
    };
    add(store, key, 1)
}

fn decr(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [key] = args else {
        return Err(Failure::Arity);
    };
    add(store, key, -1)
}

fn incrby(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [key, delta] = args else {
        return Err(Failure::Arity);
    };
    add(store, key, parse(delta)?)
}

fn decrby(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [key, delta] = args else {
        return Err(Failure::Arity);
    };
    let delta = parse(delta)?
        .checked_neg()
        .ok_or_else(|| Failure::Reply("ERR decrement would overflow".to_owned()))?;
    add(store, key, delta)
}

fn mget(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    if args.is_empty() {
        return Err(Failure::Arity);
    }
    Ok(Frame::Array(
        args.iter()
            .map(|key| bulk_or_null(store.get(key)))
            .collect(),
    ))
}

fn mset(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let pairs = args.chunks_exact(2);
    if args.is_empty() || !pairs.remainder().is_empty() {
        return Err(Failure::Arity);
    }
    let pairs: Vec<(&[u8], &[u8])> = pairs
        .filter_map(|pair| match pair {
            [key, value] => Some((&key[..], &value[..])),
            _ => None,
        })
        .collect();
    store.set_many(&pairs);
    Ok(ok())
}

/// Shared by `EXPIRE` and `PEXPIRE`: `unit_ms` milliseconds per unit.
fn expire_in(store: &Store, args: &[Bytes], unit_ms: i64, name: &str) -> Result<Frame, Failure> {
    let [key, amount] = args else {
        return Err(Failure::Arity);
    };
    let at = parse(amount)?
        .checked_mul(unit_ms)
        .and_then(deadline_after)
        .ok_or_else(|| Failure::Reply(format!("ERR invalid expire time in '{name}' command")))?;
    Ok(Frame::Integer(i64::from(store.expire_at(key, at))))
}

fn expire(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    expire_in(store, args, 1000, "expire")
}

fn pexpire(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    expire_in(store, args, 1, "pexpire")
}

/// Shared by `TTL` and `PTTL`: -2 for a missing key, -1 for one without a
/// deadline, else the time left in `unit_ms` units, rounded as Redis rounds.
fn time_to_live(store: &Store, args: &[Bytes], unit_ms: u128) -> Result<Frame, Failure> {
    let [key] = args else {
        return Err(Failure::Arity);
    };
    Ok(Frame::Integer(match store.remaining(key) {
        Remaining::Missing => -2,
        Remaining::Forever => -1,
        Remaining::For(left) => {
            let units = (left.as_millis() + unit_ms / 2) / unit_ms;
            i64::try_from(units).unwrap_or(i64::MAX)
        }
    }))
}

fn ttl(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    time_to_live(store, args, 1000)
}

fn pttl(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    time_to_live(store, args, 1)
}

fn keys(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [pattern] = args else {
        return Err(Failure::Arity);
    };
    let found = store.keys(|key| glob::matches(pattern, key));
    Ok(Frame::Array(found.into_iter().map(Frame::Bulk).collect()))
}

fn dbsize(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    if !args.is_empty() {
        return Err(Failure::Arity);
    }
    Ok(integer(store.len().0))
}

/// `FLUSHDB` and `FLUSHALL` (one database, so the same) `[ASYNC | SYNC]`.
fn flush(store: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    match args {
        [] => {}
        [mode] if mode.eq_ignore_ascii_case(b"async") || mode.eq_ignore_ascii_case(b"sync") => {}
        [_] => return Err(Failure::Syntax),
        _ => return Err(Failure::Arity),
    }
    store.clear();
    Ok(ok())
}

/// `CONFIG GET pattern...`: the matching names and values of [`CONFIG`].
fn config(_: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [subcommand, patterns @ ..] = args else {
        return Err(Failure::Arity);
    };
    if !subcommand.eq_ignore_ascii_case(b"get") {
        return Err(Failure::Reply(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(subcommand)
        )));
    }
    if patterns.is_empty() {
        return Err(Failure::Reply(
            "ERR wrong number of arguments for 'config|get' command".to_owned(),
        ));
    }
    let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
    let reply = CONFIG
        .iter()
        .filter(|(name, _)| patterns.iter().any(|p| glob::matches(p, name.as_bytes())))
        .flat_map(|(name, value)| {
            [
                Frame::Bulk(Bytes::from_static(name.as_bytes())),
                Frame::Bulk(Bytes::from_static(value.as_bytes())),
            ]
        })
        .collect();
    Ok(Frame::Array(reply))
}

/// `COMMAND COUNT` counts [`COMMANDS`]; anything else gets an empty list, which
/// clients read as "no command metadata".
fn command(_: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    match args {
        [count] if count.eq_ignore_ascii_case(b"count") => Ok(integer(COMMANDS.len())),
        _ => Ok(Frame::Array(Vec::new())),
    }
}

/// `SELECT 0`: there is only database 0.
fn select(_: &Store, args: &[Bytes]) -> Result<Frame, Failure> {
    let [index] = args else {
        return Err(Failure::Arity);
    };
    match parse(index)? {
        0 => Ok(ok()),
        _ => Err(Failure::Reply("ERR DB index is out of range".to_owned())),
    }
}

fn quit(_: &Store, _: &[Bytes]) -> Result<Frame, Failure> {
    Ok(ok())
}

/// `INFO [section...]`: the server and keyspace sections, whatever is asked.
fn info(store: &Store, _: &[Bytes]) -> Result<Frame, Failure> {
    let (keys, expiring) = store.len();
    let text = format!(
        "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nserver_name:mini_redis\r\n\r\n\
         # Keyspace\r\ndb0:keys={keys},expires={expiring},avg_ttl=0\r\n"
    );
    Ok(Frame::Bulk(text.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_in_order_and_found_in_any_case() {
        for pair in COMMANDS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        let find = |name: &[u8]| find_command(name).map(|(command, _)| *command);
        for (command, _) in COMMANDS {
            assert_eq!(find(command.to_uppercase().as_bytes()), Some(*command));
        }
        assert_eq!(find(b"GeT"), Some("get"));
        for unknown in [&b""[..], b"ge", b"gets", b"zzz", b"\xff"] {
            assert_eq!(find(unknown), None, "{unknown:?}");
        }
    }
}
