//! Validating every file of an upload before any byte is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::allowlist::Allowlist;
use crate::inspect::{inspect, WheelInfo};
use crate::policy::TagPolicy;
use crate::problem::{display_name, Problem, ProblemKind, Problems};

/// What [`validate_batch`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Every file that could be inspected, sorted by path. This includes wheels that fail the tag
    /// policy or the allowlist: upload only when [`BatchReport::problems`] is empty.
    pub wheels: Vec<WheelInfo>,
    /// Every problem of every file, sorted by path (a file's own problems in the order found).
    pub problems: Vec<Problem>,
}

impl BatchReport {
    /// The wheels when there is no problem at all, else every problem.
    pub fn into_result(self) -> Result<Vec<WheelInfo>, Problems> {
        if self.problems.is_empty() {
            Ok(self.wheels)
        } else {
            Err(Problems(self.problems))
        }
    }
}

/// Inspects `paths` in parallel (up to the available parallelism) and checks each wheel against
/// `policy` and `allow`, and the batch for repeated file names. The same path given twice is
/// inspected once; two different paths with the same file name give a
/// [`ProblemKind::DuplicateFilename`] problem on every path after the first.
pub fn validate_batch(paths: &[PathBuf], policy: &TagPolicy, allow: &Allowlist) -> BatchReport {
    let mut paths: Vec<PathBuf> = paths.to_vec();
    paths.sort();
    paths.dedup();

    let results = inspect_all(&paths);

    let mut report = BatchReport::default();
    let mut first_with_name: BTreeMap<String, &Path> = BTreeMap::new();
    for (path, result) in paths.iter().zip(results) {
        let name = display_name(path);
        if let Some(first) = first_with_name.get(&name) {
            report.problems.push(Problem::new(
                path,
                ProblemKind::DuplicateFilename,
                format!(
                    "the file name {name} is also used by {}; an index holds one file per name",
                    first.display()
                ),
            ));
        } else {
            first_with_name.insert(name, path);
        }
        match result {
            Ok(wheel) => {
                report.problems.extend(policy.check(&wheel).err());
                report.problems.extend(allow.check(&wheel).err());
                report.wheels.push(wheel);
            }
            Err(problems) => report.problems.extend(problems),
        }
    }
    // Already in path order; a stable sort keeps each file's problems in the order found.
    report.problems.sort_by(|a, b| a.path.cmp(&b.path));
    report
}

/// [`inspect`] for every path, in the same order, on scoped worker threads.
fn inspect_all(paths: &[PathBuf]) -> Vec<Result<WheelInfo, Vec<Problem>>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(paths.len());
    if workers <= 1 {
        return paths.iter().map(|p| inspect(p)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut indexed: Vec<(usize, Result<WheelInfo, Vec<Problem>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(i) else {
                            return done;
                        };
                        done.push((i, inspect(path)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    indexed.sort_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, r)| r).collect()
}

/// The files to validate, and a problem for every input that could not be read.
///
/// Each input that is a file is taken as is (whatever its extension, so a non-wheel given
/// explicitly is reported by [`inspect`] as [`ProblemKind::NotAWheel`]); each directory is
/// searched recursively (following symlinks) for `*.whl` files. A missing or unreadable input,
/// or an unreadable entry or symlink loop inside a directory, is a [`ProblemKind::Unreadable`]
/// problem, so that it is reported together with the problems of the files found. Paths are
/// sorted and without repeats; problems are in input order.
pub fn collect_wheel_paths(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut paths = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                problems.push(Problem::new(
                    input,
                    ProblemKind::Unreadable,
                    format!("cannot read {}: {e}", input.display()),
                ));
                continue;
            }
        };
        if !meta.is_dir() {
            paths.push(input.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(input).follow_links(true) {
            match entry {
                Ok(entry) => {
                    if entry.file_type().is_file()
                        && entry.path().extension().is_some_and(|e| e == "whl")
                    {
                        paths.push(entry.into_path());
                    }
                }
                Err(e) => {
                    let path = e.path().unwrap_or(input).to_path_buf();
                    problems.push(Problem::new(
                        &path,
                        ProblemKind::Unreadable,
                        format!(
                            "cannot read {} while searching for wheels: {e}",
                            path.display()
                        ),
                    ));
                }
            }
        }
    }
    paths.sort();
    paths.dedup();
    (paths, problems)
}
