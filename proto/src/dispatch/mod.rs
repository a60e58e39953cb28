//! What the pipelined and multiplexed dispatchers share, kept private so each
//! public dispatcher stays one file a reader can follow.
//!
//! - `wake.rs`: one waker per in-flight slot, so a turn polls only woken requests.
//! - `server.rs`: how a server connection ends (stop reading, the decode error's
//!   reply after earlier responses, the last flush, the first failure).
//! - `client.rs`: the client handle's wake of its connection when the last
//!   handle goes.

pub(crate) mod client;
pub(crate) mod server;
pub(crate) mod wake;
