//! Integration tests of the `Proactor` on loopback sockets: readiness waits and
//! wakeups, re-arming (Windows' one-shot AFD poll), registration lifetime, and
//! unparking. Every wait is a bounded park loop.

mod drained;
mod readiness;
mod rearm;
mod registration;
mod unpark;
mod util;
