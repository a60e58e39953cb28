//! [`ServeDir`]: a service that serves the files under a directory, as a
//! static web server does.
//!
//! For each `GET` or `HEAD`:
//! 1. The URI path is decoded segment by segment and refused with 400 if it
//!    holds `..` (also `%2e%2e`), a NUL, an encoded `/` or a bad escape
//!    (`request_path.rs`); on Windows also if a segment is not one plain file
//!    name there (a drive `C:`, a `\`, a device name such as `CON`, ...).
//! 2. The file is opened *beneath* the root by the kernel (`openat2` with
//!    `RESOLVE_BENEATH`, see [`RootDir`](ringo_reactor::fs::RootDir)): a symlink leading out of the root
//!    is refused like a missing file — 404, never a byte from outside. Off
//!    Linux the path is resolved and checked to stay inside the root before
//!    the open instead (`beneath.rs`).
//! 3. A directory serves its `index.html`, or 404; anything but a regular file
//!    is 404.
//! 4. `ETag` and `Last-Modified` come from `statx`; `If-None-Match` /
//!    `If-Modified-Since` answer 304 (`validators.rs`).
//! 5. A single `Range` answers 206 with `Content-Range`, one past the end 416
//!    (`range.rs`); `If-Range` guards it.
//! 6. The body: small files (at most [`WHOLE_BELOW`]) are read in one go and
//!    sent with the head; larger ones are a file range ([`Body::file`]), sent
//!    from the file as the client reads, so memory per connection stays
//!    bounded whatever the file size.
//!
//! Other methods get 405 with `Allow: GET, HEAD`. `Content-Type` comes from the
//! extension (`content_type.rs`).
//!
//! A file range goes from the file to the socket without passing through user
//! space on a plain TCP connection (splice on io_uring, `sendfile` on compat:
//! [`AsyncWrite::send_file`](ringo_reactor::io::AsyncWrite::send_file)); over
//! TLS it is read in chunks and encrypted. A small file is read whole
//! (`IORING_OP_READ` on io_uring): one read and one send of head and body
//! together cost less than a separate head and file send.
//!
//! # Examples
//! ```no_run
//! use ringo_service::http::{self, ServeDir};
//!
//! let files = ServeDir::new("./public")?;
//! let running = http::Server::bind("127.0.0.1:8080")
//!     .serve(move || files.clone())?;
//! running.wait()?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod beneath;
mod content_type;
mod range;
mod request_path;
mod validators;

use std::convert::Infallible;
use std::io;
use std::path::{Path, PathBuf};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use ringo_reactor::buf::IoBuf;
use ringo_reactor::fs::{File, Metadata};

use super::Body;
use crate::Service;
use beneath::{Found, Root};
use range::Requested;
use validators::Validators;

/// Files of at most this many bytes are read whole and sent as one body with
/// the head; larger ones are sent from the file. One read and one send beat a
/// separate head and file send for a typical page or image.
pub const WHOLE_BELOW: u64 = 64 * 1024;

/// The file a directory request serves.
const INDEX: &str = "index.html";

/// Serves the files beneath a directory; see the [module docs](self).
///
/// Cheap to clone (the directory is opened once and shared), so a server's
/// factory can hand each connection a clone.
#[derive(Debug, Clone)]
pub struct ServeDir {
    root: Root,
}

impl ServeDir {
    /// Serves the files beneath `root`.
    ///
    /// # Errors
    /// `root` cannot be opened as a directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<ServeDir> {
        Ok(ServeDir {
            root: Root::open(root.as_ref())?,
        })
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    async fn respond(&self, req: &Request<Body>) -> Response<Body> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let relative = match request_path::relative_path(req.uri().path()) {
            Ok(path) => path,
            Err(_) => return status(StatusCode::BAD_REQUEST),
        };
        let (file, meta, served) = match self.open(relative).await {
            Ok(found) => found,
            Err(code) => return status(code),
        };
        let validators = Validators::of(&meta);
        if validators.not_modified(req.headers()) {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            add_validators(response.headers_mut(), validators);
            return response;
        }
        let len = meta.len();
        let range = if validators.range_allowed(req.headers()) {
            range::requested(
                req.headers().get(header::RANGE).map(HeaderValue::as_bytes),
                len,
            )
        } else {
            Requested::Whole
        };
        let (code, start, count, content_range) = match range {
            Requested::Whole => (StatusCode::OK, 0, len, None),
            Requested::Part { start, end } => (
                StatusCode::PARTIAL_CONTENT,
                start,
                end - start + 1,
                HeaderValue::try_from(format!("bytes {start}-{end}/{len}")).ok(),
            ),
            Requested::Unsatisfiable => {
                let mut response = status(StatusCode::RANGE_NOT_SATISFIABLE);
                if let Ok(value) = HeaderValue::try_from(format!("bytes */{len}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return response;
            }
        };
        let body = if req.method() == Method::HEAD || count > WHOLE_BELOW {
            // A HEAD response sends no bytes, but its head announces the
            // GET's length.
            Body::file(file, start, count)
        } else {
            // Read into the spare capacity: the kernel writes every byte.
            let buf = Vec::with_capacity(count as usize).slice(..count as usize);
            match file.read_exact_at(buf, start).await {
                (Ok(()), buf) => Body::from(buf.into_inner()),
                (Err(_), _) => return status(StatusCode::INTERNAL_SERVER_ERROR),
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = code;
        let headers = response.headers_mut();
        add_validators(headers, validators);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type::for_path(&served)),
        );
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Some(content_range) = content_range {
            headers.insert(header::CONTENT_RANGE, content_range);
        }
        response
    }

    /// Opens what `relative` names: the file, or a directory's index. Returns
    /// the file, its metadata and the path served (for the content type).
    async fn open(&self, relative: PathBuf) -> Result<(File, Metadata, PathBuf), StatusCode> {
        let mut path = relative;
        for _ in 0..2 {
            let target = if path.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &path
            };
            match self.root.find(target).await? {
                Found::File(file, meta) => return Ok((file, meta, path)),
                Found::Dir => {}
                Found::Other => return Err(StatusCode::NOT_FOUND),
            }
            path.push(INDEX);
        }
        // An "index.html" that is itself a directory.
        Err(StatusCode::NOT_FOUND)
    }
}

/// The status for a failed open: anything outside the root, missing, or not
/// traversable is 404 (so a probe learns nothing); no permission is 403.
fn open_error(e: io::Error) -> StatusCode {
    use io::ErrorKind as Kind;
    match e.kind() {
        Kind::PermissionDenied => StatusCode::FORBIDDEN,
        Kind::NotFound | Kind::NotADirectory | Kind::CrossesDevices => StatusCode::NOT_FOUND,
        _ if e
            .raw_os_error()
            .is_some_and(|code| os::NOT_FOUND.contains(&code)) =>
        {
            StatusCode::NOT_FOUND
        }
        Kind::InvalidInput => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Open errors that mean "no such file here" but have no [`io::ErrorKind`]
/// std names on every platform and every supported Rust (a symlink loop, a
/// name too long or malformed for the file system).
#[cfg(unix)]
mod os {
    pub(super) const NOT_FOUND: &[i32] = &[libc::ELOOP, libc::ENAMETOOLONG];
}

/// Open errors that mean "no such file here"; see the Unix twin above.
#[cfg(windows)]
mod os {
    use windows_sys::Win32::Foundation;

    pub(super) const NOT_FOUND: &[i32] = &[
        Foundation::ERROR_CANT_RESOLVE_FILENAME as i32,
        Foundation::ERROR_FILENAME_EXCED_RANGE as i32,
        Foundation::ERROR_INVALID_NAME as i32,
        Foundation::ERROR_BAD_PATHNAME as i32,
    ];
}

fn add_validators(headers: &mut HeaderMap, validators: Validators) {
    if let Some(date) = validators.last_modified() {
        headers.insert(header::LAST_MODIFIED, date);
    }
    headers.insert(header::ETAG, validators.etag);
}

/// A bodiless response with `code`, its reason phrase as text for humans.
fn status(code: StatusCode) -> Response<Body> {
    let text = code.canonical_reason().unwrap_or("error");
    let mut response = Response::new(Body::from(format!("{} {text}\n", code.as_u16())));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl Service<Request<Body>> for ServeDir {
    type Response = Response<Body>;
    type Error = Infallible;

    async fn call(&self, req: Request<Body>) -> Result<Response<Body>, Infallible> {
        Ok(self.respond(&req).await)
    }
}
