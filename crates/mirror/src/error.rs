//! Typed errors of the mirror; URLs in them are redacted, causes kept as sources.

use std::path::PathBuf;

use wheelgate_index::IndexError;

/// Mirroring failed. Nothing of a failed variant was switched; verified files already in the
/// store stay there for the next run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The options cannot be used (an unsafe directory name, no variant, ...).
    #[error("{0}")]
    Invalid(String),
    /// A page of a variant's index could not be read.
    #[error("variant {variant}: cannot read the index page {url}")]
    Index {
        /// The variant.
        variant: String,
        /// The page (redacted).
        url: String,
        /// Why.
        #[source]
        source: Box<IndexError>,
    },
    /// The index root of a variant does not exist (404/410).
    #[error("variant {variant}: no index at {url} (HTTP 404); is the variant promoted?")]
    NoIndex {
        /// The variant.
        variant: String,
        /// The index root (redacted).
        url: String,
    },
    /// The server named a file in a way that could escape the destination; nothing of the
    /// variant was written.
    #[error("variant {variant}, project {project}: refused the unsafe file name {name:?} from the index")]
    UnsafeName {
        /// The variant.
        variant: String,
        /// The project whose page lists it.
        project: String,
        /// The name as the server gave it.
        name: String,
    },
    /// The index gives no sha256 for a file, so it cannot be verified.
    #[error("variant {variant}: the index gives no sha256 for {filename}; refusing to mirror an unverifiable file")]
    NoHash {
        /// The variant.
        variant: String,
        /// The file.
        filename: String,
    },
    /// A file (or its metadata) could not be downloaded or does not match its sha256; nothing of
    /// it was kept.
    #[error("cannot mirror {filename}")]
    Download {
        /// The file.
        filename: String,
        /// Why (transport, status, [`IndexError::HashMismatch`], ...).
        #[source]
        source: Box<IndexError>,
    },
    /// The index of a variant changed while it was read, every time it was read (a promotion
    /// or rollback between its pages, again and again): nothing of it was switched, so the
    /// mirror never holds pages of two versions at once.
    #[error("variant {variant}: the index changed while it was read ({attempts} attempts; pages of two repository versions); try again later")]
    Inconsistent {
        /// The variant.
        variant: String,
        /// How many times it was read.
        attempts: usize,
    },
    /// A local file or directory could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done ("write", "create", "rename", ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another run holds the lock of the release store (a mirror writing there, or, for a
    /// mirror run, also a verification reading it); nothing was read or changed. The lock is
    /// released when that run ends, also when it is killed.
    #[error("{} is locked: another `wheelgate mirror` run is {} this release store; nothing was {}", lock.display(), if *writing { "writing (or verifying)" } else { "writing" }, if *writing { "changed" } else { "checked" })]
    Locked {
        /// The lock file.
        lock: PathBuf,
        /// Whether this run wanted to write (a mirror), else to read (a verification).
        writing: bool,
    },
    /// The existing manifest is not one this version understands.
    #[error("cannot read the manifest {}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl MirrorError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    /// The index error below this one, when there is one.
    pub fn index_error(&self) -> Option<&IndexError> {
        match self {
            Self::Index { source, .. } | Self::Download { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// Whether another run holds the release store's lock (try again later).
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Locked { .. })
    }

    /// Whether the options (not the server) are at fault.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }

    /// What the user can do about it, for the CLI's `hint:` line. A certificate problem also
    /// says where `wheelgate mirror` takes the certificate from.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::UnsafeName { .. } => Some(
                "the index serves a file name with a path separator, `..`, a leading dot or a control character; nothing was written for it — report it to the index's operators".into(),
            ),
            Self::Locked { .. } => Some(
                "wait for the other run to finish and run again; the lock is released when that process exits, even when it is killed (scheduled runs can simply try again at their next slot)".into(),
            ),
            Self::NoIndex { .. } => Some(
                "check --index-url-template (placeholders {product}, {release}, {variant}) and that the variant is promoted".into(),
            ),
            _ => {
                let e = self.index_error()?;
                let h = e.hint();
                if e.is_access_problem() {
                    Some(format!(
                        "{}{MIRROR_CERTS}",
                        h.map(|h| format!("{h}; ")).unwrap_or_default()
                    ))
                } else {
                    h.map(str::to_owned)
                }
            }
        }
    }
}

/// Where `wheelgate mirror` takes its certificates from.
pub const MIRROR_CERTS: &str = "mirror reads the index with --cert/--ca-bundle, else the catalog's [customer] client_cert, client_key and ca_bundle";
