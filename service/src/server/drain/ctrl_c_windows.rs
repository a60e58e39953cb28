//! Ctrl-C on Windows: console control events, through `SetConsoleCtrlHandler`.
//!
//! Windows has no SIGINT or SIGTERM. Ctrl-C, Ctrl-Break, closing the console
//! window and system shutdown reach a console process as control events: the
//! system starts a new thread in the process and calls each registered handler
//! on it, last registered first, until one returns `TRUE`; the default handler
//! at the bottom ends the process. The handler thread is an ordinary thread,
//! so it could take locks, but it races with whatever the process is doing, so
//! ours does what the Unix signal handler does: it only records the event
//! (an atomic) and wakes the receiving thread (`Thread::unpark`).
//!
//! The default action comes back by the handler declining (`FALSE`) rather
//! than by unregistering it: [`ARMED`] is taken by the first event, so a second
//! Ctrl-C falls through to the default handler even before the receiving
//! thread has run.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread};

use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::{FALSE, TRUE};
use windows_sys::Win32::System::Console::{
    SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_CLOSE_EVENT, CTRL_C_EVENT, CTRL_SHUTDOWN_EVENT,
};

/// The events handled, for log lines.
pub(super) const EVENTS: &str = "Ctrl-C/Ctrl-Break/console close";

/// Whether the next event is ours: set by [`arm`]; cleared by the handler as
/// it takes an event, and by [`disarm`]. While clear the handler declines and
/// the default handler ends the process.
static ARMED: AtomicBool = AtomicBool::new(false);

/// An event the receiver has not taken yet: set by the handler, cleared by
/// [`Receiver::wait`] as it returns.
static PENDING: AtomicBool = AtomicBool::new(false);

/// The thread blocked in [`Receiver::wait`], for the handler to unpark; set by
/// its first `wait`. An event before that is kept in [`PENDING`].
static RECEIVER: OnceLock<Thread> = OnceLock::new();

/// Waits for events; only one exists per process (see [`receiver`]).
#[derive(Debug)]
pub(super) struct Receiver(());

impl Receiver {
    /// Parks the calling thread until an event arrives. Never `false`: the
    /// wake-up path cannot break.
    pub(super) fn wait(&mut self) -> bool {
        RECEIVER.get_or_init(thread::current);
        // Checked before each park: an event that came before the thread was
        // published, or between the check and the park (then `unpark` makes
        // the park return at once), is not lost.
        while !PENDING.swap(false, Ordering::AcqRel) {
            thread::park();
        }
        true
    }
}

/// Registers [`on_ctrl`] with the console, disarmed; called once per process,
/// before [`arm`].
pub(super) fn receiver() -> io::Result<Receiver> {
    // SAFETY: `on_ctrl` is a valid handler for the life of the process (a
    // plain function); registering it only adds it to the console's list.
    if unsafe { SetConsoleCtrlHandler(Some(on_ctrl), TRUE) } == FALSE {
        return Err(io::Error::last_os_error());
    }
    Ok(Receiver(()))
}

/// Makes the next event wake the receiver.
pub(super) fn arm() -> io::Result<()> {
    ARMED.store(true, Ordering::Release);
    Ok(())
}

/// Lets the next event through to the default handler. The handler already
/// disarmed itself when it took the event; this only says so.
pub(super) fn disarm() -> io::Result<()> {
    ARMED.store(false, Ordering::Release);
    Ok(())
}

/// The console control handler, on a thread the system made for the event.
///
/// Ctrl-C and Ctrl-Break are handled (`TRUE`) and the process goes on. After a
/// console close or a system shutdown the system ends the process as soon as
/// the handler returns, whatever it returns, so for those the handler parks
/// for good: the drain gets until the system's grace time runs out (or until
/// `main` returns, which ends the process and this thread with it). Any other
/// event (a user logging off) is not ours: `FALSE` passes it on.
extern "system" fn on_ctrl(event: u32) -> BOOL {
    let ends_process = match event {
        CTRL_C_EVENT | CTRL_BREAK_EVENT => false,
        CTRL_CLOSE_EVENT | CTRL_SHUTDOWN_EVENT => true,
        _ => return FALSE,
    };
    if !ARMED.swap(false, Ordering::AcqRel) {
        // A second event, or none of our servers asked: the default action.
        return FALSE;
    }
    PENDING.store(true, Ordering::Release);
    if let Some(receiver) = RECEIVER.get() {
        receiver.unpark();
    }
    if ends_process {
        loop {
            thread::park();
        }
    }
    TRUE
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::Console::CTRL_LOGOFF_EVENT;

    #[test]
    fn the_first_event_wakes_the_receiver_and_the_next_is_left_to_the_default() {
        assert_eq!(on_ctrl(CTRL_C_EVENT), FALSE, "not armed yet");
        arm().expect("arm");
        assert_eq!(on_ctrl(CTRL_LOGOFF_EVENT), FALSE, "not an event we handle");
        assert_eq!(on_ctrl(CTRL_BREAK_EVENT), TRUE);
        assert!(Receiver(()).wait(), "the pending event is taken");
        assert_eq!(
            on_ctrl(CTRL_C_EVENT),
            FALSE,
            "the second event ends the process"
        );
        disarm().expect("disarm");
    }
}
