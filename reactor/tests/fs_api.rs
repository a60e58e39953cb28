//! The fs API beyond positional I/O, on both drivers: path operations, whole-file
//! helpers, cursor I/O, `set_len`/`allocate`/`advise`, metadata timestamps,
//! `try_clone`/`into_std`, `custom_flags`, directory listing, and the errors each
//! gives for bad input.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::io::{ErrorKind, SeekFrom};
use std::time::{Duration, SystemTime};

use ringo_reactor::fs::{self, Advice, File, OpenOptions};
use util::{pattern, TempDir};

both_drivers! {
    async fn directories_are_made_listed_renamed_and_removed() {
        let dir = TempDir::new("fs-dirs");
        let deep = dir.join("a/b/c");
        fs::create_dir_all(&deep).await.expect("create_dir_all");
        fs::create_dir_all(&deep).await.expect("create_dir_all again is fine");
        assert!(fs::metadata(&deep).await.expect("metadata").is_dir());
        let err = fs::create_dir(&deep).await.expect_err("create_dir on an existing dir");
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        let err = fs::create_dir(dir.join("missing/x")).await.expect_err("no parent");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

        for name in ["one", "two", "three"] {
            fs::write(deep.join(name), name.as_bytes().to_vec()).await.expect("write");
        }
        let mut names = Vec::new();
        let mut listing = fs::read_dir(&deep).await.expect("read_dir");
        while let Some(entry) = listing.next_entry().await.expect("next_entry") {
            assert!(entry.file_type().is_file(), "{entry:?}");
            assert_eq!(entry.path(), deep.join(entry.file_name()));
            names.push(entry.file_name().into_string().expect("utf-8 name"));
        }
        names.sort();
        assert_eq!(names, ["one", "three", "two"]);

        fs::rename(deep.join("one"), deep.join("uno")).await.expect("rename");
        assert!(!fs::try_exists(deep.join("one")).await.expect("try_exists"));
        assert_eq!(fs::read_to_string(deep.join("uno")).await.expect("read moved"), "one");

        let err = fs::remove_dir(&deep).await.expect_err("remove_dir on a non-empty dir");
        assert_eq!(err.kind(), ErrorKind::DirectoryNotEmpty, "{err}");
        fs::remove_file(deep.join("uno")).await.expect("remove_file");
        let err = fs::remove_file(deep.join("uno")).await.expect_err("removed twice");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let err = fs::remove_file(&deep).await.expect_err("remove_file on a directory");
        #[cfg(unix)]
        assert!(err.raw_os_error() == Some(libc::EISDIR) || err.raw_os_error() == Some(libc::EPERM), "{err}");
        #[cfg(windows)]
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        fs::remove_dir_all(dir.join("a")).await.expect("remove_dir_all");
        assert!(!fs::try_exists(dir.join("a")).await.expect("try_exists"));
        let err = fs::read_dir(dir.join("a")).await.expect_err("listing a removed dir");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
}

both_drivers! {
    async fn a_directory_larger_than_one_batch_lists_every_entry_once() {
        let dir = TempDir::new("fs-many");
        for i in 0..700 {
            std::fs::write(dir.join(&format!("f{i}")), b"").expect("seed");
        }
        let mut seen = std::collections::HashSet::new();
        let mut listing = fs::read_dir(dir.path()).await.expect("read_dir");
        while let Some(entry) = listing.next_entry().await.expect("next_entry") {
            assert!(seen.insert(entry.file_name()), "{:?} listed twice", entry.file_name());
        }
        assert_eq!(seen.len(), 700);
    }
}

both_drivers! {
    async fn whole_file_helpers_round_trip_and_reject_bad_input() {
        let dir = TempDir::new("fs-whole");
        let path = dir.join("data");
        let data = pattern(300_000, 9);
        fs::write(&path, data.clone()).await.expect("write");
        assert!(fs::read(&path).await.expect("read") == data);
        fs::write(&path, b"short".to_vec()).await.expect("overwrite truncates");
        assert_eq!(fs::read(&path).await.expect("read"), b"short");
        fs::write(&path, vec![0xff, 0xfe]).await.expect("write non-UTF-8");
        let err = fs::read_to_string(&path).await.expect_err("not UTF-8");
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        assert!(fs::read(dir.join("none")).await.is_err_and(|e| e.kind() == ErrorKind::NotFound));
        let err = fs::read("nul\0byte").await.expect_err("a NUL in a path");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(fs::read(dir.path()).await.is_err(), "reading a directory fails");

        let copy = dir.join("copy");
        fs::write(&path, data.clone()).await.expect("write");
        let copied = fs::copy(&path, &copy).await.expect("copy");
        // Wine's CopyFileExW never calls the progress routine std counts the
        // bytes with, so std::fs::copy reports 0 there (Windows counts them).
        if !(copied == 0 && util::wine::under_wine()) {
            assert_eq!(copied, data.len() as u64);
        }
        assert!(fs::read(&copy).await.expect("read copy") == data);
    }
}

both_drivers! {
    async fn links_canonicalize_permissions_and_symlink_metadata() {
        let dir = TempDir::new("fs-links");
        let target = dir.join("target");
        fs::write(&target, b"12345".to_vec()).await.expect("write");
        let canonical = fs::canonicalize(&target).await.expect("canonicalize");
        assert_eq!(canonical, std::fs::canonicalize(&target).expect("std canonicalize"));
        fs::hard_link(&target, dir.join("hard")).await.expect("hard_link");
        assert_eq!(std::fs::read(dir.join("hard")).expect("read the hard link"), b"12345");
        // Symlinks, link counts and modes are Unix's: a Windows symlink needs a
        // privilege (or developer mode) a test cannot count on.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let link = dir.join("link");
            let canonical = fs::canonicalize(dir.path().join("./x/../link")).await;
            assert!(canonical.is_err(), "x does not exist, so the path cannot resolve");
            fs::symlink(&target, &link).await.expect("symlink");
            assert_eq!(fs::read_link(&link).await.expect("read_link"), target);
            assert!(fs::symlink_metadata(&link).await.expect("lstat").is_symlink());
            let followed = fs::metadata(&link).await.expect("stat");
            assert!(followed.is_file() && !followed.is_symlink());
            assert_eq!(followed.len(), 5);
            let canonical = fs::canonicalize(&link).await.expect("canonicalize");
            assert_eq!(canonical, std::fs::canonicalize(&target).expect("std canonicalize"));
            assert_eq!(fs::metadata(&target).await.expect("stat").nlink(), 2);
            fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).await.expect("chmod");
            assert_eq!(fs::metadata(&target).await.expect("stat").permissions_mode(), 0o600);
        }
        #[cfg(windows)]
        {
            let mut readonly = std::fs::metadata(&target).expect("std metadata").permissions();
            readonly.set_readonly(true);
            fs::set_permissions(&target, readonly).await.expect("set read-only");
            let mut now = std::fs::metadata(&target).expect("std metadata").permissions();
            assert!(now.readonly(), "set_permissions made the file read-only");
            // Writable again, so the temporary directory can be removed.
            #[allow(clippy::permissions_set_readonly_false)]
            now.set_readonly(false);
            std::fs::set_permissions(&target, now).expect("set writable");
        }
    }
}

both_drivers! {
    async fn metadata_has_timestamps_and_identity_matching_std() {
        let dir = TempDir::new("fs-times");
        let path = dir.join("f");
        let before = SystemTime::now() - Duration::from_secs(2);
        let file = File::create(&path).await.expect("create");
        let (r, _) = file.write_all_at(b"abc".to_vec(), 0).await;
        r.expect("write");
        let ours = file.metadata().await.expect("metadata");
        let std = std::fs::metadata(&path).expect("std metadata");
        assert_eq!(ours.modified().expect("mtime"), std.modified().expect("std mtime"));
        assert!(ours.modified().expect("mtime") >= before);
        assert_eq!(ours.accessed().expect("atime"), std.accessed().expect("std atime"));
        assert!(ours.is_file() && std.is_file());
        assert_eq!(ours.len(), 3);
        // Inode, device, owner and mode are Unix's.
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!((ours.ino(), ours.dev()), (std.ino(), std.dev()));
            assert_eq!((ours.uid(), ours.gid(), ours.mode()), (std.uid(), std.gid(), std.mode()));
        }
        assert_eq!(fs::metadata(&path).await.expect("path metadata"), ours);
    }
}

both_drivers! {
    async fn cursor_io_reads_writes_and_seeks_like_std() {
        let dir = TempDir::new("fs-cursor");
        let path = dir.join("f");
        let mut file = OpenOptions::new()
            .read(true).write(true).create(true).truncate(true)
            .open(&path).await.expect("open");
        let (r, _) = file.write_all(b"hello ".to_vec()).await;
        r.expect("write_all");
        let (n, _) = file.write(b"world".to_vec()).await;
        assert_eq!(n.expect("write"), 5);
        assert_eq!(file.stream_position(), 11);
        assert_eq!(file.seek(SeekFrom::Start(0)).await.expect("seek"), 0);
        let (n, buf) = file.read(vec![0u8; 5]).await;
        assert_eq!((n.expect("read"), &buf[..]), (5, &b"hello"[..]));
        assert_eq!(file.seek(SeekFrom::Current(1)).await.expect("seek"), 6);
        let (n, rest) = file.read_to_end(b"=".to_vec()).await;
        assert_eq!((n.expect("read_to_end"), &rest[..]), (5, &b"=world"[..]));
        assert_eq!(file.seek(SeekFrom::End(-5)).await.expect("seek end"), 6);
        let err = file.seek(SeekFrom::Current(-100)).await.expect_err("before the start");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(file.stream_position(), 6, "a failed seek does not move");
        let (n, buf) = file.read(vec![0u8; 64]).await;
        assert_eq!(&buf[..n.expect("read")], b"world");
        let (n, _) = file.read(vec![0u8; 64]).await;
        assert_eq!(n.expect("read at the end"), 0);

        let big = pattern(1_000_000, 3);
        fs::write(&path, big.clone()).await.expect("write big");
        file.seek(SeekFrom::Start(0)).await.expect("rewind");
        let (n, all) = file.read_to_end(Vec::new()).await;
        assert_eq!(n.expect("read_to_end big"), big.len());
        assert!(all == big);
    }
}

both_drivers! {
    async fn set_len_allocate_and_advise_change_what_they_should() {
        let dir = TempDir::new("fs-len");
        let path = dir.join("f");
        let file = OpenOptions::new()
            .read(true).write(true).create(true).truncate(true)
            .open(&path).await.expect("open");
        let (r, _) = file.write_all_at(pattern(10_000, 1), 0).await;
        r.expect("write");
        file.set_len(100).await.expect("shrink");
        assert_eq!(file.metadata().await.expect("stat").len(), 100);
        file.set_len(5000).await.expect("grow");
        let (r, buf) = file.read_exact_at(vec![1u8; 4900], 100).await;
        r.expect("read the extension");
        assert!(buf.iter().all(|&b| b == 0), "an extension reads as zeros");
        // Windows has no fallocate or fadvise: both are Unsupported there.
        #[cfg(unix)]
        {
            file.allocate(0, 1 << 20).await.expect("allocate");
            assert_eq!(file.metadata().await.expect("stat").len(), 1 << 20, "allocate extends");
        }
        #[cfg(windows)]
        {
            let err = file.allocate(0, 1 << 20).await.expect_err("no fallocate");
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        }
        for advice in [Advice::Sequential, Advice::Random, Advice::WillNeed, Advice::DontNeed, Advice::Normal] {
            let advised = file.advise(0, 0, advice).await;
            #[cfg(unix)]
            advised.unwrap_or_else(|e| panic!("{advice:?}: {e}"));
            #[cfg(windows)]
            assert_eq!(advised.expect_err("no fadvise").kind(), ErrorKind::Unsupported, "{advice:?}");
        }
        let (r, buf) = file.read_exact_at(vec![0u8; 100], 0).await;
        r.expect("read after advice");
        assert!(buf == pattern(10_000, 1)[..100], "advice changes no data");

        let read_only = File::open(&path).await.expect("open read-only");
        let err = read_only.set_len(0).await.expect_err("set_len on a read-only fd");
        #[cfg(unix)]
        assert!(matches!(err.raw_os_error(), Some(libc::EINVAL | libc::EBADF)), "{err}");
        // Windows refuses the read-only handle; Wine answers
        // ERROR_INVALID_PARAMETER (87) instead.
        #[cfg(windows)]
        assert!(
            err.kind() == ErrorKind::PermissionDenied
                || (err.raw_os_error() == Some(87) && util::wine::under_wine()),
            "{err}"
        );
        let err = file.set_len(u64::MAX).await.expect_err("a length past i64::MAX");
        assert!(matches!(err.raw_os_error(), Some(libc::EINVAL | libc::EFBIG)) || err.kind() == ErrorKind::InvalidInput, "{err}");
    }
}

both_drivers! {
    async fn try_clone_and_into_std_keep_the_cursor_and_the_file() {
        use std::io::Read;
        let dir = TempDir::new("fs-clone");
        let path = dir.join("f");
        std::fs::write(&path, b"0123456789").expect("seed");
        let mut file = File::open(&path).await.expect("open");
        file.seek(SeekFrom::Start(3)).await.expect("seek");
        let mut clone = file.try_clone().expect("try_clone");
        drop(file);
        let (n, buf) = clone.read(vec![0u8; 2]).await;
        assert_eq!(&buf[..n.expect("read clone")], b"34");
        let mut std = clone.into_std().expect("into_std");
        let mut rest = String::new();
        std.read_to_string(&mut rest).expect("std read");
        assert_eq!(rest, "56789", "std continues at the cursor");
    }
}

// `custom_flags` takes Unix `open` flags; Windows's OpenOptions has none.
#[cfg(unix)]
both_drivers! {
    async fn custom_flags_reach_open() {
        let dir = TempDir::new("fs-flags");
        let path = dir.join("f");
        std::fs::write(&path, b"x").expect("seed");
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_WRONLY)
            .open(&path).await.expect("open with O_NOFOLLOW");
        // SAFETY: F_GETFL on an open fd; no pointers.
        let flags = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), libc::F_GETFL) };
        assert_eq!(flags & libc::O_ACCMODE, libc::O_RDONLY, "custom_flags cannot change the access mode");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        let err = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&link).await.expect_err("O_NOFOLLOW refuses a symlink");
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
    }
}

// macOS has no O_DIRECT (its F_NOCACHE is an fcntl).
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
both_drivers! {
    async fn o_direct_reads_and_writes_aligned_buffers() {
        use ringo_reactor::buf::AlignedBuf;
        let dir = TempDir::new("fs-direct");
        let path = dir.join("f");
        let opened = OpenOptions::new()
            .read(true).write(true).create(true).truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path).await;
        let file = match opened {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                eprintln!("SKIPPED: the temp dir's file system refuses O_DIRECT ({e})");
                return;
            }
            Err(e) => panic!("open O_DIRECT: {e}"),
        };
        let mut block = AlignedBuf::new(8192, 4096).expect("aligned");
        block.copy_from_slice(&pattern(8192, 4));
        let (r, _) = file.write_all_at(block, 4096).await;
        r.expect("aligned O_DIRECT write");
        let (r, back) = file.read_exact_at(AlignedBuf::new(8192, 4096).expect("aligned"), 4096).await;
        r.expect("aligned O_DIRECT read");
        assert!(back[..] == pattern(8192, 4)[..]);
        let (r, _) = file.read_at(AlignedBuf::new(100, 4096).expect("aligned"), 4096).await;
        let err = r.expect_err("a 100-byte O_DIRECT read is misaligned");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        assert!(AlignedBuf::new(4096, 3).is_err(), "alignment must be a power of two");
        assert!(AlignedBuf::new(0, 4096).is_err(), "an empty buffer is refused");
    }
}

// Opening beneath a directory is Linux's openat2.
#[cfg(target_os = "linux")]
both_drivers! {
    async fn root_dir_opens_only_beneath_itself() {
        use ringo_reactor::fs::RootDir;
        let outside = TempDir::new("fs-root-outside");
        std::fs::write(outside.join("secret"), b"secret").expect("seed");
        let dir = TempDir::new("fs-root");
        std::fs::create_dir(dir.join("sub")).expect("mkdir");
        std::fs::write(dir.join("sub/inside"), b"inside").expect("seed");
        std::os::unix::fs::symlink(outside.join("secret"), dir.join("out")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), dir.join("outdir")).expect("symlink");
        std::os::unix::fs::symlink("sub/inside", dir.join("in")).expect("symlink");
        let root = RootDir::open(dir.path()).expect("open root");

        for ok in ["sub/inside", "in", "sub/../sub/inside", "./in"] {
            let file = root.open_file(ok).await.unwrap_or_else(|e| panic!("{ok}: {e}"));
            let (r, buf) = file.read_exact_at(vec![0u8; 6], 0).await;
            r.unwrap_or_else(|e| panic!("read {ok}: {e}"));
            assert_eq!(&buf, b"inside", "{ok}");
        }
        let secret = outside.join("secret");
        let escapes = ["../x", "sub/../../x", "out", "outdir/secret", secret.to_str().expect("utf-8")];
        for escape in escapes {
            let err = root.open_file(escape).await.expect_err(escape);
            assert_eq!(err.raw_os_error(), Some(libc::EXDEV), "{escape}: {err}");
        }
        let err = root.open_file("missing").await.expect_err("missing");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let err = root.open_file("a\0b").await.expect_err("NUL");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(RootDir::open(dir.join("sub/inside")).is_err(), "a file is not a root");
    }
}

both_drivers! {
    async fn vectored_reads_and_writes_at_an_offset_move_every_buffer_in_order() {
        let dir = TempDir::new("fs-vectored");
        let file = OpenOptions::new()
            .read(true).write(true).create(true).truncate(true)
            .open(dir.join("f")).await.expect("open");
        let parts = vec![pattern(4096, 1), pattern(10, 2), Vec::new(), pattern(5000, 3)];
        let all: Vec<u8> = parts.concat();
        let (n, back) = file.write_vectored_at(parts.clone(), 100).await;
        assert_eq!(n.expect("write_vectored_at"), all.len());
        assert_eq!(back, parts, "the buffers come back");
        let (r, whole) = file.read_exact_at(vec![0u8; all.len()], 100).await;
        r.expect("read back");
        assert!(whole == all, "the bytes landed in order at the offset");

        let bufs = vec![Vec::with_capacity(4000), Vec::with_capacity(0), Vec::with_capacity(6000)];
        let (n, bufs) = file.read_vectored_at(bufs, 100).await;
        assert_eq!(n.expect("read_vectored_at"), all.len().min(10_000));
        assert_eq!((bufs[0].len(), bufs[1].len(), bufs[2].len()), (4000, 0, all.len() - 4000));
        assert!(bufs.concat() == all, "scattered in order");
        // Past the end: nothing read, every buffer stays empty.
        let (n, bufs) = file.read_vectored_at(vec![Vec::with_capacity(8)], 1 << 20).await;
        assert_eq!((n.expect("past the end"), bufs[0].len()), (0, 0));
        let too_many: Vec<Vec<u8>> = (0..2000).map(|_| vec![1u8]).collect();
        let (r, back) = file.write_vectored_at(too_many, 0).await;
        // Windows has no IOV_MAX: it writes buffer by buffer.
        #[cfg(unix)]
        assert_eq!(r.expect_err("over IOV_MAX").raw_os_error(), Some(libc::EINVAL));
        #[cfg(windows)]
        assert_eq!(r.expect("no IOV_MAX on Windows"), 2000);
        assert_eq!(back.len(), 2000, "the buffers come back on error too");
    }
}

#[cfg(not(target_os = "linux"))]
both_drivers! {
    async fn root_dir_open_file_is_unsupported_off_linux() {
        use ringo_reactor::fs::RootDir;
        let dir = TempDir::new("fs-root");
        std::fs::write(dir.join("inside"), b"inside").expect("seed");
        let root = RootDir::open(dir.path()).expect("open root");
        let err = root.open_file("inside").await.expect_err("no openat2 here");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(RootDir::open(dir.join("inside")).is_err(), "a file is not a root");
    }
}
