//! Ctrl-C on Unix: SIGINT and SIGTERM, through `sigaction` and a self-pipe.
//!
//! A signal handler runs on whatever thread the signal interrupts, in the
//! middle of whatever it was doing, so it may only call async-signal-safe
//! functions: no lock, no allocation, no waker. Ours makes one `write(2)` of
//! a byte to a socket pair; the receiving thread blocks reading the other end.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

/// The events handled, for log lines.
pub(super) const EVENTS: &str = "SIGINT/SIGTERM";

/// The write end of the self-pipe the signal handler writes to; -1 before
/// [`receiver`] made it. The fd is never closed once published.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The read end of the self-pipe: one byte per signal.
#[derive(Debug)]
pub(super) struct Receiver(UnixStream);

impl Receiver {
    /// Blocks until a signal arrives; `false` if the pipe broke and no signal
    /// can arrive any more.
    pub(super) fn wait(&mut self) -> bool {
        let mut byte = [0u8; 1];
        loop {
            match self.0.read(&mut byte) {
                Ok(1) => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => return false,
            }
        }
    }
}

/// Makes the self-pipe and publishes its write end to the handler; called
/// once per process, before [`arm`].
pub(super) fn receiver() -> io::Result<Receiver> {
    let (read, write) = UnixStream::pair()?;
    // The handler must never block: with the buffer full, signals are already
    // pending and another byte adds nothing.
    write.set_nonblocking(true)?;
    // The stream is leaked on purpose: the handler may run at any moment for
    // the rest of the process, so the fd must stay open.
    WRITE_FD.store(write.as_raw_fd(), Ordering::Release);
    std::mem::forget(write);
    Ok(Receiver(read))
}

/// Installs [`on_signal`] for SIGINT and SIGTERM.
pub(super) fn arm() -> io::Result<()> {
    set_signal_actions(on_signal as *const () as libc::sighandler_t)
}

/// Restores the default actions of SIGINT and SIGTERM (ending the process).
pub(super) fn disarm() -> io::Result<()> {
    set_signal_actions(libc::SIG_DFL)
}

/// Sets the action of SIGINT and SIGTERM to `action` (a handler's address or
/// `SIG_DFL`).
fn set_signal_actions(action: libc::sighandler_t) -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `sigaction` is a plain C struct for which all-zeroes is a
        // valid value (empty mask, no flags); the fields we need are set below.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = action;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: `act` is a live, initialised sigaction; `sigaction` only reads
        // it, and a null old-action pointer is allowed. `action` is SIG_DFL or
        // `on_signal`, which only does async-signal-safe work.
        let ret = unsafe { libc::sigaction(signal, &act, std::ptr::null_mut()) };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The SIGINT/SIGTERM handler: one `write(2)` to the self-pipe, which is
/// async-signal-safe. `write` leaves `errno` alone when it succeeds; it fails
/// only with the pipe full, and then the interrupted code sees `EAGAIN`, which
/// any code that retries on `EINTR` handles too.
extern "C" fn on_signal(_signal: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: `fd` is the write end of the self-pipe, published only after
        // it was made and never closed; `byte` is a live local of length 1.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}
