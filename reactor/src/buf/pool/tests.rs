//! The pool's bookkeeping without a runtime: the free list, claims, returns
//! through `Bytes`, and the provided buffer ring's entries and tail.

use std::cell::Cell;
use std::io;

use super::*;
use crate::buf::IoBuf;

fn free_list(count: usize, size: usize) -> Rc<PoolInner> {
    Rc::new(PoolInner::new(count, size, None).unwrap())
}

#[test]
fn free_list_hands_out_every_buffer_once_then_none() {
    let pool = free_list(3, 64);
    assert!(!pool.is_provided());
    let bufs: Vec<_> = (0..3).map(|_| take_free(&pool).unwrap()).collect();
    let mut ids: Vec<_> = bufs.iter().map(|b| b.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2]);
    assert!(take_free(&pool).is_none(), "empty at count");
    assert_eq!(pool.available(), 0);
    let before = pool.returns();
    drop(bufs);
    assert_eq!(pool.available(), 3);
    assert_eq!(pool.returns(), before + 3);
}

#[test]
fn a_buffer_holds_what_was_written_and_nothing_more() {
    let pool = free_list(2, 16);
    let buf = filled(&pool, b"hello");
    assert_eq!(buf.capacity(), 16);
    assert_eq!(&buf[..], b"hello");
    assert_eq!((buf.bytes_init(), buf.bytes_total()), (5, 5));
}

/// A buffer holding `bytes`, as a receive would leave it.
fn filled(pool: &Rc<PoolInner>, bytes: &[u8]) -> PooledBuf {
    let mut buf = take_free(pool).unwrap();
    assert!(bytes.len() <= buf.capacity());
    // SAFETY: writes `bytes.len()` bytes, at most its capacity, into the
    // buffer `buf` owns.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.as_mut_ptr(), bytes.len());
        buf.set_len(bytes.len());
    }
    buf
}

#[test]
fn a_narrowed_buffer_shows_only_its_range_everywhere() {
    let pool = free_list(1, 16);
    let mut buf = filled(&pool, b"headerPAYLOAD");
    buf.narrow(6, 7);
    assert_eq!(&buf[..], b"PAYLOAD");
    assert_eq!((buf.bytes_init(), buf.bytes_total()), (7, 7));
    // SAFETY: `stable_ptr` points at `bytes_init` initialised bytes.
    let written = unsafe { std::slice::from_raw_parts(buf.stable_ptr(), buf.bytes_init()) };
    assert_eq!(written, b"PAYLOAD", "a write sends the view only");
    buf.narrow(3, 2);
    assert_eq!(&buf[..], b"LO", "narrowing again is relative to the view");
    let bytes = buf.into_bytes();
    assert_eq!(&bytes[..], b"LO", "the Bytes keeps the view");
    drop(bytes);
    assert_eq!(pool.available(), 1);
}

#[test]
fn narrowing_past_the_view_panics() {
    let pool = free_list(1, 16);
    let cases = [
        ("past the end", 2, 4),
        ("start past the end", 6, 0),
        ("overflow", 1, usize::MAX),
    ];
    for (name, start, len) in cases {
        let mut buf = filled(&pool, b"hello");
        let narrowed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| buf.narrow(start, len)));
        assert!(narrowed.is_err(), "{name}");
        assert_eq!(&buf[..], b"hello", "{name}: the view is unchanged");
    }
    let mut buf = filled(&pool, b"hello");
    buf.narrow(5, 0);
    assert!(buf.is_empty(), "an empty range at the end is inside");
}

/// A pool whose ring "registers" without a kernel: the tests stand in for
/// the kernel, consuming entries by claiming them.
fn ring_pool(count: usize, size: usize) -> Rc<PoolInner> {
    let register = |_: u64, _: u16, _: u16| Ok(());
    Rc::new(PoolInner::new(count, size, Some(&register)).unwrap())
}

/// Claims what a completion of `len` bytes from buffer `id` filled.
fn claim_all(
    pool: &Rc<PoolInner>,
    id: u16,
    len: usize,
    bundle: bool,
) -> io::Result<Vec<PooledBuf>> {
    let mut bufs = Vec::new();
    claim(pool, id, len, bundle, |buf| bufs.push(buf))?;
    Ok(bufs)
}

/// Each buffer's id and length, in order.
fn shape(bufs: &[PooledBuf]) -> Vec<(u16, usize)> {
    bufs.iter().map(|b| (b.id, b.len())).collect()
}

#[test]
fn claims_the_ring_does_not_hold_are_refused() {
    let pool = ring_pool(2, 16);
    let cases = [
        ("id at count", 2, 1, false),
        ("length over size", 0, 17, false),
        ("bundle past the last published buffer", 0, 33, true),
    ];
    for (name, id, len, bundle) in cases {
        assert!(claim_all(&pool, id, len, bundle).is_err(), "{name}");
    }
    let held = claim_all(&pool, 1, 16, false).expect("last id, full length");
    assert_eq!(shape(&held), [(1, 16)]);
    assert!(
        claim_all(&pool, 1, 1, false).is_err(),
        "a buffer already out cannot be claimed again"
    );
    drop(held);
    assert_eq!(pool.available(), 2);
    let free_list = free_list(1, 16);
    assert!(
        claim_all(&free_list, 0, 1, false).is_err(),
        "no ring, no claim"
    );
}

#[test]
fn a_bundle_follows_ring_order_not_id_order() {
    let pool = ring_pool(4, 16);
    let held = claim_all(&pool, 0, 20, true).unwrap();
    assert_eq!(
        shape(&held),
        [(0, 16), (1, 4)],
        "the last buffer holds the rest"
    );
    assert_eq!(pool.bundles.get(), 1);
    let mut held = held.into_iter();
    let (first, second) = (held.next().unwrap(), held.next().unwrap());
    drop(second);
    drop(first);
    // The ring now runs 2, 3, then 1 and 0 as they came back.
    let held = claim_all(&pool, 2, 3 * 16 + 5, true).unwrap();
    assert_eq!(shape(&held), [(2, 16), (3, 16), (1, 16), (0, 5)]);
    assert_eq!(pool.available(), 0);
    drop(held);
    assert_eq!(pool.available(), 4);
    let held = claim_all(&pool, 2, 16, true).unwrap();
    assert_eq!(shape(&held), [(2, 16)], "one buffer is no bundle");
    assert_eq!(pool.bundles.get(), 2);
}

#[test]
fn a_shortened_entry_holds_only_its_length() {
    let pool = ring_pool(3, 16);
    let ring = pool.ring.as_ref().unwrap();
    ring.shorten(1, 3);
    let held = claim_all(&pool, 0, 16 + 3 + 10, true).unwrap();
    assert_eq!(shape(&held), [(0, 16), (1, 3), (2, 10)]);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "70,000 rounds to wrap the 16-bit tail take Miri hours; the other ring tests run"
)]
fn entries_reused_before_their_completion_is_read_keep_their_lengths() {
    let pool = ring_pool(3, 16);
    let ring = pool.ring.as_ref().unwrap();
    assert_eq!(ring.entries(), 4);
    // The kernel takes buffers 0 (shortened to 5) and 1 as one bundle; its
    // completion stays unread while buffer 2 goes round the ring, past the
    // point where the 16-bit tail wraps.
    ring.shorten(0, 5);
    for round in 0..70_000 {
        let held = claim_all(&pool, 2, 16, false).unwrap();
        assert_eq!(shape(&held), [(2, 16)], "round {round}");
        drop(held);
    }
    let held = claim_all(&pool, 0, 5 + 16, true).unwrap();
    assert_eq!(
        shape(&held),
        [(0, 5), (1, 16)],
        "lengths from before the entries were reused"
    );
    drop(held);
    assert_eq!(pool.available(), 3);
}

#[test]
fn buffers_given_back_during_the_walk_do_not_disturb_it() {
    let pool = ring_pool(3, 16);
    claim(&pool, 0, 40, true, drop).unwrap();
    assert_eq!(pool.available(), 3, "every buffer back");
    let held = claim_all(&pool, 0, 48, true).unwrap();
    assert_eq!(
        shape(&held),
        [(0, 16), (1, 16), (2, 16)],
        "republished in the order given back"
    );
}

#[test]
fn bytes_give_their_buffer_back_through_the_queue() {
    let pool = free_list(1, 8);
    let bytes = take_free(&pool).unwrap().into_bytes();
    assert_eq!(pool.available(), 0);
    let clone = bytes.clone();
    drop(bytes);
    assert_eq!(pool.available(), 0, "a clone still holds it");
    std::thread::spawn(move || drop(clone)).join().unwrap();
    assert_eq!(pool.available(), 1);
    assert!(take_free(&pool).is_some());
}

#[test]
fn provided_ring_is_filled_and_registered_with_its_tail() {
    let registered = Cell::new(None);
    let register = |addr: u64, entries: u16, group: u16| {
        registered.set(Some((addr, entries, group)));
        Ok(())
    };
    let pool = Rc::new(PoolInner::new(3, 32, Some(&register)).unwrap());
    assert!(pool.is_provided());
    let (addr, entries, group) = registered.get().unwrap();
    assert_eq!(
        (entries, group),
        (4, BUFFER_GROUP),
        "entries rounded up to a power of two"
    );
    let ring = pool.ring.as_ref().unwrap();
    assert_eq!(addr, ring.addr());
    assert_eq!(addr % 4096, 0, "page-aligned");
    assert_eq!(ring.peek(0).0, 3, "tail after filling");
    let taken = claim(&pool, 1, 0, false, |buf| drop(buf.into_bytes()));
    taken.unwrap();
    assert_eq!(
        ring.peek(0).0,
        3,
        "a Bytes gives its buffer back through the queue"
    );
    assert_eq!(pool.returns(), 1, "reclaimed");
    assert_eq!(
        ring.peek(3),
        (4, 1, 32),
        "buffer 1 published again at the tail"
    );
}

#[test]
fn a_refused_registration_falls_back_to_the_free_list() {
    let register = |_: u64, _: u16, _: u16| Err(io::Error::from_raw_os_error(libc::EINVAL));
    let pool = Rc::new(PoolInner::new(2, 32, Some(&register)).unwrap());
    assert!(!pool.is_provided());
    assert!(take_free(&pool).is_some());
}
