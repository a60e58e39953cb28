//! [`Body`]: an HTTP message body, either whole bytes or a stream of chunks.
//!
//! Most bodies are small and known up front, so the whole-bytes case is a
//! plain [`Bytes`] with no allocation beyond it; a body produced piece by
//! piece (a proxied response, server-sent events) is a boxed stream of
//! chunks, which the server writes as they come; a file's bytes are a file
//! range, which the server sends from the file (zero-copy on plain TCP).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use ringo_proto::framed::{FileChunks, FileRange};
use ringo_proto::http::{BodyReader, FromRequestBody, Outgoing};
#[cfg(doc)]
use ringo_proto::http::{BODY_BACKLOG, STREAM_ABOVE};
use ringo_reactor::fs::File;

use crate::{Error, ErrorKind};

/// A stream of body chunks, as [`Body::stream`] stores it.
type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, Error>>>>;

/// An HTTP body: whole [`Bytes`], a stream of chunks, or a range of a file.
///
/// A request reaches a service with a whole body when it declared at most
/// [`STREAM_ABOVE`] bytes (64 KiB) or asked for `100 Continue`; a larger or
/// chunked body is a stream, fed as the client sends it and held to
/// [`BODY_BACKLOG`] unread bytes (the server stops reading the connection
/// while that much waits). Such a stream fails with
/// [`ErrorKind::ConnectionLost`](crate::ErrorKind::ConnectionLost) if the body
/// breaks its framing or the body limit, or the connection ends before it
/// does (the connection then closes after the response); a service that
/// drops it unread has the rest of the body discarded as it arrives.
///
/// A response may carry either. A whole body goes
/// out with `content-length`; a streamed one is written chunk by chunk as the
/// stream yields them and the client reads them (never collected, so its size
/// is not bounded by memory), with `content-length` if it was made by
/// [`Body::sized_stream`], else chunked (close-delimited to an HTTP/1.0
/// client).
///
/// A file range ([`Body::file`]) goes out with `content-length`, sent from the
/// file: with `splice` (io_uring) or `sendfile` (compat) on a plain TCP
/// connection, so its bytes never pass through user space; read in chunks and
/// written as a stream's on a connection that cannot (TLS).
///
/// A stream's head is written before its first chunk is asked for, so a
/// stream's error never becomes a 500: the server closes the connection with
/// the body cut short, and logs the error. So does a sized stream whose chunks
/// do not add up to its length.
///
/// `Body` is a [`Stream`] of its chunks, so bodies can be forwarded.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use ringo_service::http::Body;
///
/// let whole = Body::from("hello");
/// assert_eq!(whole.len_hint(), Some(5));
///
/// let parts = [Ok(Bytes::from_static(b"hel")), Ok(Bytes::from_static(b"lo"))];
/// let streamed = Body::stream(Iter(parts.into_iter()));
/// assert_eq!(streamed.len_hint(), None);
/// let bytes = ringo_reactor::run(streamed.collect()).unwrap();
/// assert_eq!(bytes, "hello");
/// # struct Iter<I>(I);
/// # impl<I: Iterator + Unpin> futures_core::Stream for Iter<I> {
/// #     type Item = I::Item;
/// #     fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
/// #         -> std::task::Poll<Option<I::Item>> { std::task::Poll::Ready(self.0.next()) }
/// # }
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    /// Whole bytes; emptied (and then ended) once yielded as a stream.
    Full(Bytes),
    /// Chunks produced over time, and their total length if known up front.
    Stream(Chunks, Option<u64>),
    /// A range of a file; read in chunks if polled as a stream.
    File(FileRange),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body::from(Bytes::new())
    }

    /// A body made of the chunks `stream` yields; an `Err` item fails the body
    /// (a server closes the connection with the body cut short).
    pub fn stream<S>(stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, Error>> + 'static,
    {
        Body {
            kind: Kind::Stream(Box::pin(stream), None),
        }
    }

    /// A body made of the chunks `stream` yields, `length` bytes in all: a
    /// server sends it with `content-length`, and closes the connection if the
    /// chunks come to more or fewer bytes.
    pub fn sized_stream<S>(length: u64, stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, Error>> + 'static,
    {
        Body {
            kind: Kind::Stream(Box::pin(stream), Some(length)),
        }
    }

    /// The `len` bytes of `file` from `offset`: a server sends them with
    /// `content-length`, from the file (see the type's docs). A file that
    /// ends before the range does — truncated while being sent — closes the
    /// connection with the body cut short. The file's cursor is neither used
    /// nor moved.
    ///
    /// # Examples
    /// ```no_run
    /// use ringo_reactor::fs::File;
    /// use ringo_service::http::Body;
    ///
    /// # async fn page() -> std::io::Result<Body> {
    /// let file = File::open("index.html").await?;
    /// let len = file.metadata().await?.len();
    /// Ok(Body::file(file, 0, len))
    /// # }
    /// ```
    pub fn file(file: File, offset: u64, len: u64) -> Body {
        Body {
            kind: Kind::File(FileRange::new(file, offset, len)),
        }
    }

    /// The exact length in bytes, when known without reading the body (whole
    /// bodies, sized streams and files); `None` for other streams.
    pub fn len_hint(&self) -> Option<u64> {
        match &self.kind {
            Kind::Full(bytes) => Some(bytes.len() as u64),
            Kind::Stream(_, length) => *length,
            Kind::File(range) => Some(range.len()),
        }
    }

    /// The whole body, if it is not a stream or a file.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Full(bytes) => Some(bytes),
            Kind::Stream(..) | Kind::File(_) => None,
        }
    }

    /// Reads the whole body into one buffer. A whole body is returned as is;
    /// a stream's (or a file's) chunks are joined (one chunk without copying).
    ///
    /// # Errors
    /// The first error the stream yields, or the file's.
    pub async fn collect(self) -> Result<Bytes, Error> {
        let mut chunks = match self.kind {
            Kind::Full(bytes) => return Ok(bytes),
            Kind::Stream(chunks, _) => chunks,
            Kind::File(range) => Box::pin(FileStream(range.chunks())),
        };
        let mut first: Option<Bytes> = None;
        let mut joined = BytesMut::new();
        while let Some(chunk) = poll_fn(|cx| chunks.as_mut().poll_next(cx)).await {
            let chunk = chunk?;
            if chunk.is_empty() {
                continue;
            }
            match first.take() {
                None if joined.is_empty() => first = Some(chunk),
                Some(earlier) => {
                    joined.extend_from_slice(&earlier);
                    joined.extend_from_slice(&chunk);
                }
                None => joined.extend_from_slice(&chunk),
            }
        }
        Ok(first.unwrap_or_else(|| joined.freeze()))
    }
}

impl Stream for Body {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.kind {
            Kind::Full(bytes) if bytes.is_empty() => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(Some(Ok(std::mem::take(bytes)))),
            Kind::Stream(chunks, _) => chunks.as_mut().poll_next(cx),
            Kind::File(range) => {
                // Polled as a stream (forwarded, not served): read it.
                let length = range.len();
                let chunks = FileStream(range.clone().chunks());
                self.kind = Kind::Stream(Box::pin(chunks), Some(length));
                self.poll_next(cx)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.kind {
            Kind::Full(bytes) if bytes.is_empty() => (0, Some(0)),
            Kind::Full(_) => (1, Some(1)),
            Kind::Stream(chunks, _) => chunks.size_hint(),
            Kind::File(range) if range.is_empty() => (0, Some(0)),
            Kind::File(_) => (1, None),
        }
    }
}

/// Requests are decoded straight into a `Body`: whole bytes, or the stream
/// of a body still arriving.
impl FromRequestBody for Body {
    #[inline]
    fn whole(bytes: Bytes) -> Body {
        Body::from(bytes)
    }

    fn streamed(reader: BodyReader) -> Body {
        Body::stream(Upload(reader))
    }
}

/// A file's chunks, its I/O errors as the service's.
struct FileStream(FileChunks);

impl Stream for FileStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx).map(|chunk| {
            chunk.map(|chunk| chunk.map_err(|e| Error::with_source(ErrorKind::Inner, e)))
        })
    }
}

/// A request body streaming in, its codec errors as the service's.
struct Upload(BodyReader);

impl Stream for Upload {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx).map(|chunk| {
            chunk.map(|chunk| chunk.map_err(|e| Error::with_source(ErrorKind::ConnectionLost, e)))
        })
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f.debug_tuple("Body").field(bytes).finish(),
            Kind::Stream(..) => f.write_str("Body(<stream>)"),
            Kind::File(range) => f.debug_tuple("Body").field(range).finish(),
        }
    }
}

/// The body as the server writes it: the same bytes, the same boxed stream
/// or the same file range (no allocation of its own).
impl From<Body> for Outgoing<Error> {
    fn from(body: Body) -> Outgoing<Error> {
        match body.kind {
            Kind::Full(bytes) => Outgoing::Full(bytes),
            Kind::Stream(chunks, length) => Outgoing::Stream { chunks, length },
            Kind::File(range) => Outgoing::File(range),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            kind: Kind::Full(bytes),
        }
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(Bytes::from(text))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream over a vector of chunks, ready at every poll.
    struct Chunked(std::vec::IntoIter<Result<Bytes, Error>>);

    impl Stream for Chunked {
        type Item = Result<Bytes, Error>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.next())
        }
    }

    /// A waker for polls that are always ready.
    struct Ignore;

    impl std::task::Wake for Ignore {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    fn chunked(chunks: &[&'static str]) -> Body {
        let items: Vec<_> = chunks
            .iter()
            .map(|c| Ok(Bytes::from_static(c.as_bytes())))
            .collect();
        Body::stream(Chunked(items.into_iter()))
    }

    #[test]
    fn collecting_joins_the_chunks_of_every_shape_of_body() {
        let cases: [(&str, Body, &str); 7] = [
            ("empty", Body::empty(), ""),
            ("whole str", Body::from("abc"), "abc"),
            ("whole vec", Body::from(b"xyz".to_vec()), "xyz"),
            ("stream of none", chunked(&[]), ""),
            ("stream of one", chunked(&["one"]), "one"),
            ("stream with empties", chunked(&["", "a", "", "b"]), "ab"),
            ("stream of three", chunked(&["a", "bc", "def"]), "abcdef"),
        ];
        for (name, body, expected) in cases {
            let bytes = ringo_reactor::run(body.collect());
            assert_eq!(
                bytes.ok().as_deref(),
                Some(expected.as_bytes()),
                "case {name}"
            );
        }
    }

    #[test]
    fn a_failing_stream_fails_the_collect() {
        let items = vec![
            Ok(Bytes::from_static(b"a")),
            Err(Error::new(ErrorKind::Unavailable)),
        ];
        let body = Body::stream(Chunked(items.into_iter()));
        let error = ringo_reactor::run(body.collect()).err();
        assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Unavailable));
    }

    #[test]
    fn the_server_gets_the_bytes_or_the_stream_with_its_length() {
        let sized =
            Body::sized_stream(3, Chunked(vec![Ok(Bytes::from_static(b"abc"))].into_iter()));
        assert_eq!(sized.len_hint(), Some(3));
        assert!(sized.as_bytes().is_none());
        assert!(matches!(
            Outgoing::from(sized),
            Outgoing::Stream {
                length: Some(3),
                ..
            }
        ));
        assert!(matches!(
            Outgoing::from(chunked(&["a"])),
            Outgoing::Stream { length: None, .. }
        ));
        assert!(matches!(Outgoing::from(Body::from("hi")), Outgoing::Full(b) if b == "hi"));
    }

    #[test]
    fn a_whole_body_streams_as_one_chunk_then_ends() {
        let mut body = Body::from(String::from("hi"));
        assert_eq!(body.len_hint(), Some(2));
        assert_eq!(body.size_hint(), (1, Some(1)));
        let waker = std::task::Waker::from(std::sync::Arc::new(Ignore));
        let mut cx = Context::from_waker(&waker);
        let first = Pin::new(&mut body).poll_next(&mut cx);
        assert!(matches!(first, Poll::Ready(Some(Ok(b))) if b == "hi"));
        assert!(matches!(
            Pin::new(&mut body).poll_next(&mut cx),
            Poll::Ready(None)
        ));
        assert_eq!(format!("{:?}", chunked(&[])), "Body(<stream>)");
    }
}
