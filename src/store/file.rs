//! File store: one host's processes share a directory.
//!
//! `DIR/<name>.entry` holds the sealed entry, replaced by writing `DIR/.<name>.<pid>.<rand>.tmp`
//! and renaming it over (readers see the old entry or the new one, never a torn one);
//! `DIR/<name>.lock` is the lease, an advisory `flock` that the kernel releases when its holder
//! exits or dies. The directory is created 0700 and entries 0600; a directory or entry owned by
//! another user or writable by group or others is refused.

use std::fs::{self, File, OpenOptions};
use std::io::Read as _;
use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Backend, Lease, MAX_ENTRY, StoreError};
use crate::Error;

pub(crate) struct FileStore {
    dir: PathBuf,
}

struct FileLease(#[allow(dead_code)] File);

impl Lease for FileLease {}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl FileStore {
    /// Creates the directory (0700) if missing. A directory that exists but could let another
    /// user read or plant entries is a configuration error; one that cannot be created (read-only
    /// file system, a file in the way) is not: every operation then fails, is counted, and the
    /// client fetches on its own.
    pub fn open(dir: &Path) -> Result<FileStore, Error> {
        if !dir.exists() {
            let _ = fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        }
        if let Ok(meta) = fs::metadata(dir) {
            check_owner_and_mode("cache_dir", dir, &meta)?;
        }
        Ok(FileStore { dir: dir.to_path_buf() })
    }

    fn path(&self, name: &str, suffix: &str) -> PathBuf {
        self.dir.join(format!("{name}.{suffix}"))
    }
}

fn check_owner_and_mode(field: &'static str, path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    if meta.uid() != euid() {
        return Err(Error::config(
            field,
            format!(
                "{} is owned by uid {}, not by this user (uid {}): refusing to share tokens through it",
                path.display(),
                meta.uid(),
                euid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::config(
            field,
            format!(
                "{} is writable by group or others (mode {:o}): refusing to share tokens through it (chmod 700)",
                path.display(),
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

impl Backend for FileStore {
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let file = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(self.path(name, "entry")) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let meta = file.metadata()?;
        if !meta.is_file() || meta.uid() != euid() || meta.mode() & 0o077 != 0 {
            // Planted or loosened by someone else: read as nothing valid, so it is replaced.
            return Ok(Some(Vec::new()));
        }
        let mut raw = Vec::new();
        file.take(MAX_ENTRY as u64 + 1).read_to_end(&mut raw)?;
        Ok(Some(raw))
    }

    fn write(&self, name: &str, entry: &[u8], _ttl: Duration) -> Result<(), StoreError> {
        let tmp = self.dir.join(format!(".{name}.{}.{:016x}.tmp", std::process::id(), rand::random::<u64>()));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(entry)?;
            fs::rename(&tmp, self.path(name, "entry"))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(result?)
    }

    fn try_lease(&self, name: &str, _ttl: Duration) -> Result<Option<Box<dyn Lease>>, StoreError> {
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(self.path(name, "lock"))
        };
        let f = match open() {
            // The directory was removed under a running service (or could not be created at
            // start): create it again, with the same checks as at start.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
                let meta = fs::metadata(&self.dir)?;
                check_owner_and_mode("cache_dir", &self.dir, &meta)
                    .map_err(|_| StoreError("directory refused".into()))?;
                open()?
            }
            other => other?,
        };
        // SAFETY: `f` is an open descriptor for the duration of the call.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(Box::new(FileLease(f))));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(None) } else { Err(err.into()) }
    }

    fn delete_if(&self, name: &str, expected: &[u8]) -> Result<(), StoreError> {
        // Under the lease, so a fresh entry written meanwhile is not the one deleted. If someone
        // holds it, they are already replacing the entry.
        let Some(_lease) = self.try_lease(name, Duration::ZERO)? else { return Ok(()) };
        if self.read(name)?.as_deref() == Some(expected) {
            match fs::remove_file(self.path(name, "entry")) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }
}
