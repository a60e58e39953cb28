//! Driver choice: `Auto` falls back to compat when io_uring set-up fails (by the
//! builder's injection hook and by a real seccomp filter), `Uring` then fails
//! with an error naming the driver and the errno, and `RINGO_DRIVER` parsing and
//! override work. Tests that need the environment or a seccomp filter run in a
//! child process of this test binary, so the parent's other tests are untouched.

use ringo_test_util as util;

use std::process::Command;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::{DriverKind, Runtime};
use util::any_local;

/// The errnos io_uring set-up fails with under seccomp, the sysctl and memlock.
const SETUP_ERRORS: [(&str, i32); 3] = [
    ("seccomp or io_uring_disabled", libc::EPERM),
    ("seccomp or an old kernel", libc::ENOSYS),
    ("memlock limit", libc::ENOMEM),
];

/// Sends a message through a loopback echo server on `rt` and checks it comes back.
fn echo_round_trip(rt: &Runtime) -> Result<(), String> {
    rt.block_on(async {
        let listener = TcpListener::bind(any_local()).map_err(|e| format!("bind: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("local_addr: {e}"))?;
        let server = ringo_reactor::spawn(async move {
            let (stream, _) = listener.accept().await?;
            let (n, buf) = stream.read(vec![0u8; 64]).await;
            let n = n?;
            let (r, _) = stream.write_all(buf[..n].to_vec()).await;
            r
        });
        let client = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (r, _) = client.write_all(b"round trip".to_vec()).await;
        r.map_err(|e| format!("write: {e}"))?;
        let (r, echoed) = client.read_exact(vec![0u8; 10]).await;
        r.map_err(|e| format!("read: {e}"))?;
        server
            .await
            .map_err(|e| format!("server task: {e}"))?
            .map_err(|e| format!("server: {e}"))?;
        if echoed == b"round trip" {
            Ok(())
        } else {
            Err(format!("echoed {echoed:?}"))
        }
    })
}

#[test]
fn auto_falls_back_to_compat_when_uring_setup_fails() {
    for (why, errno) in SETUP_ERRORS {
        let rt = Runtime::builder()
            .driver(DriverKind::Auto)
            .simulate(ringo_reactor::runtime::Simulate {
                uring_setup_error: Some(errno),
                ..Default::default()
            })
            .build()
            .unwrap_or_else(|e| panic!("{why}: Auto builds despite errno {errno}: {e}"));
        assert_eq!(
            rt.driver_kind(),
            DriverKind::Compat,
            "{why}: Auto picked compat"
        );
        assert_eq!(
            rt.uring_features(),
            None,
            "{why}: no io_uring features on compat"
        );
        echo_round_trip(&rt).unwrap_or_else(|e| panic!("{why}: echo on the fallback: {e}"));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn uring_fails_with_an_error_naming_the_driver_and_the_errno() {
    for (why, errno) in SETUP_ERRORS {
        let result = Runtime::builder()
            .driver(DriverKind::Uring)
            .simulate(ringo_reactor::runtime::Simulate {
                uring_setup_error: Some(errno),
                ..Default::default()
            })
            .build();
        let error = result.expect_err("io_uring required but unavailable");
        let message = error.to_string();
        let errno_text = std::io::Error::from_raw_os_error(errno).to_string();
        assert!(
            message.contains("uring driver"),
            "{why}: names the driver: {message}"
        );
        assert!(
            message.contains(&errno_text),
            "{why}: names errno {errno}: {message}"
        );
    }
}

#[cfg(not(target_os = "linux"))]
#[test]
fn off_linux_auto_picks_compat_and_uring_is_unsupported() {
    let rt = Runtime::builder()
        .driver(DriverKind::Auto)
        .build()
        .expect("Auto builds");
    assert_eq!(rt.driver_kind(), DriverKind::Compat, "Auto off Linux");
    echo_round_trip(&rt).expect("echo on compat");
    let error = Runtime::builder()
        .driver(DriverKind::Uring)
        .build()
        .expect_err("no io_uring off Linux");
    assert_eq!(error.kind(), std::io::ErrorKind::Unsupported, "{error}");
}

#[cfg(target_os = "linux")]
#[test]
fn auto_picks_uring_on_this_machine() {
    let rt = Runtime::builder()
        .driver(DriverKind::Auto)
        .build()
        .expect("Auto builds");
    if std::env::var_os("RINGO_TEST_NO_URING").is_some() {
        assert_eq!(
            rt.driver_kind(),
            DriverKind::Compat,
            "no io_uring declared: compat"
        );
        return;
    }
    assert_eq!(
        rt.driver_kind(),
        DriverKind::Uring,
        "Auto picks io_uring where it works"
    );
    assert!(
        rt.uring_features().is_some(),
        "io_uring reports its features"
    );
    echo_round_trip(&rt).expect("echo on io_uring");
}

#[test]
fn driver_names_parse_and_bad_ones_are_rejected() {
    let good = [
        ("auto", DriverKind::Auto),
        ("", DriverKind::Auto),
        ("uring", DriverKind::Uring),
        ("io_uring", DriverKind::Uring),
        ("compat", DriverKind::Compat),
        (" Compat\n", DriverKind::Compat),
        ("URING", DriverKind::Uring),
    ];
    for (text, kind) in good {
        assert_eq!(
            text.parse::<DriverKind>().ok(),
            Some(kind),
            "parse {text:?}"
        );
    }
    for kind in [DriverKind::Auto, DriverKind::Uring, DriverKind::Compat] {
        assert_eq!(
            kind.to_string().parse::<DriverKind>().ok(),
            Some(kind),
            "{kind} round-trips"
        );
    }
    let bad = [
        ("epoll", "\"epoll\""),
        ("uring2", "\"uring2\""),
        ("com pat", "\"com pat\""),
    ];
    for (text, quoted) in bad {
        let error = text.parse::<DriverKind>().expect_err("unknown driver name");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{text:?}");
        let message = error.to_string();
        assert!(
            message.contains(quoted),
            "{text:?}: error quotes the value: {message}"
        );
        assert!(
            message.contains("auto, uring or compat"),
            "{text:?}: error lists the choices: {message}"
        );
    }
}

/// Set in a child process to the scenario it should run (see [`child_entry_point`]).
const CHILD_ENV: &str = "RINGO_DRIVER_TEST_CHILD";

/// Runs [`child_entry_point`] in a child process with `envs`, returning its stdout.
fn run_child(scenario: &str, envs: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = Command::new(exe);
    command
        .args([
            "--exact",
            "child_entry_point",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, scenario)
        .env_remove("RINGO_DRIVER");
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().expect("run the child test process");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "child {scenario} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The value printed as `@@key=value` by a child (the harness may print its
/// own text before it on the same line).
fn child_line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| Some(line.split_once(&format!("@@{key}="))?.1))
        .unwrap_or_else(|| panic!("child printed no {key}= line:\n{stdout}"))
}

/// `driver=<kind>` or `error=<message>` for a runtime build result.
fn describe(result: std::io::Result<Runtime>) -> String {
    match result {
        Ok(rt) => rt.driver_kind().to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// Not a test of its own: the body of the child processes the tests below start.
#[test]
#[ignore = "entry point for child processes of other tests in this file"]
fn child_entry_point() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    match scenario.as_str() {
        "env" => {
            println!("@@default={}", describe(Runtime::new()));
            let explicit = Runtime::builder().driver(DriverKind::Compat).build();
            println!("@@explicit_compat={}", describe(explicit));
        }
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        "seccomp" => {
            seccomp::forbid_io_uring_setup();
            let auto = Runtime::builder().driver(DriverKind::Auto).build();
            if let Ok(rt) = &auto {
                let echo = echo_round_trip(rt)
                    .err()
                    .unwrap_or_else(|| "ok".to_string());
                println!("@@echo={echo}");
            }
            println!("@@auto={}", describe(auto));
            println!(
                "@@uring={}",
                describe(Runtime::builder().driver(DriverKind::Uring).build())
            );
        }
        other => panic!("unknown child scenario {other:?}"),
    }
}

#[test]
fn ringo_driver_env_var_sets_the_default_and_the_builder_wins() {
    let stdout = run_child("env", &[("RINGO_DRIVER", "compat")]);
    assert_eq!(
        child_line(&stdout, "default"),
        "compat",
        "RINGO_DRIVER=compat"
    );

    let stdout = run_child("env", &[("RINGO_DRIVER", "bogus")]);
    let default = child_line(&stdout, "default");
    assert!(
        default.starts_with("error: ") && default.contains("\"bogus\""),
        "bad RINGO_DRIVER: {default}"
    );
    assert_eq!(
        child_line(&stdout, "explicit_compat"),
        "compat",
        "builder ignores a bad RINGO_DRIVER"
    );

    #[cfg(target_os = "linux")]
    if std::env::var_os("RINGO_TEST_NO_URING").is_none() {
        let stdout = run_child("env", &[("RINGO_DRIVER", "uring")]);
        assert_eq!(
            child_line(&stdout, "default"),
            "uring",
            "RINGO_DRIVER=uring"
        );
        assert_eq!(
            child_line(&stdout, "explicit_compat"),
            "compat",
            "builder overrides RINGO_DRIVER"
        );
    }
    // Off Linux there is no uring driver to default to: the default runtime
    // fails naming it, and the builder still overrides RINGO_DRIVER.
    #[cfg(not(target_os = "linux"))]
    {
        let stdout = run_child("env", &[("RINGO_DRIVER", "uring")]);
        let default = child_line(&stdout, "default");
        assert!(
            default.starts_with("error: ") && default.contains("uring"),
            "RINGO_DRIVER=uring off Linux: {default}"
        );
        assert_eq!(
            child_line(&stdout, "explicit_compat"),
            "compat",
            "builder overrides RINGO_DRIVER"
        );
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_real_seccomp_filter_on_io_uring_setup_makes_auto_fall_back() {
    let stdout = run_child("seccomp", &[]);
    assert_eq!(child_line(&stdout, "auto"), "compat", "Auto under seccomp");
    assert_eq!(
        child_line(&stdout, "echo"),
        "ok",
        "compat does real I/O under seccomp"
    );
    let uring = child_line(&stdout, "uring");
    let eperm = std::io::Error::from_raw_os_error(libc::EPERM).to_string();
    assert!(
        uring.starts_with("error: ") && uring.contains("uring driver") && uring.contains(&eperm),
        "Uring under seccomp fails naming the driver and EPERM: {uring}"
    );
}

/// A seccomp filter that makes `io_uring_setup` fail with EPERM, as container
/// runtimes' default profiles do.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod seccomp {
    /// `AUDIT_ARCH_X86_64` from `<linux/audit.h>`.
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    /// Offsets into `struct seccomp_data`.
    const NR_OFFSET: u32 = 0;
    const ARCH_OFFSET: u32 = 4;

    fn statement(code: u32, k: u32) -> libc::sock_filter {
        libc::sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn jump_if_equal(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt,
            jf,
            k,
        }
    }

    /// Installs the filter on the calling thread (and threads it starts later).
    pub fn forbid_io_uring_setup() {
        let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        let ret = libc::BPF_RET | libc::BPF_K;
        let mut program = [
            statement(load, ARCH_OFFSET),
            // Another ABI: allow everything (jump to the last instruction).
            jump_if_equal(AUDIT_ARCH_X86_64, 0, 3),
            statement(load, NR_OFFSET),
            jump_if_equal(libc::SYS_io_uring_setup as u32, 0, 1),
            statement(ret, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
            statement(ret, libc::SECCOMP_RET_ALLOW),
        ];
        let fprog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integer arguments.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        assert_eq!(
            rc,
            0,
            "PR_SET_NO_NEW_PRIVS: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `fprog` points to `program`, a valid BPF program that outlives the
        // call; the kernel copies it before returning.
        let rc = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const libc::sock_fprog,
            )
        };
        assert_eq!(rc, 0, "PR_SET_SECCOMP: {}", std::io::Error::last_os_error());
    }
}
