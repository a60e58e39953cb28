//! [`InlineQueue`]: a first-in, first-out queue that holds its first item
//! inline.
//!
//! Why: a multishot receive's completions pass through two queues (the
//! driver slot's and the stream's), almost always one at a time. A
//! `VecDeque` allocates on its first push and keeps that room for good, so
//! every connection of a server held two small allocations while idle —
//! some 200 bytes of a parked keep-alive connection's budget. Here one item
//! costs no allocation; only a burst (a bundle's buffers, completions the
//! reader has not collected yet) spills into the `VecDeque`.

use std::collections::VecDeque;
use std::fmt;

/// A FIFO queue whose oldest item lives inline.
pub(crate) struct InlineQueue<T> {
    /// The oldest item. Invariant: `None` only when `rest` is empty.
    first: Option<T>,
    rest: VecDeque<T>,
}

impl<T> InlineQueue<T> {
    pub(crate) const fn new() -> Self {
        InlineQueue {
            first: None,
            rest: VecDeque::new(),
        }
    }

    pub(crate) fn push_back(&mut self, item: T) {
        match self.first {
            None => self.first = Some(item),
            Some(_) => self.rest.push_back(item),
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.first.take()?;
        self.first = self.rest.pop_front();
        Some(item)
    }

    /// The newest item.
    pub(crate) fn back(&self) -> Option<&T> {
        self.rest.back().or(self.first.as_ref())
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Takes every item, oldest first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.pop_front())
    }
}

impl<T: fmt::Debug> fmt::Debug for InlineQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.first.iter().chain(self.rest.iter()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::InlineQueue;

    #[test]
    fn items_leave_in_the_order_they_came_across_the_inline_slot() {
        let mut queue = InlineQueue::new();
        assert_eq!((queue.len(), queue.back()), (0, None));
        queue.push_back(1);
        assert_eq!((queue.len(), queue.back()), (1, Some(&1)));
        queue.push_back(2);
        queue.push_back(3);
        assert_eq!((queue.len(), queue.back()), (3, Some(&3)));
        assert_eq!(queue.pop_front(), Some(1));
        queue.push_back(4);
        assert_eq!(queue.drain().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!((queue.len(), queue.pop_front()), (0, None));
        queue.push_back(5);
        assert_eq!((queue.len(), queue.back()), (1, Some(&5)));
    }

    #[test]
    fn one_item_at_a_time_never_allocates() {
        let mut queue = InlineQueue::new();
        for i in 0..100 {
            queue.push_back(i);
            assert_eq!(queue.pop_front(), Some(i));
        }
        assert_eq!(queue.rest.capacity(), 0);
    }
}
