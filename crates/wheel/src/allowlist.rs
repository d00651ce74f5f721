//! The catalog's project allowlist.

use std::str::FromStr;

use uv_normalize::PackageName;

use crate::inspect::WheelInfo;
use crate::problem::{Problem, ProblemKind};

/// PEP 503 normalization (uv-normalize's `PackageName`, the one normalisation wheelgate uses):
/// lower case, runs of `-`, `_` and `.` become one `-`. A glob prefix such as `nvidia-` is
/// normalised as the start of a name; anything else that is not a valid name is only lowered
/// (it can never equal a real project's name).
pub fn normalize_project(name: &str) -> String {
    if let Ok(n) = PackageName::from_str(name) {
        return n.to_string();
    }
    if let Ok(n) = PackageName::from_str(&format!("{name}0")) {
        let mut s = n.to_string();
        s.pop();
        return s;
    }
    name.to_ascii_lowercase()
}

/// An allowlist entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowlist entry `{entry}`: {reason}")]
pub struct AllowlistError {
    /// The entry as given.
    pub entry: String,
    /// Why it is invalid.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Any,
    Exact(String),
    Prefix(String),
}

fn parse_entry(entry: &str) -> Result<Entry, AllowlistError> {
    let raw = entry.trim();
    let err = |reason| AllowlistError {
        entry: raw.to_string(),
        reason,
    };
    if raw == "*" {
        return Ok(Entry::Any);
    }
    let (body, glob) = match raw.strip_suffix('*') {
        Some(body) => (body, true),
        None => (raw, false),
    };
    if body.is_empty() {
        return Err(err("empty project name"));
    }
    if body.contains('*') {
        return Err(err("`*` is only allowed at the end"));
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(err(
            "project names contain only ASCII letters, digits, `-`, `_` and `.`",
        ));
    }
    let norm = normalize_project(body);
    Ok(if glob {
        Entry::Prefix(norm)
    } else {
        Entry::Exact(norm)
    })
}

/// The projects a catalog lets through: `*` allows any project, `name` allows that project
/// (compared after PEP 503 normalization, so `Foo_Bar` allows `foo-bar`), and `prefix*` allows
/// every project whose normalized name starts with the normalized prefix (e.g. `nvidia-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist(Vec<Entry>);

impl Allowlist {
    /// An allowlist from entries, checking each: non-empty, only ASCII letters, digits, `-`, `_`,
    /// `.`, and at most one `*`, at the end. Use this where entries are read (the catalog) so a
    /// typo is reported.
    pub fn parse<S: AsRef<str>>(
        entries: impl IntoIterator<Item = S>,
    ) -> Result<Self, AllowlistError> {
        entries
            .into_iter()
            .map(|e| parse_entry(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// An allowlist from entries without checking them: an invalid entry (see
    /// [`Allowlist::parse`]) allows nothing, so a bad entry fails closed.
    pub fn new<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Self {
        Self(
            entries
                .into_iter()
                .filter_map(|e| parse_entry(e.as_ref()).ok())
                .collect(),
        )
    }

    /// An allowlist that allows every project (`*`).
    pub fn any() -> Self {
        Self(vec![Entry::Any])
    }

    /// Whether `project` (normalized or not) is allowed.
    pub fn allows(&self, project: &str) -> bool {
        let project = normalize_project(project);
        self.0.iter().any(|e| match e {
            Entry::Any => true,
            Entry::Exact(n) => *n == project,
            Entry::Prefix(p) => project.starts_with(p.as_str()),
        })
    }

    /// `Ok` when the wheel's project is allowed; otherwise a [`ProblemKind::ProjectNotAllowed`]
    /// problem that says how to request it.
    pub fn check(&self, wheel: &WheelInfo) -> Result<(), Problem> {
        if self.allows(&wheel.project) {
            return Ok(());
        }
        Err(Problem::new(
            &wheel.path,
            ProblemKind::ProjectNotAllowed,
            format!(
                "project `{}` is not on the allowlist; request it by adding it to [packages] \
                 allow in the catalog through the package request process",
                wheel.project
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_per_pep_503() {
        assert_eq!(normalize_project("Foo_Bar"), "foo-bar");
        assert_eq!(normalize_project("foo.-_bar"), "foo-bar");
        assert_eq!(
            normalize_project("NVIDIA-cublas-CU12"),
            "nvidia-cublas-cu12"
        );
    }

    #[test]
    fn exact_entries_compare_normalized() {
        let a = Allowlist::parse(["Foo_Bar", "numpy"]).unwrap();
        assert!(a.allows("foo-bar"));
        assert!(a.allows("FOO.BAR"));
        assert!(a.allows("NumPy"));
        assert!(!a.allows("numpy-financial"));
        assert!(!a.allows("torch"));
    }

    #[test]
    fn star_and_prefix_globs() {
        assert!(Allowlist::any().allows("anything"));
        assert!(Allowlist::parse(["*"]).unwrap().allows("x"));
        let a = Allowlist::parse(["nvidia-*"]).unwrap();
        assert!(a.allows("nvidia-cublas-cu12"));
        assert!(a.allows("NVIDIA_cudnn_cu12"));
        assert!(!a.allows("nvidia"));
        assert!(!a.allows("torch"));
        assert!(!Allowlist::parse(Vec::<String>::new()).unwrap().allows("x"));
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in ["", "a*b", "*x", "foo bar", "**"] {
            assert!(Allowlist::parse([bad]).is_err(), "{bad:?}");
        }
        let e = Allowlist::parse(["a*b"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid allowlist entry `a*b`: `*` is only allowed at the end"
        );
    }

    #[test]
    fn unchecked_allowlist_fails_closed_on_bad_entries() {
        let a = Allowlist::new(["a*b", "numpy", ""]);
        assert!(a.allows("numpy"));
        assert!(!a.allows("a*b"));
        assert!(!a.allows("ab"));
        assert!(!a.allows(""));
    }
}
