//! The release manifest: every mirrored file of every variant, written last.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::MirrorError;

/// The manifest's file name in the release root.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a mirror of a release holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub format: u32,
    /// The variants, by name.
    pub variants: BTreeMap<String, ManifestVariant>,
}

/// One variant of a mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestVariant {
    /// The index it was mirrored from (redacted).
    pub index_url: String,
    /// Its pages, relative to the release root (`<variant>/simple/`).
    pub simple: String,
    /// Its files, by project then file name.
    pub files: Vec<ManifestFile>,
    /// How many projects its index lists.
    #[serde(default)]
    pub projects: usize,
    /// The `ETag` of its index root when it was read (as sent, `"…"` or `W/"…"`): Pulp's is a
    /// token of the repository version the index serves, the same on every page. The next run
    /// asks the root with `If-None-Match` and, on a 304, keeps the variant as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// One file of a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The project (normalised name).
    pub project: String,
    /// The file name.
    pub filename: String,
    /// Its sha256, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where it was downloaded from (redacted).
    pub url: String,
    /// Where it is stored, relative to the release root.
    pub path: String,
    /// The sha256 of its PEP 658 metadata file, when one is mirrored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_sha256: Option<String>,
    /// The stored file's modification time (nanoseconds since the Unix epoch) when its sha256
    /// was last checked: a later run trusts a stored file of this size and time without
    /// hashing it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<u64>,
}

impl Manifest {
    /// Read the manifest at `path`; an empty one when there is none yet.
    pub fn load(path: &Path) -> Result<Self, MirrorError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| MirrorError::Manifest {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                format: 1,
                ..Default::default()
            }),
            Err(e) => Err(MirrorError::io("read", path)(e)),
        }
    }
}
