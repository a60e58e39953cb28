//! The byte limit of one arming of a multishot receive
//! (`IORING_RECV_MSHOT_LIM`, Linux 6.17): past it the kernel ends the
//! multishot (a completion without `F_MORE`), and the reader's next receive
//! arms it again.
//!
//! Why: a multishot receive goes on taking buffers of the runtime's shared
//! pool while its reader does not read. The backlog cancel of `recv_pooled.rs`
//! stops it once completions pile up, but what the kernel completes before the
//! cancel runs — a whole burst of the peer's — still lands in the pool. With a
//! limit per arming, a reader that stops holds at most [`ARMING_LIMIT`] bytes
//! of it, bursts included; a reader that keeps up re-arms once per
//! [`ARMING_LIMIT`] bytes, one SQE per 64 KiB.
//!
//! The limit travels in `sqe->optlen`, for which the `io-uring` crate's
//! builders have no setter, so it is written into the built SQE. A kernel
//! without the feature refuses such an SQE with `EINVAL`; the first refusal
//! turns the limit off for the process ([`refused`]), and the receive is
//! armed again without it.

use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(target_os = "linux")]
use io_uring::squeue::Entry;

/// Bytes one arming of a byte stream's multishot receive may take.
pub(crate) const ARMING_LIMIT: u32 = 64 * 1024;

/// Set once the kernel has refused the limit (before Linux 6.17).
static REFUSED: AtomicBool = AtomicBool::new(false);

/// Byte offset of `optlen` in `struct io_uring_sqe` (io_uring.h: the `u32`
/// union of `splice_fd_in`, `file_index`, `optlen` and `addr_len`).
#[cfg(target_os = "linux")]
const OPTLEN_OFFSET: usize = 44;

#[cfg(target_os = "linux")]
const _: () = assert!(std::mem::size_of::<Entry>() == 64);

/// The limit to arm with: `None` once the kernel has refused it.
pub(crate) fn current() -> Option<u32> {
    (!REFUSED.load(Ordering::Relaxed)).then_some(ARMING_LIMIT)
}

/// Notes that the kernel refused the limit, so later armings go without it.
pub(crate) fn refused() {
    REFUSED.store(true, Ordering::Relaxed);
}

/// `entry` (a multishot `IORING_OP_RECV`) with its arming limited to `limit` bytes.
#[cfg(target_os = "linux")]
pub(crate) fn limited(entry: Entry, limit: u32) -> Entry {
    // SAFETY: `Entry` is `#[repr(C)]` around `io_uring_sqe`, 64 bytes (asserted
    // above) of integers and unions of integers with no padding, so it and
    // `[u8; 64]` have the same size and every bit pattern is valid for both.
    let mut raw: [u8; 64] = unsafe { std::mem::transmute::<Entry, [u8; 64]>(entry) };
    raw[OPTLEN_OFFSET..OPTLEN_OFFSET + 4].copy_from_slice(&limit.to_ne_bytes());
    // SAFETY: as above.
    unsafe { std::mem::transmute::<[u8; 64], Entry>(raw) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_limit_lands_in_optlen_and_nothing_else_changes() {
        let plain = io_uring::opcode::RecvMulti::new(io_uring::types::Fd(7), 3)
            .build()
            .user_data(42);
        // SAFETY: as in `limited`.
        let before: [u8; 64] = unsafe { std::mem::transmute(plain.clone()) };
        // SAFETY: as in `limited`.
        let after: [u8; 64] = unsafe { std::mem::transmute(limited(plain, 0x0102_0304)) };
        assert_eq!(
            after[OPTLEN_OFFSET..OPTLEN_OFFSET + 4],
            0x0102_0304u32.to_ne_bytes()
        );
        assert_eq!(before[..OPTLEN_OFFSET], after[..OPTLEN_OFFSET]);
        assert_eq!(before[OPTLEN_OFFSET + 4..], after[OPTLEN_OFFSET + 4..]);
        assert_eq!(
            before[OPTLEN_OFFSET..OPTLEN_OFFSET + 4],
            [0; 4],
            "unset before"
        );
    }
}
