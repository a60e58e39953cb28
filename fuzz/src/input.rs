//! Cutting the fuzzer's bytes into decoder settings and the stream to decode.
//!
//! Settings come from the front of the input, one byte (or two) each, so a
//! small change of the input changes one setting, which libFuzzer's mutations
//! explore well; what follows is the stream. A missing byte reads as zero, so
//! every input, even an empty one, is valid.

/// The fuzzer's bytes, read from the front.
#[derive(Debug)]
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's bytes.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { rest: data }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&byte, rest)) => {
                self.rest = rest;
                byte
            }
            None => 0,
        }
    }

    /// The next two bytes as a little-endian `u16`, zeros past the end.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A value in `1..=max`, from the next byte.
    pub fn in_range(&mut self, max: usize) -> usize {
        1 + usize::from(self.byte()) % max
    }

    /// The next byte's low bit.
    pub fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A limit from the next byte: `default` unless `tiny`, else a value in
    /// `1..=tiny_max`, small enough that a short input reaches the limit.
    /// Reads the byte either way, so the input's layout does not depend on
    /// `tiny`.
    pub fn limit(&mut self, tiny: bool, tiny_max: usize, default: usize) -> usize {
        let small = self.in_range(tiny_max);
        if tiny {
            small
        } else {
            default
        }
    }

    /// Everything not read yet: the stream.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }
}
