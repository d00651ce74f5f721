//! What can be wrong with a file that is meant to be uploaded.

use std::fmt;
use std::path::{Path, PathBuf};

/// The kind of a [`Problem`], for callers that branch on it (tests, exit codes, JSON output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The file name does not end in `.whl`.
    NotAWheel,
    /// The file name is not a valid wheel file name (PEP 427).
    BadFilename,
    /// The file could not be opened or read.
    Unreadable,
    /// The file is not a readable zip archive, or one of its members cannot be read.
    NotZip,
    /// The `.dist-info` directory, or its `METADATA`, `WHEEL` or `RECORD`, is missing.
    MissingMetadata,
    /// `METADATA`, `WHEEL` or `RECORD` is present but cannot be parsed (e.g. no `Name:` field).
    InvalidMetadata,
    /// `METADATA`'s `Name:` differs from the file name's project (after PEP 503 normalization).
    NameMismatch,
    /// `METADATA`'s `Version:` differs from the file name's version (PEP 440 comparison).
    VersionMismatch,
    /// `WHEEL`'s `Tag:` lines (or `Build:`) differ from the file name's tags (or build tag).
    TagMismatch,
    /// `RECORD` disagrees with the zip: wrong hash or size, a file missing on either side.
    RecordMismatch,
    /// A zip member's path is absolute or escapes the install directory (`..`).
    UnsafePath,
    /// None of the wheel's tags is allowed by the variant's tag policy.
    TagNotAllowed,
    /// The wheel's project is not on the catalog's allowlist.
    ProjectNotAllowed,
    /// Two files in the same batch have the same file name.
    DuplicateFilename,
    /// The file conflicts with one already published (same name, other content; or same content
    /// under another name). Not produced by this crate: the uploader reports it after comparing
    /// with the index, in the same report as the local problems.
    Immutable,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::NotAWheel => "not a wheel",
            ProblemKind::BadFilename => "bad wheel file name",
            ProblemKind::Unreadable => "unreadable file",
            ProblemKind::NotZip => "not a readable zip",
            ProblemKind::MissingMetadata => "missing metadata",
            ProblemKind::InvalidMetadata => "invalid metadata",
            ProblemKind::NameMismatch => "name mismatch",
            ProblemKind::VersionMismatch => "version mismatch",
            ProblemKind::TagMismatch => "tag mismatch",
            ProblemKind::RecordMismatch => "RECORD mismatch",
            ProblemKind::UnsafePath => "unsafe path",
            ProblemKind::TagNotAllowed => "tags not allowed",
            ProblemKind::ProjectNotAllowed => "project not allowed",
            ProblemKind::DuplicateFilename => "duplicate file name",
            ProblemKind::Immutable => "conflicts with a published file",
        })
    }
}

/// One thing wrong with one file. Displays as `<file name>: <message>`; the full path is kept in
/// [`Problem::path`] (and left out of the message so that output is stable across machines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is about.
    pub path: PathBuf,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// What exactly is wrong, e.g. `METADATA says Name: numpy but the filename says torch`.
    pub message: String,
}

impl Problem {
    /// A problem of `kind` with `path` and `message`.
    pub fn new(path: impl Into<PathBuf>, kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            kind,
            message: message.into(),
        }
    }

    /// The file name the message is about (the last path component, or the whole path).
    pub fn file_name(&self) -> String {
        display_name(&self.path)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file_name(), self.message)
    }
}

impl std::error::Error for Problem {}

/// Several problems at once, as an error: every problem of a batch, so that all are reported
/// together. Displays one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

pub(crate) fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
