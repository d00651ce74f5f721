//! The lock on a release store: one writer (a mirror run) or any number of readers (`verify`)
//! at a time, never both. An advisory `flock(2)` on `<root>/.mirror.lock` (std's
//! [`File::try_lock`]), so the kernel releases it when the process exits, however it exits;
//! the file itself stays (removing it would let two runs lock two different files).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::MirrorError;

/// The lock file's name in the release root (hidden: no variant can have this name).
pub const LOCK_FILE: &str = ".mirror.lock";

/// What the lock is taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// A mirror run, which writes: nobody else at the same time.
    Exclusive,
    /// A verification, which only reads: other verifications may run too, no mirror.
    Shared,
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct StoreLock {
    _file: Option<File>,
}

/// Take the lock of the release store at `root` (which must exist) without waiting:
/// [`MirrorError::Locked`] when another run holds it. For [`LockMode::Shared`] on a read-only
/// file system where the lock file does not exist yet, no lock is taken: nothing can write
/// there.
pub(crate) fn lock(root: &Path, mode: LockMode) -> Result<StoreLock, MirrorError> {
    let path = root.join(LOCK_FILE);
    let file = match mode {
        LockMode::Exclusive => OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(MirrorError::io("create", &path))?,
        LockMode::Shared => match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                        tracing::debug!(path = %path.display(), "read-only file system: verifying without a lock");
                        return Ok(StoreLock { _file: None });
                    }
                    Err(e) => return Err(MirrorError::io("create", &path)(e)),
                }
            }
            Err(e) => return Err(MirrorError::io("open", &path)(e)),
        },
    };
    let locked = match mode {
        LockMode::Exclusive => file.try_lock(),
        LockMode::Shared => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => {
            tracing::debug!(path = %path.display(), ?mode, "locked the release store");
            Ok(StoreLock { _file: Some(file) })
        }
        Err(TryLockError::WouldBlock) => Err(MirrorError::Locked {
            lock: path,
            writing: mode == LockMode::Exclusive,
        }),
        Err(TryLockError::Error(e)) => Err(MirrorError::io("lock", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn one_writer_or_many_readers() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();

        let w = lock(&a, LockMode::Exclusive).unwrap();
        for mode in [LockMode::Exclusive, LockMode::Shared] {
            match lock(&a, mode) {
                Err(MirrorError::Locked { lock, writing }) => {
                    assert_eq!(lock, a.join(LOCK_FILE));
                    assert_eq!(writing, mode == LockMode::Exclusive);
                }
                other => panic!("{mode:?}: {other:?}"),
            }
        }
        // Another release store is not blocked.
        let other = lock(&b, LockMode::Exclusive).unwrap();
        drop(other);
        drop(w);

        let r1 = lock(&a, LockMode::Shared).unwrap();
        let r2 = lock(&a, LockMode::Shared).unwrap();
        assert!(matches!(
            lock(&a, LockMode::Exclusive),
            Err(MirrorError::Locked { writing: true, .. })
        ));
        drop((r1, r2));
        lock(&a, LockMode::Exclusive).unwrap();
        assert!(a.join(LOCK_FILE).is_file(), "the lock file stays");
    }
}
