//! A local cache of what repository versions changed: the packages each version added and the
//! hrefs of those it removed, so reading a version whose predecessors were read before on
//! this machine costs Pulp only the versions that are new ([`crate::state::files_with_origins`],
//! [`crate::state::version_files`]). Pulp's time per listed package row is about the same
//! whatever the fields, so without it every `vet` of a 10,000-file version paid for 10,000
//! rows, however small the change.
//!
//! # Why it is sound
//!
//! Pulp keeps a unit's membership of a repository as an interval of versions (added in one,
//! removed in a later one), and a complete repository version is immutable with one
//! exception: deleting version *k* (prune, `retain_repo_versions`) squashes *k*'s changes into
//! the next complete version *k+1* (pulpcore `RepositoryVersion._squash`): same href, other
//! additions and removals. An entry is therefore keyed by everything that tells such a
//! squashed version from the one that was read ([`VersionKey`]):
//!
//! - the server: its API base URL, API root and domain included (without credentials);
//! - the version's href and its `pulp_created`;
//! - the number of the version before it in the repository's list of versions
//!   (`previous`). This is what makes the key airtight: a squash into *k+1* happens exactly
//!   when its predecessor *k* is deleted, which makes the predecessor an older version (or
//!   none), and version numbers are never reused (a repository's `next_version` only grows,
//!   and a deleted latest version does not give its number back). So every state of a
//!   version's changes has its own predecessor number; a deleted version's number never comes
//!   back as a predecessor;
//! - its `content_summary` counts of `python.python` (added, removed, present). These are
//!   recomputed on a squash but are not enough alone: when *k* replaced unit U by V and *k+1*
//!   removed V and added W, *k+1* adds W and removes V before the squash and adds W and removes
//!   U after it: the same counts, other units. They still catch a mixed-up entry, and an
//!   entry whose number of units is not its count is a miss.
//!
//! A version's list is read in the same request as its counts; if a version is deleted while
//! a command runs (between the list and the read of its successor's changes), what is stored
//! is filed under the key of the state before the squash, which no later list produces: a
//! wasted entry, never a wrong answer. As a last check, a replay whose number of files is not
//! the version's present count is thrown away and read again from Pulp.
//!
//! # On disk
//!
//! One JSON file per (key, side), named by the sha256 of the key (no URL in a file name), under
//! `<dir>/versions-v1/`, written to a temporary file in the same directory and renamed
//! into place, so readers see a whole file or none. The files hold the key (the server's URL
//! without user or password), package hrefs, file names, sha256 digests, project names,
//! versions and requirements: nothing secret. An unreadable, corrupt or mismatching file is a
//! miss (logged at debug level), a failed write a warning (once) and never an error: the
//! cache only ever saves requests. Deleting the directory is always safe.
//!
//! # Clean-up
//!
//! Entries of deleted versions and of servers no longer used are never asked for again. A hit
//! sets its file's modification time to now, and at most once a day (a `last-sweep` file in
//! the directory says when), the first write of a command deletes the entries and ledger
//! states untouched for [`MAX_AGE_DAYS`] days, and temporary files a killed writer left for
//! more than an hour. So the cache holds about what its commands used in the last month.
//!
//! # The ledger
//!
//! Every promote, rollback, status and history reads every event of the release's ledger
//! ([`crate::ledger`]): all files of the ledger repository's latest version, about 2 ms of
//! Pulp's time per event. The cache keeps, per ledger repository, the files of the newest
//! version read ([`LedgerState`]); the next read asks Pulp only what changed since
//! (`added_between` and `removed_between` that version and the latest, at once), so it costs
//! the events appended since, not the history.
//!
//! The state is keyed by the server and the ledger repository's href, and names the version
//! it was read at. That is enough: a repository version's *set* of content never changes
//! while the version exists (a squash moves changes between versions, not units in or out of
//! a version), a version href is never reused (numbers only grow, a re-created repository has
//! another href), and Pulp's `added_between`/`removed_between` are the net differences of the
//! two sets. If the version was deleted since (retention), Pulp refuses the question (400 or
//! 404) and the ledger is listed whole; so it is when the answer does not fit the state (a
//! removed file the state lacks, an added one it has), or the state file is unreadable,
//! corrupt or for another key. One file per ledger repository, under `<dir>/ledgers-v1/`,
//! named by the sha256 of the key and rewritten atomically as above; it holds the server's
//! URL (no credentials), hrefs and the events' relative paths (what `history` prints).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pulp_client::{
    FileContent, Package, PackageHref, PulpClient, RepositoryHref, RepositoryVersionHref,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;

/// The layout and format of the entries; part of every key, so a change starts afresh.
pub const FORMAT: u32 = 1;

/// The directory under the cache directory that holds the entries of [`FORMAT`].
const ENTRIES: &str = "versions-v1";

/// The directory under the cache directory that holds the ledger states of [`FORMAT`].
const LEDGERS: &str = "ledgers-v1";

/// How long an entry or ledger state may go unused before a sweep deletes it.
pub const MAX_AGE_DAYS: u64 = 30;

/// How often the cache is swept, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(24 * 3600);

/// How old a temporary file must be to be a killed writer's leftover, not a write under way.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// The file in the cache directory whose modification time is the last sweep's.
const SWEEP_MARK: &str = "last-sweep";

/// A cache directory of version changes (see the module documentation). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// Whether a failed write has been reported as a warning (later ones go to debug).
    warned: Arc<AtomicBool>,
    /// Whether this command has considered a sweep (it does so once, at its first write).
    swept: Arc<AtomicBool>,
}

/// Which part of a version's change an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The packages the version added (with [`ADDED_FIELDS`]).
    Added,
    /// The hrefs of the packages the version removed.
    Removed,
}

/// The fields read of every package a version added, besides the href, file name and
/// sha256: one superset for every reader, so one entry serves them all (the fields do not
/// change what Pulp's listing costs).
pub const ADDED_FIELDS: &[&str] = &["name", "version", "requires_dist", "requires_python"];

/// What identifies the changes of one repository version for as long as they stay the same
/// (module documentation: why each part is there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionKey {
    /// The server's API base URL (API root and domain included, no credentials).
    pub server: String,
    /// The version's href.
    pub version: String,
    /// The version's `pulp_created`.
    pub created: String,
    /// The number of the version before it in the repository (`None`: it is the first).
    pub previous: Option<u64>,
    /// `python.python` units it added (`content_summary.added`).
    pub added: u64,
    /// `python.python` units it removed.
    pub removed: u64,
    /// `python.python` units present in it.
    pub present: u64,
}

impl VersionKey {
    /// How many units the entry of `side` must hold.
    fn count(&self, side: Side) -> u64 {
        match side {
            Side::Added => self.added,
            Side::Removed => self.removed,
        }
    }
}

/// One file of the cache (`U`: the units, a slice when written, a `Vec` when read).
#[derive(Serialize, Deserialize)]
struct Entry<U> {
    format: u32,
    side: Side,
    key: VersionKey,
    units: U,
}

/// The files of a ledger repository at one of its versions, as last read on this machine
/// (module documentation: why this key is enough).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    /// The server's API base URL ([`server_identity`]).
    pub server: String,
    /// The ledger repository.
    pub repository: RepositoryHref,
    /// The version the files were read at.
    pub version: RepositoryVersionHref,
    /// Every file of that version.
    pub files: Vec<FileContent>,
}

/// The file of a ledger state.
#[derive(Serialize, Deserialize)]
struct LedgerEntry<S> {
    format: u32,
    state: S,
}

/// The server part of a key: the API base URL without user, password, query or fragment.
pub async fn server_identity(client: &PulpClient) -> Result<String> {
    let mut url = client.api_base().await?.clone();
    // Only fails for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.to_string())
}

impl Cache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            warned: Arc::new(AtomicBool::new(false)),
            swept: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Delete what no command used for [`MAX_AGE_DAYS`] days, unless a sweep ran in the last
    /// day (module documentation: clean-up). Returns how many files it deleted. Failures are
    /// logged at debug level: the sweep only saves disk.
    pub fn sweep(&self, now: SystemTime) -> usize {
        let mark = self.dir.join(SWEEP_MARK);
        let last = std::fs::metadata(&mark).and_then(|m| m.modified()).ok();
        if last.is_some_and(|t| now.duration_since(t).unwrap_or_default() < SWEEP_EVERY) {
            return 0;
        }
        let max_age = Duration::from_secs(MAX_AGE_DAYS * 24 * 3600);
        let mut deleted = 0;
        for sub in [ENTRIES, LEDGERS] {
            let Ok(dir) = std::fs::read_dir(self.dir.join(sub)) else {
                continue;
            };
            for file in dir.flatten() {
                let path = file.path();
                let Ok(modified) = file.metadata().and_then(|m| m.modified()) else {
                    continue;
                };
                let age = now.duration_since(modified).unwrap_or_default();
                let tmp = file.file_name().to_string_lossy().ends_with(".tmp");
                if age > if tmp { STALE_TMP } else { max_age } {
                    match std::fs::remove_file(&path) {
                        Ok(()) => deleted += 1,
                        Err(e) => {
                            tracing::debug!(path = %path.display(), error = %e, "could not delete an old cache file")
                        }
                    }
                }
            }
        }
        let marked = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::File::create(&mark))
            .and_then(|f| f.set_modified(now));
        if let Err(e) = marked {
            tracing::debug!(path = %mark.display(), error = %e, "could not mark the cache's sweep");
        }
        tracing::debug!(dir = %self.dir.display(), deleted, "cache swept");
        deleted
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `(key, side)`.
    pub fn path(&self, key: &VersionKey, side: Side) -> PathBuf {
        let mut h = Sha256::new();
        // Serialising a struct of strings and numbers cannot fail; the debug form is the
        // fallback that keeps the name a function of the key all the same.
        let text = serde_json::to_string(&(FORMAT, side, key))
            .unwrap_or_else(|_| format!("{FORMAT} {side:?} {key:?}"));
        h.update(text.as_bytes());
        self.dir
            .join(ENTRIES)
            .join(format!("{}.json", hex::encode(h.finalize())))
    }

    /// The packages the version of `key` added, if cached.
    pub fn added(&self, key: &VersionKey) -> Option<Vec<Package>> {
        self.load(key, Side::Added)
    }

    /// The hrefs of the packages the version of `key` removed, if cached.
    pub fn removed(&self, key: &VersionKey) -> Option<Vec<PackageHref>> {
        self.load(key, Side::Removed)
    }

    /// Keep what the version of `key` added (read with [`ADDED_FIELDS`]).
    pub fn store_added(&self, key: &VersionKey, units: &[Package]) {
        self.store(key, Side::Added, units);
    }

    /// Keep the hrefs of what the version of `key` removed.
    pub fn store_removed(&self, key: &VersionKey, units: &[PackageHref]) {
        self.store(key, Side::Removed, units);
    }

    /// The file of the ledger state of `repository` on `server`.
    pub fn ledger_path(&self, server: &str, repository: &RepositoryHref) -> PathBuf {
        let mut h = Sha256::new();
        // As in `path`: serialising strings cannot fail, the fallback keeps the name a function
        // of the key.
        let text = serde_json::to_string(&(FORMAT, "ledger", server, repository))
            .unwrap_or_else(|_| format!("{FORMAT} ledger {server} {repository}"));
        h.update(text.as_bytes());
        self.dir
            .join(LEDGERS)
            .join(format!("{}.json", hex::encode(h.finalize())))
    }

    /// The last state read of the ledger `repository` on `server`, if cached.
    pub fn ledger(&self, server: &str, repository: &RepositoryHref) -> Option<LedgerState> {
        let path = self.ledger_path(server, repository);
        let entry: LedgerEntry<LedgerState> = read_entry(&path)?;
        if entry.format != FORMAT
            || entry.state.server != server
            || &entry.state.repository != repository
            || entry.state.version.repository().as_ref() != Some(repository)
        {
            tracing::debug!(path = %path.display(), "ledger state for another key: a miss");
            return None;
        }
        touch(&path);
        Some(entry.state)
    }

    /// Keep `state` as the last read of its ledger, unless the one kept is of a newer version
    /// (a slower command on this machine must not set the next read back).
    pub fn store_ledger(&self, state: &LedgerState) {
        if let Some(kept) = self.ledger(&state.server, &state.repository) {
            if kept.version.number() > state.version.number() {
                return;
            }
        }
        let path = self.ledger_path(&state.server, &state.repository);
        self.write(
            &path,
            &LedgerEntry {
                format: FORMAT,
                state,
            },
        );
    }

    fn load<T: DeserializeOwned>(&self, key: &VersionKey, side: Side) -> Option<Vec<T>> {
        let path = self.path(key, side);
        let entry: Entry<Vec<T>> = read_entry(&path)?;
        if entry.format != FORMAT
            || entry.side != side
            || &entry.key != key
            || entry.units.len() as u64 != key.count(side)
        {
            tracing::debug!(path = %path.display(), "cache entry for another key or incomplete: a miss");
            return None;
        }
        touch(&path);
        Some(entry.units)
    }

    fn store<T: Serialize>(&self, key: &VersionKey, side: Side, units: &[T]) {
        let path = self.path(key, side);
        let entry = Entry {
            format: FORMAT,
            side,
            key: key.clone(),
            units,
        };
        self.write(&path, &entry);
    }

    /// Write an entry (the command's first write considers a sweep first); a failure is a
    /// warning the first time, debug after.
    fn write<T: Serialize>(&self, path: &Path, entry: &T) {
        if !self.swept.swap(true, Ordering::Relaxed) {
            self.sweep(SystemTime::now());
        }
        if let Err(e) = write_atomically(path, entry) {
            if self.warned.swap(true, Ordering::Relaxed) {
                tracing::debug!(path = %path.display(), error = %e, "could not write a cache entry");
            } else {
                tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "could not write to the cache (it only saves requests; --no-cache turns it off)"
                );
            }
        }
    }
}

/// Mark the file at `path` as used now (what the sweep goes by); a failure only makes it
/// look older.
fn touch(path: &Path) {
    let touched = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = touched {
        tracing::debug!(path = %path.display(), error = %e, "could not mark a cache entry as used");
    }
}

/// The entry in `path`, or `None` (absent, unreadable or corrupt: a miss, logged at debug).
fn read_entry<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cache entry unreadable: a miss");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cache entry corrupt: a miss");
            None
        }
    }
}

/// Write `value` as JSON to `path` through a temporary file in the same directory, renamed
/// into place (readers see the whole file or none).
fn write_atomically<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a cache entry needs a directory"))?;
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut w, value)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(previous: Option<u64>) -> VersionKey {
        VersionKey {
            server: "http://127.0.0.1:1/pulp/api/v3/".into(),
            version: "/pulp/api/v3/repositories/python/python/x/versions/2/".into(),
            created: "2025-01-01T00:00:00.000000Z".into(),
            previous,
            added: 1,
            removed: 1,
            present: 3,
        }
    }

    fn package(name: &str) -> Package {
        serde_json::from_value(serde_json::json!({
            "pulp_href": format!("/pulp/api/v3/content/python/packages/{name}/"),
            "filename": format!("{name}-1.0-py3-none-any.whl"),
            "sha256": "0".repeat(64),
            "name": name,
            "version": "1.0",
            "requires_dist": ["b>=1"],
            "requires_python": ">=3.9",
        }))
        .unwrap()
    }

    #[test]
    fn stores_and_loads_each_side_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key(Some(1));
        assert!(cache.added(&k).is_none());
        cache.store_added(&k, &[package("a")]);
        cache.store_removed(&k, &[PackageHref::new("/p/z/")]);
        let added = cache.added(&k).unwrap();
        assert_eq!(added[0].filename, "a-1.0-py3-none-any.whl");
        assert_eq!(added[0].requires_dist, serde_json::json!(["b>=1"]));
        assert_eq!(cache.removed(&k).unwrap(), vec![PackageHref::new("/p/z/")]);
        // The same version after its predecessor was deleted (a squash): another key.
        assert!(cache.added(&key(Some(0))).is_none());
        // No temporary files are left behind, and no URL is in a file name.
        for f in std::fs::read_dir(dir.path().join(ENTRIES)).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(name.ends_with(".json") && !name.starts_with('.'), "{name}");
            assert!(!name.contains("127.0.0.1"));
        }
    }

    #[test]
    fn corrupt_mismatching_or_incomplete_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key(None);
        cache.store_added(&k, &[package("a")]);
        let path = cache.path(&k, Side::Added);
        std::fs::write(&path, b"{\"format\": 1, \"side\": \"added\", \"key\"").unwrap();
        assert!(cache.added(&k).is_none(), "truncated");
        // Another key's entry copied under this name.
        let other = key(Some(7));
        cache.store_added(&other, &[package("b")]);
        std::fs::copy(cache.path(&other, Side::Added), &path).unwrap();
        assert!(cache.added(&k).is_none(), "another key");
        // Fewer units than the version's count.
        cache.store_added(&k, &[]);
        assert!(cache.added(&k).is_none(), "incomplete");
        // The added entry is no removed entry.
        cache.store_added(&k, &[package("a")]);
        std::fs::copy(&path, cache.path(&k, Side::Removed)).unwrap();
        assert!(cache.removed(&k).is_none(), "other side");
    }

    fn ledger_state(repo: &str, version: u64, paths: &[&str]) -> LedgerState {
        let repository =
            RepositoryHref::new(format!("/pulp/api/v3/repositories/file/file/{repo}/"));
        LedgerState {
            server: "http://127.0.0.1:1/pulp/api/v3/".into(),
            version: repository.version(version),
            repository,
            files: paths
                .iter()
                .map(|p| FileContent {
                    pulp_href: format!("/pulp/api/v3/content/file/files/{p}/"),
                    relative_path: format!("events/{p}"),
                    sha256: None,
                    pulp_created: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_ledger_state_is_kept_per_repository_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let s2 = ledger_state("l", 2, &["a", "b"]);
        let (server, repo) = (s2.server.clone(), s2.repository.clone());
        assert!(cache.ledger(&server, &repo).is_none());
        cache.store_ledger(&s2);
        assert_eq!(cache.ledger(&server, &repo), Some(s2.clone()));
        // Another server or another repository: nothing.
        assert!(cache.ledger("http://other:1/pulp/api/v3/", &repo).is_none());
        let other = ledger_state("m", 2, &["a"]);
        assert!(cache.ledger(&server, &other.repository).is_none());
        // An older read does not replace a newer one; a newer one does.
        cache.store_ledger(&ledger_state("l", 1, &["a"]));
        assert_eq!(cache.ledger(&server, &repo), Some(s2));
        let s3 = ledger_state("l", 3, &["a", "b", "c"]);
        cache.store_ledger(&s3);
        assert_eq!(cache.ledger(&server, &repo), Some(s3.clone()));
        // Another repository's state copied under this name, or a corrupt file: a miss.
        let path = cache.ledger_path(&server, &repo);
        cache.store_ledger(&other);
        std::fs::copy(cache.ledger_path(&server, &other.repository), &path).unwrap();
        assert!(cache.ledger(&server, &repo).is_none(), "another key");
        std::fs::write(&path, b"{\"format\": 1, \"state\": {").unwrap();
        assert!(cache.ledger(&server, &repo).is_none(), "truncated");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains("127.0.0.1") && !name.contains("file"),
            "{name}"
        );
    }

    /// Set the modification time of `path` to `days` days before `now`.
    fn age(path: &Path, now: SystemTime, days: u64) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(now - Duration::from_secs(days * 24 * 3600))
            .unwrap();
    }

    #[test]
    fn a_sweep_deletes_what_went_unused_for_a_month_once_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let now = SystemTime::now();
        let (old, used, fresh) = (key(Some(1)), key(Some(2)), key(Some(3)));
        for k in [&old, &used, &fresh] {
            cache.store_added(k, &[package("a")]);
        }
        let ledger = ledger_state("l", 2, &["a"]);
        cache.store_ledger(&ledger);
        let stale_tmp = dir.path().join(ENTRIES).join(".x.json.1.0.tmp");
        let live_tmp = dir.path().join(ENTRIES).join(".y.json.1.1.tmp");
        std::fs::write(&stale_tmp, b"").unwrap();
        std::fs::write(&live_tmp, b"").unwrap();
        age(&cache.path(&old, Side::Added), now, MAX_AGE_DAYS + 1);
        age(&cache.path(&used, Side::Added), now, MAX_AGE_DAYS + 1);
        age(
            &cache.ledger_path(&ledger.server, &ledger.repository),
            now,
            MAX_AGE_DAYS + 1,
        );
        age(&stale_tmp, now, 1);
        // A hit marks the entry as used.
        assert!(cache.added(&used).is_some());
        // The first write of a command (a new `Cache`) sweeps: the store above already swept,
        // before anything was old, so the mark is aged to let this one run.
        age(&dir.path().join(SWEEP_MARK), now, 2);
        let next = Cache::new(dir.path());
        next.store_removed(&fresh, &[PackageHref::new("/p/z/")]);
        assert!(next.added(&old).is_none(), "unused for a month");
        assert!(!cache.path(&old, Side::Added).exists());
        assert!(next.added(&used).is_some(), "read a moment ago");
        assert!(next.added(&fresh).is_some());
        assert!(next.removed(&fresh).is_some());
        assert!(next.ledger(&ledger.server, &ledger.repository).is_none());
        assert!(!stale_tmp.exists(), "a killed writer's leftover");
        assert!(live_tmp.exists(), "a write under way");
        // Within a day of that sweep, nothing is swept.
        let old_again = key(Some(4));
        next.store_added(&old_again, &[package("a")]);
        age(&next.path(&old_again, Side::Added), now, MAX_AGE_DAYS + 1);
        assert_eq!(Cache::new(dir.path()).sweep(now), 0);
        assert!(next.path(&old_again, Side::Added).exists());
        // A day later it is (and the temporary file, by then a day old, with it).
        let later = now + SWEEP_EVERY + Duration::from_secs(1);
        assert_eq!(Cache::new(dir.path()).sweep(later), 2);
        assert!(!next.path(&old_again, Side::Added).exists());
        assert!(!live_tmp.exists());
    }

    #[test]
    fn a_failed_write_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        // The cache directory is a file: nothing can be written under it.
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let cache = Cache::new(&file);
        cache.store_added(&key(None), &[package("a")]);
        assert!(cache.added(&key(None)).is_none());
    }
}
