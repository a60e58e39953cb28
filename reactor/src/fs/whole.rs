//! Whole-file helpers: [`read`], [`read_to_string`], [`write`] — open, one
//! loop of owned-buffer I/O, close, as std and tokio offer them.

use std::io;
use std::path::Path;

use super::File;
use crate::buf::IoBuf;

/// The whole contents of `path`.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let mut file = File::open(path).await?;
    let (result, buf) = file.read_to_end(Vec::new()).await;
    result.map(|_| buf)
}

/// The whole contents of `path`, which must be UTF-8.
///
/// # Errors
/// `InvalidData` if it is not.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    String::from_utf8(read(path).await?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is not UTF-8: {}", e.utf8_error()),
        )
    })
}

/// Makes `path` hold exactly `contents`, creating it if needed.
pub async fn write<B: IoBuf>(path: impl AsRef<Path>, contents: B) -> io::Result<()> {
    let file = File::create(path).await?;
    file.write_all_at(contents, 0).await.0
}
