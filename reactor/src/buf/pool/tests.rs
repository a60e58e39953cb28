//! The pool's bookkeeping without a runtime: the free list, claims, returns
//! through `Bytes`, and the provided buffer ring's entries and tail.

use std::cell::Cell;

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

#[test]
fn claims_outside_the_pool_are_refused() {
    let pool = free_list(2, 16);
    let cases = [("id at count", 2, 1), ("length over size", 0, 17)];
    for (name, id, len) in cases {
        assert!(claim(&pool, id, len).is_none(), "{name}");
    }
    assert!(claim(&pool, 1, 16).is_some(), "last id, full length");
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
    let pool = PoolInner::new(3, 32, Some(&register)).unwrap();
    assert!(pool.is_provided());
    let (addr, entries, group) = registered.get().unwrap();
    assert_eq!(
        (entries, group),
        (4, BUFFER_GROUP),
        "entries rounded up to a power of two"
    );
    let ring = pool.ring.as_ref().unwrap();
    assert_eq!(addr, ring.entries.ptr.as_ptr() as u64);
    assert_eq!(addr % 4096, 0, "page-aligned");
    let tail = || {
        // SAFETY: entry 0's `resv` is the tail, inside the ring's mapping.
        unsafe { AtomicU16::from_ptr(std::ptr::addr_of_mut!((*ring.base()).resv)) }
            .load(Ordering::Acquire)
    };
    assert_eq!(tail(), 3);
    pool.put(1);
    assert_eq!(tail(), 4);
    // SAFETY: entry 3 is inside the 4-entry ring; nothing else writes it here.
    let (bid, len) = unsafe {
        let entry = ring.base().add(3);
        ((*entry).bid, (*entry).len)
    };
    assert_eq!((bid, len), (1, 32));
}

#[test]
fn a_refused_registration_falls_back_to_the_free_list() {
    let register = |_: u64, _: u16, _: u16| Err(io::Error::from_raw_os_error(libc::EINVAL));
    let pool = Rc::new(PoolInner::new(2, 32, Some(&register)).unwrap());
    assert!(!pool.is_provided());
    assert!(take_free(&pool).is_some());
}
