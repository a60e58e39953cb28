//! The runner's own network namespace: a loopback whose TCP settings are the
//! kernel's defaults, whatever the host has chosen.
//!
//! Loopback numbers move with one host setting above all: the congestion
//! control. With BBR (common on servers) and no `fq` qdisc on `lo`, TCP paces
//! every connection with its own high-resolution timers; arming them and their
//! interrupts cost a 1 MiB response more than sending it, and which server is
//! charged depends on whether its CPU happened to be busy when they fired. On
//! such a host nginx measured 110 µs per 1 MiB response one day and 390 the
//! next. So the runner moves itself, and through inheritance every server it
//! starts, into a fresh network namespace, brings its loopback up and sets the
//! congestion control there (`cubic`, Linux's default, unless `--cc` names
//! another). The host is left untouched. Where a namespace cannot be made (no
//! `CAP_SYS_ADMIN`, a sandbox) the runner says so and measures on the host's.
//! The one host setting touched, the list of congestion controls unprivileged
//! namespaces may pick, is widened only for the instant of picking one.

use std::fs;
use std::io;
#[cfg(target_os = "linux")]
use std::io::Read;
#[cfg(target_os = "linux")]
use std::os::{fd::AsRawFd, unix::fs::FileExt};

/// Where the network cells run, for the results header.
pub struct Network {
    pub description: String,
}

/// Moves the calling thread, and every thread and process it starts from now
/// on, into a new network namespace with `congestion_control`. Threads that
/// already exist stay where they are, so call this before starting any that
/// open sockets. Without the right to make a namespace the runner stays in
/// the host's (and says so); a congestion control the kernel does not have
/// is an error.
pub fn isolate(congestion_control: &str) -> io::Result<Network> {
    match enter(congestion_control)? {
        Ok(()) => Ok(Network {
            description: format!(
                "private network namespace (loopback), TCP congestion control {congestion_control}"
            ),
        }),
        Err(e) => {
            let host = current_congestion_control();
            eprintln!(
                "note: no private network namespace ({e}); measuring on the host's loopback with its congestion control, {host}"
            );
            Ok(Network {
                description: format!("host network namespace, TCP congestion control {host}"),
            })
        }
    }
}

/// `Ok(Err(_))`: no namespace could be made, the runner is still in the
/// host's; `Err(_)`: it is in a new one, but could not set it up.
#[cfg(target_os = "linux")]
fn enter(congestion_control: &str) -> io::Result<io::Result<()>> {
    // Outside the host's namespace a process may only pick a congestion
    // control the host allows (`tcp_allowed_congestion_control`, global), so
    // ours is allowed for the moment it takes to pick it, then the host's list
    // is put back through the file opened here, in the host's namespace.
    let opened = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/sys/net/ipv4/tcp_allowed_congestion_control");
    let mut allowed = match opened {
        Ok(file) => file,
        Err(e) => return Ok(Err(e)),
    };
    let mut host_allowed = String::new();
    allowed.read_to_string(&mut host_allowed)?;
    let host_allowed = host_allowed.trim();
    let widen = !host_allowed
        .split_whitespace()
        .any(|cc| cc == congestion_control);
    if widen {
        let widened = format!("{host_allowed} {congestion_control}");
        if let Err(e) = allowed.write_all_at(widened.as_bytes(), 0) {
            return match e.raw_os_error() {
                Some(libc::ENOENT) => Err(io::Error::new(
                    e.kind(),
                    format!("no congestion control {congestion_control:?} in this kernel"),
                )),
                _ => Ok(Err(e)),
            };
        }
    }
    let entered = enter_and_pick(congestion_control);
    if widen {
        allowed.write_all_at(host_allowed.as_bytes(), 0)?;
    }
    entered
}

#[cfg(target_os = "linux")]
fn enter_and_pick(congestion_control: &str) -> io::Result<io::Result<()>> {
    // SAFETY: unshare takes flags only; it changes this thread's namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Ok(Err(io::Error::last_os_error()));
    }
    loopback_up()?;
    // /proc/sys/net shows the namespace of the thread that opens it.
    fs::write(
        "/proc/sys/net/ipv4/tcp_congestion_control",
        congestion_control,
    )
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("congestion control {congestion_control}: {e}"),
        )
    })?;
    Ok(Ok(()))
}

/// A new namespace's loopback is down; `ip link set lo up`, without needing
/// iproute2.
#[cfg(target_os = "linux")]
fn loopback_up() -> io::Result<()> {
    // Binding to the wildcard address needs no interface up.
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    // SAFETY: ifreq is plain data; all-zero is a valid empty request.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: both ioctls read or write the live `request` we own, whose union
    // member for these two requests is `ifru_flags`, on a socket we hold.
    let result = unsafe {
        let fd = socket.as_raw_fd();
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) < 0 {
            -1
        } else {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &request)
        }
    };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Network namespaces are Linux's; elsewhere the runner uses the host's.
#[cfg(not(target_os = "linux"))]
fn enter(_: &str) -> io::Result<io::Result<()>> {
    Ok(Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "network namespaces need Linux",
    )))
}

fn current_congestion_control() -> String {
    fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
        .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
}
