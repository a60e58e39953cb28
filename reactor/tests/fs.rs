//! Files on both drivers: positional reads and writes, a large file read back
//! at many offsets, end-of-file behaviour, syncs, metadata, open errors,
//! concurrent readers and append mode.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use ringo_reactor::fs::{File, OpenOptions};
use util::{pattern, TempDir};

/// A small xorshift generator, so offsets and lengths are arbitrary but repeatable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Creates `path` holding `data`, through ringo, and returns it open read-write.
async fn file_with(path: &Path, data: Vec<u8>) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .await
        .expect("create");
    let (r, _) = file.write_all_at(data, 0).await;
    r.expect("write_all_at");
    file
}

both_drivers! {
    async fn write_at_and_read_at_at_offsets() {
        let dir = TempDir::new("fs-offsets");
        let path = dir.join("f");
        let file = file_with(&path, Vec::new()).await;
        let writes: [(u64, &[u8]); 4] =
            [(0, b"hello"), (100, b"world"), (3, b"LO"), (4096, b"page")];
        for (offset, bytes) in writes {
            let (n, _) = file.write_at(bytes.to_vec(), offset).await;
            assert_eq!(n.expect("write_at"), bytes.len(), "write at {offset}");
        }
        let mut expected = vec![0u8; 4100];
        for (offset, bytes) in writes {
            expected[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
        }
        for (offset, bytes) in writes {
            let (n, buf) = file.read_at(vec![0u8; bytes.len()], offset).await;
            assert_eq!(n.expect("read_at"), bytes.len(), "read at {offset}");
            assert_eq!(&buf[..], &expected[offset as usize..offset as usize + bytes.len()]);
        }
        let (n, buf) = file.read_at(vec![0u8; 8], 98).await;
        assert_eq!(n.expect("read across a write"), 8);
        assert_eq!(&buf, b"\0\0world\0", "the gap before a write reads as zeros");
        assert_eq!(std::fs::read(&path).expect("std read"), expected, "std sees the same bytes");
    }
}

both_drivers! {
    async fn large_file_reads_back_byte_exact_at_many_offsets() {
        const LEN: usize = 32 * 1024 * 1024;
        const PAGE: usize = 4096;
        let dir = TempDir::new("fs-large");
        let path = dir.join("large");
        let data = pattern(LEN, 5);
        let file = file_with(&path, data.clone()).await;
        assert_eq!(file.metadata().await.expect("metadata").len(), LEN as u64);

        let mut buf = vec![0u8; PAGE];
        for offset in (0..LEN).step_by(PAGE) {
            let (r, b) = file.read_exact_at(buf, offset as u64).await;
            r.unwrap_or_else(|e| panic!("page at {offset}: {e}"));
            assert!(b[..] == data[offset..offset + PAGE], "page at {offset}");
            buf = b;
        }

        let mut rng = Rng(0x5eed);
        for i in 0..2000 {
            let offset = rng.below(LEN as u64) as usize;
            let len = 1 + rng.below((LEN - offset).min(256 * 1024) as u64) as usize;
            let (r, b) = file.read_exact_at(vec![0u8; len], offset as u64).await;
            r.unwrap_or_else(|e| panic!("read {i}: {len} bytes at {offset}: {e}"));
            assert!(b[..] == data[offset..offset + len], "read {i}: {len} bytes at {offset}");
        }

        let (r, b) = file.read_exact_at(vec![0u8; LEN], 0).await;
        r.expect("the whole file in one read_exact_at");
        assert!(b == data, "the whole file is byte-exact");
    }
}

both_drivers! {
    async fn read_at_or_past_eof_returns_zero_and_straddling_reads_are_short() {
        let dir = TempDir::new("fs-eof");
        let file = file_with(&dir.join("f"), pattern(100, 1)).await;
        let cases: [(&str, u64, usize, usize); 5] = [
            ("at eof", 100, 16, 0),
            ("past eof", 1000, 16, 0),
            ("far past eof", u64::from(u32::MAX) * 4, 16, 0),
            ("straddling eof", 90, 20, 10),
            ("ending at eof", 84, 16, 16),
        ];
        for (name, offset, len, expected) in cases {
            let (n, buf) = file.read_at(vec![0u8; len], offset).await;
            assert_eq!(n.unwrap_or_else(|e| panic!("{name}: {e}")), expected, "{name}");
            if expected > 0 {
                let start = offset as usize;
                assert_eq!(&buf[..expected], &pattern(100, 1)[start..start + expected], "{name}");
            }
        }
    }
}

both_drivers! {
    async fn read_exact_at_past_eof_is_unexpected_eof() {
        let dir = TempDir::new("fs-exact-eof");
        let file = file_with(&dir.join("f"), pattern(100, 2)).await;
        // (name, offset, length, expected: Ok(()) or the error kind)
        let cases: [(&str, u64, usize, Option<ErrorKind>); 5] = [
            ("exactly to eof", 0, 100, None),
            ("one byte over", 0, 101, Some(ErrorKind::UnexpectedEof)),
            ("last byte", 99, 1, None),
            ("starting at eof", 100, 1, Some(ErrorKind::UnexpectedEof)),
            ("starting past eof", 500, 10, Some(ErrorKind::UnexpectedEof)),
        ];
        for (name, offset, len, expected) in cases {
            let (r, _) = file.read_exact_at(vec![0u8; len], offset).await;
            match (r, expected) {
                (Ok(()), None) => {}
                (Err(e), Some(kind)) => {
                    assert_eq!(e.kind(), kind, "{name}: {e}");
                    assert!(e.to_string().contains(&format!("of {len} bytes")), "{name}: {e}");
                }
                (r, expected) => panic!("{name}: got {r:?}, expected {expected:?}"),
            }
        }
    }
}

both_drivers! {
    async fn sync_all_and_sync_data_succeed_and_data_persists() {
        let dir = TempDir::new("fs-sync");
        let path = dir.join("f");
        let file = file_with(&path, b"durable".to_vec()).await;
        file.sync_data().await.expect("sync_data");
        let (r, _) = file.write_all_at(b" bytes".to_vec(), 7).await;
        r.expect("second write");
        file.sync_all().await.expect("sync_all");
        drop(file);
        assert_eq!(std::fs::read(&path).expect("std read"), b"durable bytes");
        let read_only = File::open(&path).await.expect("open");
        let synced = read_only.sync_all().await;
        #[cfg(unix)]
        synced.expect("sync_all on a read-only fd");
        // FlushFileBuffers needs a handle open for writing.
        #[cfg(windows)]
        assert_eq!(synced.expect_err("sync_all on a read-only handle").kind(), std::io::ErrorKind::PermissionDenied);
    }
}

both_drivers! {
    async fn metadata_reports_length_and_type() {
        let dir = TempDir::new("fs-metadata");
        let file = file_with(&dir.join("f"), Vec::new()).await;
        let meta = file.metadata().await.expect("metadata");
        assert!(meta.is_empty() && meta.is_file() && !meta.is_dir(), "{meta:?}");
        assert_eq!(meta.len(), 0);
        let (r, _) = file.write_all_at(vec![7u8; 10], 1000).await;
        r.expect("write past the end");
        assert_eq!(file.metadata().await.expect("metadata").len(), 1010, "a write past the end extends");
        let truncated = File::create(dir.join("f")).await.expect("create truncates");
        assert_eq!(truncated.metadata().await.expect("metadata").len(), 0);
        // Windows opens a directory only with FILE_FLAG_BACKUP_SEMANTICS.
        #[cfg(unix)]
        {
            let dir_handle = File::open(dir.path()).await.expect("open a directory read-only");
            assert!(dir_handle.metadata().await.expect("metadata").is_dir());
        }
    }
}

both_drivers! {
    async fn open_option_errors_name_their_cause() {
        let dir = TempDir::new("fs-open-errors");
        let existing = dir.join("existing");
        std::fs::write(&existing, b"x").expect("create existing");
        let missing = dir.join("missing");
        let mut read = OpenOptions::new();
        read.read(true);
        let mut create_new = OpenOptions::new();
        create_new.write(true).create_new(true);
        let mut neither = OpenOptions::new();
        neither.create(true).truncate(true);
        let nul = PathBuf::from(format!("{}/nul\0name", dir.path().display()));
        let cases: [(&str, &OpenOptions, &PathBuf, ErrorKind, &str); 5] = [
            ("missing file", &read, &missing, ErrorKind::NotFound, ""),
            ("create_new on existing", &create_new, &existing, ErrorKind::AlreadyExists, ""),
            ("neither read nor write", &neither, &missing, ErrorKind::InvalidInput, "neither"),
            ("path with NUL, read", &read, &nul, ErrorKind::InvalidInput, "NUL"),
            ("path with NUL, create_new", &create_new, &nul, ErrorKind::InvalidInput, "NUL"),
        ];
        for (name, options, path, kind, message) in cases {
            let err = options.open(path).await.expect_err(name);
            assert_eq!(err.kind(), kind, "{name}: {err}");
            assert!(err.to_string().contains(message), "{name}: {err}");
        }
        assert!(!missing.exists(), "a rejected open created nothing");
        let left = std::fs::read(&existing).expect("read existing");
        assert_eq!(left, b"x", "create_new left the existing file alone");
    }
}

both_drivers! {
    async fn many_concurrent_reads_of_one_file() {
        const CHUNK: usize = 8 * 1024;
        const TASKS: usize = 200;
        let dir = TempDir::new("fs-concurrent");
        let data = Rc::new(pattern(CHUNK * TASKS, 9));
        let file = Rc::new(file_with(&dir.join("f"), data.to_vec()).await);
        let readers: Vec<_> = (0..TASKS)
            .map(|i| {
                let (file, data) = (file.clone(), data.clone());
                ringo_reactor::spawn(async move {
                    // Each task reads its own chunk, then a neighbour's, so reads overlap.
                    for chunk in [i, (i + 1) % TASKS] {
                        let offset = chunk * CHUNK;
                        let (r, buf) = file.read_exact_at(vec![0u8; CHUNK], offset as u64).await;
                        r.unwrap_or_else(|e| panic!("task {i} chunk {chunk}: {e}"));
                        assert!(buf[..] == data[offset..offset + CHUNK], "task {i} chunk {chunk}");
                    }
                })
            })
            .collect();
        for reader in readers {
            reader.await.expect("reader task");
        }
    }
}

both_drivers! {
    async fn append_mode_writes_at_the_end_whatever_the_offset() {
        // Observed and relied on: with `append`, the kernel places every write at
        // the current end of the file and ignores the offset given to write_at
        // (Linux pwrite(2), BUGS; io_uring does the same).
        let dir = TempDir::new("fs-append");
        let path = dir.join("log");
        std::fs::write(&path, b"hello").expect("seed");
        let file = OpenOptions::new().append(true).open(&path).await.expect("open for append");
        for (offset, bytes) in [(0u64, &b" world"[..]), (2, b"!"), (1_000, b"?")] {
            let (n, _) = file.write_at(bytes.to_vec(), offset).await;
            assert_eq!(n.expect("append"), bytes.len(), "write at {offset}");
        }
        assert_eq!(std::fs::read(&path).expect("std read"), b"hello world!?");
        let (n, _) = file.read_at(vec![0u8; 4], 0).await;
        let err = n.expect_err("an append-only file is not open for reading");
        #[cfg(unix)]
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        #[cfg(windows)]
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    }
}

both_drivers! {
    async fn from_std_file_and_into_raw_fd_keep_the_file_open() {
        let dir = TempDir::new("fs-std");
        let path = dir.join("f");
        std::fs::write(&path, b"from std").expect("seed");
        let file = File::from_std(std::fs::File::open(&path).expect("std open"));
        let (r, buf) = file.read_exact_at(vec![0u8; 8], 0).await;
        r.expect("read adopted file");
        assert_eq!(&buf, b"from std");
        // SAFETY: into_raw_fd hands over sole ownership of an open file fd.
        #[cfg(unix)]
        let std_file = unsafe {
            use std::os::fd::{FromRawFd, IntoRawFd};
            std::fs::File::from_raw_fd(file.into_raw_fd())
        };
        // SAFETY: into_raw_handle hands over sole ownership of an open file handle.
        #[cfg(windows)]
        let std_file = unsafe {
            use std::os::windows::io::{FromRawHandle, IntoRawHandle};
            std::fs::File::from_raw_handle(file.into_raw_handle())
        };
        assert_eq!(std_file.metadata().expect("std metadata").len(), 8);
    }
}
