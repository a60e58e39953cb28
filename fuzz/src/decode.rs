//! The decode harness: one stream, four ways of feeding it, one outcome.
//!
//! A transport hands a decoder whatever the socket returned, so a decoder's
//! answer must not depend on where reads happened to split the stream. Each
//! [`Feeding`] runs a fresh decoder over the same stream, the way a framed
//! transport would (stop at the first error; at end of stream call
//! `decode_eof` until it answers `Ok(None)`), and [`check_feedings`] requires
//! the same [`Outcome`] from all of them. On every call it also checks what a
//! transport relies on:
//!
//! - the decoder never adds bytes to the buffer, so what it consumed is never
//!   more than what it was fed;
//! - `decode_slice` answering `Ok(None)` leaves its slice untouched (the
//!   transport copies those bytes on), and never consumes past the slice;
//! - after `Ok(None)` the buffer's capacity stays within a few times what was
//!   fed plus [`RESERVE_SLACK`]: no decoder reserves a whole announced frame
//!   before its bytes arrive (the fuzz runs' `-malloc_limit_mb` catches
//!   allocations elsewhere);
//! - a decoder yields at most a bounded number of items per byte, so a loop
//!   on it always ends.

use std::fmt::Debug;

use bytes::BytesMut;
use ringo_proto::Decoder;

/// Capacity a decoder may hold beyond a small multiple of the bytes fed: the
/// 64 KiB it may reserve ahead for a frame in progress, doubled for the
/// buffer's growth policy, plus a little.
pub const RESERVE_SLACK: usize = 2 * 64 * 1024 + 4096;

/// Items a decoder may yield per byte fed, plus [`ITEMS_WITHOUT_BYTES`]: an
/// HTTP request yields a head, its end and maybe a `100 Continue` marker
/// from a few bytes, never an endless run from none.
const ITEMS_PER_BYTE: usize = 2;

/// Items a decoder may yield with no byte fed at all.
const ITEMS_WITHOUT_BYTES: usize = 8;

/// How the stream reaches the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feeding {
    /// All at once.
    Whole,
    /// In two reads, the first of this many bytes.
    SplitAt(usize),
    /// One byte per read.
    ByteByByte,
    /// In reads of this many bytes, each decoded first with `decode_slice`
    /// while the read buffer is empty, as a pooled transport does.
    Slices(usize),
}

impl Feeding {
    /// The reads the stream arrives in.
    pub fn chunks(self, stream: &[u8]) -> Vec<&[u8]> {
        match self {
            Feeding::Whole => vec![stream],
            Feeding::SplitAt(at) => {
                let (first, second) = stream.split_at(at.min(stream.len()));
                vec![first, second]
            }
            Feeding::ByteByByte => stream.chunks(1).collect(),
            Feeding::Slices(size) => stream.chunks(size.max(1)).collect(),
        }
    }
}

/// What a decoder made of a stream: its items rendered by the target (so they
/// compare and print), then the kind of the error that ended it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The items, in order.
    pub items: Vec<String>,
    /// The error that ended decoding, as the target names its kind.
    pub error: Option<String>,
}

/// How a target sees its decoder's items and errors.
pub trait Render<C: Decoder> {
    /// Checks one item against the decoder's limits (panicking if one is
    /// broken) and renders it; `None` leaves it out of the outcome.
    fn item(&mut self, item: C::Item) -> Option<String>;

    /// The kind of an error: what must be the same however the stream was
    /// split (not a count that depends on where the limit was noticed).
    fn error_kind(&self, error: &C::Error) -> String;

    /// Rewrites the rendered items into a form that does not depend on how the
    /// stream was split (HTTP body data arrives in as many parts as reads).
    fn normalize(&self, items: Vec<String>) -> Vec<String> {
        items
    }
}

/// One decoder's run over a stream, with the running checks.
struct Run<'r, C: Decoder, R> {
    codec: C,
    render: &'r mut R,
    feeding: Feeding,
    buf: BytesMut,
    fed: usize,
    items: Vec<String>,
    yielded: usize,
}

impl<C: Decoder, R: Render<C>> Run<'_, C, R> {
    /// Counts an item towards the bound and renders it.
    fn take(&mut self, item: C::Item) {
        self.yielded += 1;
        let bound = ITEMS_PER_BYTE * self.fed + ITEMS_WITHOUT_BYTES;
        assert!(
            self.yielded <= bound,
            "{:?}: {} items from {} bytes: the decoder yields items without consuming",
            self.feeding,
            self.yielded,
            self.fed
        );
        if let Some(rendered) = self.render.item(item) {
            self.items.push(rendered);
        }
    }

    /// One call on the read buffer, checked.
    fn decode_buf(&mut self, at_eof: bool) -> Result<Option<C::Item>, C::Error> {
        let before = self.buf.len();
        let result = if at_eof {
            self.codec.decode_eof(&mut self.buf)
        } else {
            self.codec.decode(&mut self.buf)
        };
        assert!(
            self.buf.len() <= before,
            "{:?}: decode grew the buffer from {before} to {} bytes",
            self.feeding,
            self.buf.len()
        );
        if matches!(result, Ok(None)) {
            let bound = 4 * self.fed + RESERVE_SLACK;
            assert!(
                self.buf.capacity() <= bound,
                "{:?}: {} bytes reserved holding {} of {} fed (bound {bound})",
                self.feeding,
                self.buf.capacity(),
                self.buf.len(),
                self.fed
            );
        }
        result
    }

    /// Decodes what the read buffer holds; `Err` ends the run.
    fn drain(&mut self, at_eof: bool) -> Result<(), C::Error> {
        while let Some(item) = self.decode_buf(at_eof)? {
            self.take(item);
        }
        Ok(())
    }

    /// Decodes whole frames straight from `chunk` while the read buffer is
    /// empty; returns what is left for the read buffer.
    fn decode_slices<'c>(&mut self, mut chunk: &'c [u8]) -> Result<&'c [u8], C::Error> {
        while self.buf.is_empty() && !chunk.is_empty() {
            let before = chunk.len();
            match self.codec.decode_slice(&mut chunk)? {
                Some(item) => self.take(item),
                None => {
                    assert_eq!(
                        chunk.len(),
                        before,
                        "{:?}: decode_slice consumed bytes and answered Ok(None)",
                        self.feeding
                    );
                    break;
                }
            }
            // Keeps the item bound honest without a read buffer.
            assert!(chunk.len() <= before);
            if chunk.len() == before {
                // An item from no bytes: the read-buffer path decides.
                break;
            }
        }
        Ok(chunk)
    }

    fn feed(&mut self, stream: &[u8]) -> Result<(), C::Error> {
        for chunk in self.feeding.chunks(stream) {
            self.fed += chunk.len();
            let rest = match self.feeding {
                Feeding::Slices(_) => self.decode_slices(chunk)?,
                _ => chunk,
            };
            self.buf.extend_from_slice(rest);
            self.drain(false)?;
        }
        self.drain(true)
    }
}

/// Decodes `stream` with a fresh decoder from `make`, fed as `feeding`.
pub fn decode_fed<C, R>(
    make: impl Fn() -> C,
    render: &mut R,
    stream: &[u8],
    feeding: Feeding,
) -> Outcome
where
    C: Decoder,
    R: Render<C>,
{
    let mut run = Run {
        codec: make(),
        render,
        feeding,
        buf: BytesMut::new(),
        fed: 0,
        items: Vec::new(),
        yielded: 0,
    };
    let error = run.feed(stream).err().map(|e| run.render.error_kind(&e));
    let items = run.render.normalize(run.items);
    Outcome { items, error }
}

/// Decodes `stream` whole, split at `split` (taken modulo the length plus
/// one), byte by byte and from slices, and panics unless all four agree.
/// Returns the outcome of the whole stream.
pub fn check_feedings<C, R>(
    make: impl Fn() -> C,
    render: &mut R,
    stream: &[u8],
    split: usize,
) -> Outcome
where
    C: Decoder,
    R: Render<C>,
{
    let at = split % (stream.len() + 1);
    let whole = decode_fed(&make, render, stream, Feeding::Whole);
    for feeding in [
        Feeding::SplitAt(at),
        Feeding::ByteByByte,
        Feeding::Slices(at.max(1)),
    ] {
        let other = decode_fed(&make, render, stream, feeding);
        assert_same(&whole, &other, feeding);
    }
    whole
}

/// Panics with both outcomes unless they are equal.
fn assert_same(whole: &Outcome, other: &Outcome, feeding: Feeding) {
    if whole != other {
        panic!(
            "decoded whole vs {feeding:?} differ:\nwhole: {}\nother: {}",
            show(whole),
            show(other)
        );
    }
}

fn show(outcome: &impl Debug) -> String {
    let text = format!("{outcome:?}");
    // Long outcomes are cut: the crash input reproduces them in full.
    text.chars().take(4000).collect()
}

/// The Debug form of an error up to its fields: its variant's name, which
/// must not depend on where the stream was split (the counts inside may).
pub fn variant_name(debug: &impl Debug) -> String {
    let text = format!("{debug:?}");
    let end = text.find([' ', '(', '{']).unwrap_or(text.len());
    text[..end].to_owned()
}
