//! [`AsyncRead`] (with its pooled receive) and [`AsyncWrite`] (with its file
//! send) for `&T` and
//! `Rc<T>`: how a stream is shared, or "split", between a reading task and a
//! writing task.
//!
//! The why, and an example, are in the [`io`](super) module docs ("Sharing a
//! stream").

use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{AsyncRead, AsyncWrite, SendFile};
use crate::buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
use crate::fs::File;

/// Implements the two traits for a pointer type by delegating to its
/// target: the futures are the target's own, so in-flight ops behave alike.
macro_rules! delegate {
    ($($pointer:ty),*) => {$(
        impl<T: AsyncRead + ?Sized> AsyncRead for $pointer {
            type Read<B: IoBufMut> = T::Read<B>;

            fn read<B: IoBufMut>(&self, buf: B) -> T::Read<B> {
                (**self).read(buf)
            }

            fn poll_recv_pooled(&self, cx: &mut Context<'_>) -> Poll<io::Result<Option<PooledBuf>>> {
                (**self).poll_recv_pooled(cx)
            }
        }

        impl<T: AsyncWrite + ?Sized> AsyncWrite for $pointer {
            type Write<B: IoBuf> = T::Write<B>;

            fn write<B: IoBuf>(&self, buf: B) -> T::Write<B> {
                (**self).write(buf)
            }

            fn poll_write_quietly<B: IoBuf>(
                write: &mut T::Write<B>,
                cx: &mut Context<'_>,
            ) -> Poll<BufResult<usize, B>> {
                T::poll_write_quietly(write, cx)
            }

            async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
                (**self).writev(bufs).await
            }

            async fn shutdown(&self) -> io::Result<()> {
                (**self).shutdown().await
            }

            fn send_file(&self, file: &File, offset: u64, len: u64) -> io::Result<SendFile> {
                (**self).send_file(file, offset, len)
            }
        }
    )*};
}

delegate!(&T, Rc<T>);
