//! The servers under test: how to start each, and a handle that stops it.
//!
//! Every server is its own process with one worker thread, pinned to CPU 0
//! (the load generator takes CPU 1 where there is one). A server announces its
//! address on its first line of output (`... listening on ADDR`).

use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc;

/// Which protocol a server speaks (and so which cells it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Echo,
    Http,
    /// HTTP over TLS, the servers given the run's certificate (`tls.rs`).
    Https,
    /// HTTP/2 with prior knowledge (h2c), hyper's server on either runtime.
    Http2,
    Resp,
    /// HTTP GETs of static files (`static_site`).
    StaticFiles,
}

impl Protocol {
    /// The protocol as cell names spell it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Echo => "echo",
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Http2 => "http/2",
            Protocol::Resp => "resp",
            Protocol::StaticFiles => "static files",
        }
    }
}

/// How to start one server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Shown in tables, e.g. `ringo-uring`.
    pub name: &'static str,
    pub protocol: Protocol,
    /// The baseline the other servers of this protocol are compared with.
    pub baseline: bool,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(&'static str, &'static str)>,
    /// The server cannot print its address (redis-server, nginx): a free port
    /// is picked and these arguments, made for it, tell the server.
    pub port_args: Option<PortArgs>,
    /// Only measured for idle-connection memory, not in the load cells.
    pub idle_only: bool,
}

/// Makes the arguments that tell a server to listen on a port.
pub type PortArgs = fn(u16) -> io::Result<Vec<String>>;

/// `--port N`: redis-server's flag, and the static-file nginx script's.
fn port_flag(port: u16) -> io::Result<Vec<String>> {
    Ok(vec!["--port".to_owned(), port.to_string()])
}

/// nginx takes its port in a configuration file: one written for it, serving
/// hello_http's response from a single process (`master_process off`, so the
/// pid measured is the one that serves) with keep-alive that never ends
/// during a run, and room for 10,000 idle connections.
fn nginx_config(port: u16) -> io::Result<Vec<String>> {
    let dir = std::env::temp_dir().join(format!("ringo-bench-nginx-{port}"));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("nginx.conf");
    let dir_str = dir.display();
    let lines = [
        "daemon off;".to_owned(),
        "master_process off;".to_owned(),
        "worker_processes 1;".to_owned(),
        "worker_rlimit_nofile 65536;".to_owned(),
        "error_log stderr error;".to_owned(),
        format!("pid {dir_str}/nginx.pid;"),
        "events { worker_connections 30000; }".to_owned(),
        "http {".to_owned(),
        "  access_log off;".to_owned(),
        "  keepalive_timeout 600s;".to_owned(),
        "  keepalive_requests 1000000000;".to_owned(),
        format!("  client_body_temp_path {dir_str}/body;"),
        format!("  server {{ listen 127.0.0.1:{port};"),
        r#"    location / { default_type text/plain; return 200 "Hello, World!"; } }"#.to_owned(),
        "}".to_owned(),
    ];
    std::fs::write(&config, lines.join("\n") + "\n")?;
    Ok(vec![
        "-p".to_owned(),
        dir.display().to_string(),
        "-c".to_owned(),
        config.display().to_string(),
    ])
}

/// A started server; killed when dropped.
pub struct RunningServer {
    child: Child,
    pub addr: SocketAddr,
}

impl RunningServer {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `spec` pinned to `cpu` and waits until it accepts connections.
    pub fn start(spec: &ServerSpec, cpu: usize) -> io::Result<RunningServer> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(spec.env.iter().copied())
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        let fixed_port = match spec.port_args {
            Some(port_args) => {
                let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
                command.args(port_args(port)?).stdout(Stdio::null());
                Some(SocketAddr::from(([127, 0, 0, 1], port)))
            }
            None => {
                command.stdout(Stdio::piped());
                None
            }
        };
        // Pinned in the child before exec, so every thread the server starts
        // inherits the CPU. Pinning the pid after spawn sets only the main
        // thread's affinity and misses threads already started (a ringo
        // server's worker), which then run beside the load generator: its
        // HTTP server measured at half its requests/s that way.
        // SAFETY: the closure runs in the forked child before exec and makes
        // one syscall on stack memory (`sched_setaffinity`), which is
        // async-signal-safe; it allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(move || proc::pin(0, cpu));
        }
        let mut child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", spec.program.display()),
            )
        })?;
        let addr = match fixed_port {
            Some(addr) => addr,
            None => read_address(&mut child, spec.name)?,
        };
        let server = RunningServer { child, addr };
        server.wait_accepting()?;
        Ok(server)
    }

    fn wait_accepting(&self) -> io::Result<()> {
        let start = Instant::now();
        loop {
            match std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) {
                Ok(_) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(10) => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// Reads lines until `listening on ADDR` (the servers' shared start-up line).
fn read_address(child: &mut Child, name: &str) -> io::Result<SocketAddr> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("server stdout not captured"))?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref().take(20) {
        let line = line?;
        if let Some(addr) = line.split("listening on ").nth(1) {
            let addr = addr.split_whitespace().next().unwrap_or_default();
            let parsed = addr.parse().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{name}: bad address {addr:?}: {e}"),
                )
            })?;
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(parsed);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{name} never printed 'listening on ADDR'"),
    ))
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Directory of the built binaries (beside this runner).
pub fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The server set: ringo on each driver and the baseline users know, per protocol.
pub fn all(redis_server: Option<PathBuf>, nginx: Option<PathBuf>) -> Vec<ServerSpec> {
    let bins = bin_dir();
    let examples = bins.join("examples");
    let ringo = |name, protocol, program: PathBuf, args: &[&str], driver| ServerSpec {
        name,
        protocol,
        baseline: false,
        program,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![("RINGO_DRIVER", driver)],
        port_args: None,
        idle_only: false,
    };
    let mut servers = vec![
        ServerSpec {
            baseline: true,
            ..ringo(
                "tokio",
                Protocol::Echo,
                bins.join("tokio_echo"),
                &["127.0.0.1:0"],
                "auto",
            )
        },
        ringo(
            "ringo-uring",
            Protocol::Echo,
            examples.join("echo"),
            &["127.0.0.1:0"],
            "uring",
        ),
        ringo(
            "ringo-compat",
            Protocol::Echo,
            examples.join("echo"),
            &["127.0.0.1:0"],
            "compat",
        ),
        // The floor: a hand-written io_uring server without ringo, to tell the
        // kernel's share of a request's CPU from a runtime's.
        ServerSpec {
            env: Vec::new(),
            ..ringo(
                "raw-uring",
                Protocol::Echo,
                bins.join("raw_uring"),
                &["127.0.0.1:0"],
                "",
            )
        },
        // The same echo loop through the poll adapter (`io::poll::PollIo`
        // under tokio's traits): its cost over the native path above.
        ringo(
            "ringo-uring-poll-io",
            Protocol::Echo,
            bins.join("poll_echo"),
            &["127.0.0.1:0"],
            "uring",
        ),
        // Receives into the provided-buffer ring: an idle connection holds no buffer.
        ServerSpec {
            idle_only: true,
            ..ringo(
                "ringo-uring-pooled",
                Protocol::Echo,
                examples.join("echo"),
                &["127.0.0.1:0", "--pooled"],
                "uring",
            )
        },
        ServerSpec {
            baseline: true,
            ..ringo(
                "hyper",
                Protocol::Http,
                bins.join("hyper_hello"),
                &["127.0.0.1:0"],
                "auto",
            )
        },
        ringo(
            "ringo-uring",
            Protocol::Http,
            examples.join("hello_http"),
            &["127.0.0.1:0", "--workers", "1"],
            "uring",
        ),
        ringo(
            "ringo-compat",
            Protocol::Http,
            examples.join("hello_http"),
            &["127.0.0.1:0", "--workers", "1"],
            "compat",
        ),
        // The floor for HTTP: the same hand-written server answering each
        // request head with the same bytes, no parsing, no runtime; what it
        // costs per request is the kernel's share.
        ServerSpec {
            env: Vec::new(),
            ..ringo(
                "raw-uring",
                Protocol::Http,
                bins.join("raw_uring"),
                &["127.0.0.1:0", "--http"],
                "",
            )
        },
        // hyper itself on ringo (`ringo_service::hyper`), against hyper on
        // tokio above: the runtime under the same HTTP code.
        ringo(
            "hyper-on-ringo-uring",
            Protocol::Http,
            bins.join("hyper_ringo"),
            &["127.0.0.1:0"],
            "uring",
        ),
        ringo(
            "hyper-on-ringo-compat",
            Protocol::Http,
            bins.join("hyper_ringo"),
            &["127.0.0.1:0"],
            "compat",
        ),
        ServerSpec {
            baseline: true,
            ..ringo(
                "hyper",
                Protocol::Http2,
                bins.join("hyper_hello"),
                &["127.0.0.1:0", "--h2"],
                "auto",
            )
        },
        ringo(
            "hyper-on-ringo-uring",
            Protocol::Http2,
            bins.join("hyper_ringo"),
            &["127.0.0.1:0", "--h2"],
            "uring",
        ),
        ringo(
            "hyper-on-ringo-compat",
            Protocol::Http2,
            bins.join("hyper_ringo"),
            &["127.0.0.1:0", "--h2"],
            "compat",
        ),
        ringo(
            "ringo-uring",
            Protocol::Resp,
            examples.join("mini_redis"),
            &["127.0.0.1:0", "--workers", "1"],
            "uring",
        ),
        ringo(
            "ringo-compat",
            Protocol::Resp,
            examples.join("mini_redis"),
            &["127.0.0.1:0", "--workers", "1"],
            "compat",
        ),
    ];
    match crate::tls::files() {
        Ok(files) => {
            let (cert, key) = (files.cert.to_string_lossy(), files.key.to_string_lossy());
            let tls = ["--tls", &*cert, &*key];
            let with = |first: &[&'static str]| [first, &tls[..]].concat();
            servers.push(ServerSpec {
                baseline: true,
                ..ringo(
                    "hyper-rustls",
                    Protocol::Https,
                    bins.join("hyper_hello"),
                    &with(&["127.0.0.1:0"]),
                    "auto",
                )
            });
            for (name, driver) in [("ringo-uring", "uring"), ("ringo-compat", "compat")] {
                servers.push(ringo(
                    name,
                    Protocol::Https,
                    examples.join("hello_http"),
                    &with(&["127.0.0.1:0", "--workers", "1"]),
                    driver,
                ));
            }
        }
        Err(e) => eprintln!("note: no bench certificates ({e}): the https rows are skipped"),
    }
    match crate::static_site::root() {
        Ok(root) => {
            let root = root.display().to_string();
            for (name, driver) in [("ringo-uring", "uring"), ("ringo-compat", "compat")] {
                servers.push(ringo(
                    name,
                    Protocol::StaticFiles,
                    examples.join("static_http"),
                    &["127.0.0.1:0", &root, "--workers", "1"],
                    driver,
                ));
            }
            if let Some(nginx) = &nginx {
                let script =
                    crate::static_site::nginx_script(&nginx.display().to_string(), root.as_ref());
                servers.push(ServerSpec {
                    name: "nginx",
                    protocol: Protocol::StaticFiles,
                    baseline: true,
                    program: PathBuf::from("/bin/sh"),
                    args: vec!["-c".to_owned(), script, "sh".to_owned()],
                    env: Vec::new(),
                    port_args: Some(port_flag),
                    idle_only: false,
                });
            }
        }
        Err(e) => eprintln!("note: cannot write the static site ({e}): its rows are skipped"),
    }
    if let Some(program) = redis_server {
        servers.push(ServerSpec {
            name: "redis-server",
            protocol: Protocol::Resp,
            baseline: true,
            program,
            args: [
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
                "--protected-mode",
                "no",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            env: Vec::new(),
            port_args: Some(port_flag),
            idle_only: false,
        });
    }
    // A second reference for HTTP beside hyper: what a C server with
    // `return 200` costs per request and per idle connection.
    if let Some(program) = nginx {
        servers.push(ServerSpec {
            name: "nginx",
            protocol: Protocol::Http,
            baseline: false,
            program,
            args: Vec::new(),
            env: Vec::new(),
            port_args: Some(nginx_config),
            idle_only: false,
        });
    }
    servers
}

/// The io_uring feature A/B set (`--ab`): the echo server with its defaults
/// as the baseline, and once per opt-in feature, in the same run and cells.
pub fn ab() -> Vec<ServerSpec> {
    let echo = bin_dir().join("examples").join("echo");
    let variant = |name, flags: &[&str]| ServerSpec {
        name,
        protocol: Protocol::Echo,
        baseline: false,
        program: echo.clone(),
        args: ["127.0.0.1:0"]
            .iter()
            .chain(flags)
            .map(|s| s.to_string())
            .collect(),
        env: vec![("RINGO_DRIVER", "uring")],
        port_args: None,
        idle_only: false,
    };
    vec![
        ServerSpec {
            baseline: true,
            ..variant("uring defaults", &[])
        },
        // Provided buffer ring + one multishot receive per connection (bundled
        // where the kernel has it), and the same with bundles off.
        variant("+pooled recv", &["--pooled"]),
        // The same without bundles: one buffer per receive completion.
        variant("+pooled recv -bundle", &["--pooled", "--no-bundle"]),
        // Ops name a slot of the ring's file table instead of an fd number.
        variant("+registered fds", &["--registered-fds", "4096"]),
        variant(
            "+pooled +registered",
            &["--pooled", "--registered-fds", "4096"],
        ),
        // A kernel thread polls the SQ; its CPU is in the server's task list.
        variant("+sqpoll 10ms", &["--sqpoll", "10"]),
    ]
}
