//! Inspecting Python wheels and validating them against a variant's policy.
//!
//! Used by the upload command: every file is validated before any byte is sent, and all problems
//! are reported at once.
//!
//! - [`inspect`] reads one wheel (streaming, constant memory) and reports every problem it has:
//!   file name (PEP 427), zip, `.dist-info` contents, `METADATA` name/version, `WHEEL` tags and
//!   `RECORD` hashes and sizes.
//! - [`TagPolicy`] says which interpreter/ABI and platform tags a variant serves.
//! - [`Allowlist`] says which projects a catalog lets through.
//! - [`validate_batch`] does all of it for many files in parallel; [`collect_wheel_paths`] turns
//!   command-line paths into the files to validate.

mod allowlist;
mod batch;
mod dist_info;
mod inspect;
mod policy;
mod problem;

pub use allowlist::{normalize_project, Allowlist, AllowlistError};
pub use batch::{collect_wheel_paths, validate_batch, BatchReport};
pub use inspect::{core_metadata, inspect, sha256_file, WheelInfo, WheelTag};
pub use policy::TagPolicy;
pub use problem::{Problem, ProblemKind, Problems};

#[cfg(test)]
mod tests;
