//! What every ringo fuzz target shares, so each target is only its decoder's
//! settings and the checks particular to its items.
//!
//! A target must find more than panics: [`decode::check_feedings`] decodes
//! the same stream whole, split at a fuzzer-chosen point, byte by byte, and
//! from slices the way a pooled transport feeds `decode_slice`, and requires
//! the same items and the same error kind each time, while checking on every
//! call that the decoder consumes no more than it was fed, never yields items
//! from nothing without end, and reserves no memory far ahead of the bytes it
//! holds. [`input::Input`] cuts the fuzzer's bytes into settings and stream;
//! [`memory_stream::MemoryStream`] lets a whole connection (the HTTP server's
//! own request-gathering decoder included) run over the fuzzer's bytes
//! through public entry points only.

pub mod decode;
pub mod http;
pub mod input;
pub mod memory_stream;
