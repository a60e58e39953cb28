//! Serving a [`Service`] over RESP on every core: [`serve`] and the [`Server`]
//! builder.
//!
//! What a connection does is documented on [`Server`].

use ringo_reactor::net::ToSocketAddrs;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use ringo_proto::pipeline::{self, ServerError};
use ringo_proto::resp::{self, Frame, RespCodec, RespProtocol, ServerConfig};
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;

use crate::server::{self, Running, Served, Shutdown};
use crate::Service;

/// Serves `factory`'s services over RESP on `addr`, a worker per core; see
/// [`Server`] for the settings.
///
/// ```no_run
/// use ringo_service::redis::{self, Frame};
/// use ringo_service::service_fn;
///
/// // Answers every command with +PONG.
/// let running = redis::serve("127.0.0.1:6379", || {
///     service_fn(|_command: Frame| async {
///         Ok::<_, std::convert::Infallible>(Frame::Simple("PONG".into()))
///     })
/// })?;
/// running.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// As [`server::Server::serve`]: binding failed or a worker could not start.
pub fn serve<F, S>(addr: impl ToSocketAddrs, factory: F) -> io::Result<Running>
where
    F: Fn() -> S + Send + Sync + 'static,
    S: Service<Frame, Response = Frame> + 'static,
    S::Error: fmt::Display,
{
    Server::bind(addr).serve(factory)
}

/// Configures and starts a RESP server.
///
/// Each worker thread gets one service from the factory, shared by the
/// connections that worker accepts (so it may hold `Rc` and `RefCell`, and
/// needs no locks unless it shares state across workers). On a connection,
/// commands are dispatched pipelined, answered in order.
///
/// The connection layer adds what only it can do:
///
/// - A failed call becomes the error reply `-ERR <message>`, and the connection
///   stays open, as in Redis, where a failed command never ends a connection.
/// - `QUIT` is answered `+OK` without calling the service, then the connection
///   closes after the replies to earlier commands; commands pipelined after it
///   are not run (redis-server: "close the connection after replying").
/// - A protocol violation is answered with `-ERR Protocol error: ...`, then the
///   connection closes (see `ringo_proto::resp`).
///
/// The multi-core settings (workers, driver, connection cap, shutdown
/// timeout) are [`server::ProtocolServer`]'s, shared with every protocol;
/// [`bind`](server::ProtocolServer::bind) starts from 64 commands in flight
/// per connection ([`max_pipelined`](Server::max_pipelined)) and no idle
/// timeout.
pub type Server = server::ProtocolServer<ServerConfig>;

impl Server {
    /// Commands handled at once per connection (at least one); default 64,
    /// which covers `redis-benchmark -P 16` with room to spare. When that many
    /// are in flight the connection stops reading until one is answered.
    pub fn max_pipelined(mut self, n: usize) -> Self {
        self.config.max_pipelined = n.max(1);
        self
    }

    /// Closes a connection that sends no command for `timeout` while none is in
    /// flight (Redis's `timeout` setting). Off by default, as in Redis.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Binds and starts the workers. `factory` runs once on each worker thread;
    /// the service it returns answers every command on that worker.
    ///
    /// # Errors
    /// As [`server::Server::serve`]: binding failed or a worker could not start.
    pub fn serve<F, S>(self, factory: F) -> io::Result<Running>
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: Service<Frame, Response = Frame> + 'static,
        S::Error: fmt::Display,
    {
        let tls = self.tls_acceptor();
        let config = self.config;
        self.server.serve(move || {
            let service = Rc::new(factory());
            let config = Rc::new(config.clone());
            let tls = tls.clone();
            move |stream: TcpStream, shutdown: Shutdown| {
                // Replies go out as soon as they are ready; Nagle would hold small ones back.
                if let Err(e) = stream.set_nodelay(true) {
                    log::debug!("redis connection: set TCP_NODELAY: {e}");
                }
                let (config, service) = (config.clone(), service.clone());
                let served = match tls.clone() {
                    None => Served::Plain(serve_connection(stream, &config, service, shutdown)),
                    Some(tls) => Served::Tls(Box::pin(async move {
                        match tls.accept(stream).await {
                            Ok(stream) => {
                                Some(serve_connection(stream, &config, service, shutdown).await)
                            }
                            Err(e) => {
                                log::debug!("redis connection: tls handshake failed: {e}");
                                None
                            }
                        }
                    })),
                };
                served.then(|served| match served {
                    None | Some(Ok(())) | Some(Err(ServerError::Handler(AfterQuit))) => {}
                    Some(Err(e)) => log::debug!("redis connection ended: {e}"),
                })
            }
        })
    }
}

/// The handler's own failure: a command arrived after `QUIT`. It ends the
/// connection without running the command or replying to it.
#[derive(Debug)]
struct AfterQuit;

impl fmt::Display for AfterQuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("command after quit")
    }
}

/// What to do with one command, decided when it is read.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Call the service.
    Call,
    /// Answer `QUIT`.
    Quit,
    /// Drop it: it came after `QUIT`.
    Refuse,
}

/// Serves one connection. Not an `async fn`: see `server/connection.rs`.
fn serve_connection<T, S>(
    stream: T,
    config: &ServerConfig,
    service: Rc<S>,
    shutdown: Shutdown,
) -> impl Future<Output = Result<(), ServerError<resp::Error, AfterQuit>>>
where
    S: Service<Frame, Response = Frame>,
    T: AsyncRead + AsyncWrite,
    S::Error: fmt::Display,
{
    let mut dispatcher = pipeline::Server::new().max_in_flight(config.max_pipelined);
    if let Some(idle) = config.idle_timeout {
        dispatcher = dispatcher.idle_timeout(idle);
    }
    // Set when QUIT is read; from then on the dispatcher reads no more.
    let quit = Rc::new(Cell::new(false));
    let protocol = RespProtocol {
        quit: {
            let quit = quit.clone();
            move || quit.get()
        },
        shutdown: Box::pin(shutdown.wait()),
    };
    let handler = move |command: Frame| {
        let step = if quit.get() {
            Step::Refuse
        } else if is_quit(&command) {
            quit.set(true);
            Step::Quit
        } else {
            Step::Call
        };
        let service = service.clone();
        async move {
            match step {
                Step::Refuse => Err(AfterQuit),
                Step::Quit => Ok(Frame::Simple(Bytes::from_static(b"OK"))),
                Step::Call => Ok(match service.call(command).await {
                    Ok(reply) => reply,
                    Err(e) => error_reply(&e),
                }),
            }
        }
    };
    // Parking: an idle connection holds no receive buffer, and little else.
    dispatcher.serve_parking(stream, RespCodec::new, handler, protocol)
}

/// Whether `command` is `QUIT` (any case, any arguments, as Redis accepts it).
fn is_quit(command: &Frame) -> bool {
    match command {
        Frame::Array(words) => matches!(
            words.first(),
            Some(Frame::Bulk(name) | Frame::Simple(name)) if name.eq_ignore_ascii_case(b"quit")
        ),
        _ => false,
    }
}

/// `-ERR <message>` for a failed call; CR and LF, which cannot appear in a
/// simple error, become spaces.
fn error_reply(error: &impl fmt::Display) -> Frame {
    let text = format!("ERR {error}").replace(['\r', '\n'], " ");
    Frame::Error(Bytes::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringo_proto::resp::command;

    #[test]
    fn quit_is_recognised_in_any_case_and_nothing_else_is() {
        let cases = [
            ("upper case", command(["QUIT"]), true),
            ("lower case", command(["quit"]), true),
            ("with an argument", command(["Quit", "now"]), true),
            ("another command", command(["GET", "quit"]), false),
            ("empty array", Frame::Array(Vec::new()), false),
            ("not an array", Frame::Bulk("QUIT".into()), false),
        ];
        for (name, frame, expected) in cases {
            assert_eq!(is_quit(&frame), expected, "{name}");
        }
    }

    #[test]
    fn error_replies_stay_on_one_line() {
        assert_eq!(
            error_reply(&"bad\r\nthing"),
            Frame::Error(Bytes::from_static(b"ERR bad  thing"))
        );
    }
}
