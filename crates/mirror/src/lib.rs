//! Mirror customer-facing simple indexes (PEP 503 HTML / PEP 691 JSON, read through
//! `wheelgate-index`) into static trees any web server or `pip --index-url file://…` can serve.
//!
//! Layout below the destination's release root (e.g. `<dest>/<product>/<release>/`):
//!
//! - `files/<sha256>/<filename>` (and `<filename>.metadata`): a content-addressed store, so a
//!   file shared between variants is stored once; a file enters it only after its sha256 was
//!   checked (downloaded to a temporary name, verified, renamed);
//! - `<variant>/simple` → `<variant>/.simple.<generation>/`: the static pages of a variant,
//!   built aside and switched by renaming a symlink, so a served tree is never half-updated;
//! - `manifest.json`: every file of every variant (sha256, size, source URL), written last;
//! - `.mirror.lock`: the lock a run holds on the store ([`LOCK_FILE`]): one mirror run at a
//!   time, or verifications ([`verify`]), never both.
//!
//! Incremental by hashes (Pulp's `_last-serial` never changes), resumable (leftover temporary
//! files are discarded, the store keeps what was verified). Knows the index, not the catalog.

mod error;
mod lock;
mod manifest;
mod mirror;
mod names;
mod pages;
mod verify;

pub use error::{MirrorError, MIRROR_CERTS};
pub use lock::LOCK_FILE;
pub use manifest::{Manifest, ManifestFile, ManifestVariant, MANIFEST_FILE};
pub use mirror::{
    mirror, MirrorOptions, MirrorSummary, NoReporter, Reporter, VariantSource, VariantSummary,
};
pub use names::{is_safe_name, is_safe_segment};
pub use verify::{verify, Problem, ProblemKind, VerifiedVariant, VerifyOptions, VerifySummary};
