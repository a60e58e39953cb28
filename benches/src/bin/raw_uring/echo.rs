//! Echo: every received buffer goes back to the peer as it is.
//!
//! Each reply is sent straight from the buffer the kernel filled, with no copy,
//! and the buffer returns to the ring only once all of it is sent; a peer that
//! sends faster than it reads so holds buffers, and when the ring runs dry its
//! receives wait (the server re-arms them as buffers come back).

use std::collections::VecDeque;

use crate::buf_ring::BufRing;
use crate::Protocol;

pub struct Echo;

#[derive(Default)]
pub struct Replies {
    /// Buffers received and not yet fully sent, with their lengths, oldest
    /// first; the front one is being sent.
    queue: VecDeque<(u16, u32)>,
    /// Bytes of the front buffer already sent.
    sent: u32,
}

impl Protocol for Echo {
    type Replies = Replies;

    fn received(&self, replies: &mut Replies, _: &mut BufRing, bid: u16, len: u32) {
        replies.queue.push_back((bid, len));
    }

    fn next(&self, replies: &Replies, ring: &BufRing) -> Option<(*const u8, u32)> {
        let &(bid, len) = replies.queue.front()?;
        Some((ring.at(bid, replies.sent), len - replies.sent))
    }

    fn sent(&self, replies: &mut Replies, ring: &mut BufRing, n: u32) {
        let (bid, len) = *replies
            .queue
            .front()
            .expect("a send completed for an empty queue");
        replies.sent += n;
        if replies.sent == len {
            replies.queue.pop_front();
            replies.sent = 0;
            ring.give_back(bid);
        }
    }

    fn clear(&self, replies: &mut Replies, ring: &mut BufRing) {
        for (bid, _) in replies.queue.drain(..) {
            ring.give_back(bid);
        }
        replies.sent = 0;
    }

    fn owes(&self, replies: &Replies) -> bool {
        !replies.queue.is_empty()
    }
}
