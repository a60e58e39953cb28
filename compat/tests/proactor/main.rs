//! Integration tests of the `Proactor` on loopback sockets: readiness waits and
//! wakeups, registration lifetime, and unparking. Every wait is a bounded park loop.

mod drained;
mod readiness;
mod registration;
mod unpark;
mod util;
