//! Gathering HTTP messages: the codecs' parts (a head, body data, an end)
//! turned into whole messages with one `Bytes` body, on both sides.
//!
//! The codecs decode messages part by part so that a body can stream; most
//! users want the message whole. The server ([`request`], for the HTTP
//! connection) and the client ([`response`], for `ringo-service`'s HTTP
//! client) gather the same way — a head waits while its body's data is
//! appended, and the end hands out both — so that step is [`Gathering`],
//! once. What differs stays on each side: the server also streams large
//! bodies and asks for `100 Continue`; the client retires its connection on
//! a response that ends it.

pub(super) mod request;
pub(super) mod response;

use bytes::{Bytes, BytesMut};

/// A message being gathered: its head and its body so far, or nothing
/// between messages.
#[derive(Debug)]
pub(crate) struct Gathering<H> {
    partial: Option<(H, BytesMut)>,
}

impl<H> Gathering<H> {
    /// Between messages.
    pub(crate) fn new() -> Self {
        Gathering { partial: None }
    }

    /// Starts a message with `head`, reserving `expected` bytes of body
    /// (callers bound it by their body limit, or pass 0 where a peer's
    /// claim should not allocate before its bytes arrive).
    pub(crate) fn start(&mut self, head: H, expected: usize) {
        self.partial = Some((head, BytesMut::with_capacity(expected)));
    }

    /// Whether a message is being gathered.
    pub(crate) fn is_started(&self) -> bool {
        self.partial.is_some()
    }

    /// Appends body data to the message; false if there is none.
    pub(crate) fn push(&mut self, data: &[u8]) -> bool {
        match &mut self.partial {
            Some((_, body)) => {
                body.extend_from_slice(data);
                true
            }
            None => false,
        }
    }

    /// The message whole, at its end; `None` if none was started.
    pub(crate) fn finish(&mut self) -> Option<(H, Bytes)> {
        let (head, body) = self.partial.take()?;
        Some((head, body.freeze()))
    }

    /// Drops the message under way.
    pub(crate) fn clear(&mut self) {
        self.partial = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_kept_only_inside_a_message_and_handed_out_once_at_its_end() {
        let mut gathering = Gathering::new();
        assert!(!gathering.push(b"early"), "no message yet");
        assert!(gathering.finish().is_none());
        gathering.start("head", 4);
        assert!(gathering.is_started());
        assert!(gathering.push(b"ab") && gathering.push(b"cd"));
        assert_eq!(
            gathering.finish(),
            Some(("head", Bytes::from_static(b"abcd")))
        );
        assert!(!gathering.is_started() && gathering.finish().is_none());
        gathering.start("next", 0);
        gathering.clear();
        assert!(!gathering.push(b"x"), "cleared");
    }
}
