//! The ledger: every vet, promote and rollback of a release, kept **in Pulp**.
//!
//! One pulp_file repository per product + release (`{product}-{release}-ledger`). Each event
//! is one file added in its own task, so every event is a new immutable repository version:
//! the history survives machines, and wheelgate only ever appends. The event's JSON is both
//! the file's bytes and, base64url-encoded, its relative path
//! (`events/<time>-<id>/<base64url(json)>`), so reading the history needs no download
//! (Pulp's REST API lists paths but does not serve file bytes).
//!
//! Reading every event lists the latest ledger version's files, which grows with the history
//! (about 2 ms of Pulp's time per event). With a [`Cache`], the files of the last version read
//! on this machine are kept and only what changed since is asked
//! ([`crate::cache`], "The ledger").

use std::collections::BTreeMap;

use base64::Engine;
use pulp_client::{
    FileChanges, FileContent, FileRepository, PulpClient, RepositoryVersionHref, WaitOptions,
};
use serde::{Deserialize, Serialize};

use crate::cache::{self, Cache, LedgerState};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::labels;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A version passed vetting.
    Vet,
    /// Production was switched to a vetted version.
    Promote,
    /// Production was switched back.
    Rollback,
    /// Unreferenced staging versions were deleted (`detail` lists them; `to_version` is the
    /// highest deleted).
    Prune,
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Vet => "vet",
            Self::Promote => "promote",
            Self::Rollback => "rollback",
            Self::Prune => "prune",
        })
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Done and verified.
    Ok,
    /// Switched, then switched back because another variant failed.
    Reverted,
    /// The switch failed; production unchanged.
    Failed,
    /// Switched, but the customer-facing index did not match.
    VerifyFailed,
    /// Refused by policy before anything changed (not vetted, `--expect-current` mismatch).
    Refused,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ok => "ok",
            Self::Reverted => "reverted",
            Self::Failed => "failed",
            Self::VerifyFailed => "verify-failed",
            Self::Refused => "refused",
        })
    }
}

/// One ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What.
    pub kind: EventKind,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Who.
    pub actor: String,
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Production version before (promote/rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<u64>,
    /// The version vetted, or production's version after.
    pub to_version: u64,
    /// Digest of the version's (filename, sha256) set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The href of the version vetted (vet records). Pulp's versions are immutable and their
    /// hrefs are never reused (a number alone could name a version of a re-created staging
    /// repository), so a record bound to the href vouches for that exact file set: promote
    /// does not read the version again before switching. Older records have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_href: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Extra detail (errors, counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The name of a release's ledger repository.
pub fn ledger_name(catalog: &Catalog, release: &str) -> String {
    format!("{}-{release}-ledger", catalog.product)
}

/// The labels of a ledger repository.
pub fn ledger_labels(catalog: &Catalog, release: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::PRODUCT.to_owned(), catalog.product.clone()),
        (labels::RELEASE.to_owned(), release.to_owned()),
        (labels::ROLE.to_owned(), "ledger".to_owned()),
    ])
}

/// Encode an event as a relative path.
pub fn encode_path(event: &Event, id: &str) -> Result<String> {
    let json = serde_json::to_vec(event).map_err(|e| Error::Inconsistent(e.to_string()))?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    Ok(format!("events/{}-{id}/{b64}", event.time))
}

/// Decode an event from a relative path written by [`encode_path`].
pub fn decode_path(path: &str) -> Option<Event> {
    let b64 = path.strip_prefix("events/")?.rsplit('/').next()?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// A release's ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: PulpClient,
    repo: FileRepository,
}

impl Ledger {
    /// Open the ledger of a release (created by `init`).
    pub async fn open(client: &PulpClient, catalog: &Catalog, release: &str) -> Result<Self> {
        let name = ledger_name(catalog, release);
        let repo = client
            .file_repository_by_name(&name)
            .await?
            .ok_or_else(|| Error::NotInitialized {
                what: "ledger repository",
                name,
                release: release.to_owned(),
            })?;
        Ok(Self {
            client: client.clone(),
            repo,
        })
    }

    /// Append an event (one new immutable ledger version).
    pub async fn append(&self, event: &Event, wait: &WaitOptions) -> Result<()> {
        let nonce = format!("{:08x}", rand_u32());
        let path = encode_path(event, &nonce)?;
        let bytes =
            serde_json::to_vec_pretty(event).map_err(|e| Error::Inconsistent(e.to_string()))?;
        self.client
            .add_file(&self.repo.pulp_href, &path, bytes.into(), wait)
            .await?;
        Ok(())
    }

    /// Open the ledger and read every event in two requests (the repository as found by name
    /// is fresh enough: it was read a moment ago), or three small ones through `cache`. For
    /// planning, where latency counts.
    pub async fn open_with_events(
        client: &PulpClient,
        catalog: &Catalog,
        release: &str,
        cache: Option<&Cache>,
    ) -> Result<(Self, Vec<Event>)> {
        let ledger = Self::open(client, catalog, release).await?;
        let events = ledger
            .events_at(ledger.repo.latest_version_href.as_ref(), cache)
            .await?;
        Ok((ledger, events))
    }

    /// Find the ledger of a release and read every event, through `cache` if any (`None`:
    /// `init` has not made it).
    pub async fn find_with_events(
        client: &PulpClient,
        catalog: &Catalog,
        release: &str,
        cache: Option<&Cache>,
    ) -> Result<Option<(Self, Vec<Event>)>> {
        let Some(repo) = client
            .file_repository_by_name(&ledger_name(catalog, release))
            .await?
        else {
            return Ok(None);
        };
        let ledger = Self {
            client: client.clone(),
            repo,
        };
        let events = ledger
            .events_at(ledger.repo.latest_version_href.as_ref(), cache)
            .await?;
        Ok(Some((ledger, events)))
    }

    /// The ledger repository's name.
    pub fn name(&self) -> &str {
        &self.repo.name
    }

    /// The ledger repository.
    pub fn repository(&self) -> &FileRepository {
        &self.repo
    }

    /// Every event, oldest first, read from the latest ledger version (through `cache`, if
    /// any).
    pub async fn events(&self, cache: Option<&Cache>) -> Result<Vec<Event>> {
        let repo = self.client.file_repository(&self.repo.pulp_href).await?;
        self.events_at(repo.latest_version_href.as_ref(), cache)
            .await
    }

    async fn events_at(
        &self,
        version: Option<&RepositoryVersionHref>,
        cache: Option<&Cache>,
    ) -> Result<Vec<Event>> {
        let Some(latest) = version else {
            return Ok(Vec::new());
        };
        let files = match cache {
            Some(cache) => self.files_through(cache, latest).await?,
            None => self.client.list_files(latest).await?,
        };
        let mut events: Vec<(String, Event)> = files
            .into_iter()
            .filter_map(|f| decode_path(&f.relative_path).map(|e| (f.relative_path, e)))
            .collect();
        events.sort_by(|a, b| a.1.time.cmp(&b.1.time).then_with(|| a.0.cmp(&b.0)));
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }

    /// The files of ledger version `latest`: the state kept in `cache` changed by what Pulp
    /// says changed since, or (no state, its version gone, an answer that does not fit it)
    /// the whole listing. What is read is kept for the next time.
    async fn files_through(
        &self,
        cache: &Cache,
        latest: &RepositoryVersionHref,
    ) -> Result<Vec<FileContent>> {
        let server = cache::server_identity(&self.client).await?;
        let repository = self.repo.pulp_href.clone();
        let kept = {
            let (cache, server, repository) = (cache.clone(), server.clone(), repository.clone());
            // Reading and parsing a file: off the async threads.
            tokio::task::spawn_blocking(move || cache.ledger(&server, &repository))
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "reading the ledger cache crashed");
                    None
                })
        };
        let files = match kept {
            Some(kept) if &kept.version == latest => {
                tracing::debug!(ledger = %self.repo.name, version = %latest, files = kept.files.len(), "ledger read from the cache");
                return Ok(kept.files);
            }
            Some(kept) => match self
                .client
                .files_changed_between(&kept.version, latest)
                .await
            {
                Ok(changes) => {
                    let (added, removed) = (changes.added.len(), changes.removed.len());
                    match apply(kept.files, changes) {
                        Some(files) => {
                            tracing::debug!(ledger = %self.repo.name, from = %kept.version, to = %latest, added, removed, "ledger read from the cache and the change since");
                            files
                        }
                        None => {
                            tracing::warn!(ledger = %self.repo.name, from = %kept.version, to = %latest, "the ledger's change does not fit the cached state: listing it whole");
                            self.client.list_files(latest).await?
                        }
                    }
                }
                Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(400 | 404)) => {
                    tracing::debug!(ledger = %self.repo.name, from = %kept.version, error = %e, "the cached ledger version is gone: listing the ledger whole");
                    self.client.list_files(latest).await?
                }
                Err(e) => return Err(e.into()),
            },
            None => self.client.list_files(latest).await?,
        };
        let state = LedgerState {
            server,
            repository,
            version: latest.clone(),
            files: files.clone(),
        };
        let cache = cache.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || cache.store_ledger(&state)).await {
            tracing::warn!(error = %e, "writing the ledger cache crashed");
        }
        Ok(files)
    }

    /// Whether Pulp keeps every ledger version (it should).
    pub fn retention(&self) -> Option<u64> {
        self.repo.retain_repo_versions
    }
}

/// `files` (a version's) changed by the net change from that version to another, or `None`
/// when they do not fit together: a removed file that is not there, an added one that is, a
/// file twice.
fn apply(files: Vec<FileContent>, changes: FileChanges) -> Option<Vec<FileContent>> {
    let count = files.len();
    let mut by_href: BTreeMap<String, FileContent> = files
        .into_iter()
        .map(|f| (f.pulp_href.clone(), f))
        .collect();
    if by_href.len() != count {
        return None;
    }
    for r in changes.removed {
        by_href.remove(&r.pulp_href)?;
    }
    for a in changes.added {
        if by_href.insert(a.pulp_href.clone(), a).is_some() {
            return None;
        }
    }
    Some(by_href.into_values().collect())
}

fn rand_u32() -> u32 {
    // Uniqueness within the same millisecond: time, process and a counter, hashed.
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u32(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_paths() {
        let e = Event {
            kind: EventKind::Promote,
            time: "2026-11-28T18:00:00.000Z".into(),
            actor: "alice@host".into(),
            release: "3.0".into(),
            variant: "cuda12.9-ubi9".into(),
            from_version: Some(3),
            to_version: 5,
            digest: Some("ab".repeat(32)),
            version_href: None,
            reason: Some("CVE fix (urgent) / ticket #12".into()),
            outcome: Outcome::Ok,
            detail: None,
        };
        let p = encode_path(&e, "0001").unwrap();
        assert!(
            p.starts_with("events/2026-11-28T18:00:00.000Z-0001/"),
            "{p}"
        );
        assert!(!p.contains('+') && !p.contains('=') && !p["events/".len()..].contains(".."));
        assert_eq!(decode_path(&p), Some(e));
        assert_eq!(decode_path("events/garbage/%%%"), None);
        assert_eq!(decode_path("other/x"), None);
    }

    fn file(id: &str) -> FileContent {
        FileContent {
            pulp_href: format!("/pulp/api/v3/content/file/files/{id}/"),
            relative_path: format!("events/{id}"),
            sha256: None,
            pulp_created: None,
        }
    }

    #[test]
    fn a_change_applies_only_where_it_fits() {
        let change = |added: &[&str], removed: &[&str]| FileChanges {
            added: added.iter().map(|i| file(i)).collect(),
            removed: removed.iter().map(|i| file(i)).collect(),
        };
        let hrefs = |files: Option<Vec<FileContent>>| {
            files.map(|f| f.into_iter().map(|f| f.relative_path).collect::<Vec<_>>())
        };
        let kept = vec![file("a"), file("b")];
        assert_eq!(
            hrefs(apply(kept.clone(), change(&["c", "d"], &["a"]))),
            Some(vec![
                "events/b".into(),
                "events/c".into(),
                "events/d".into()
            ])
        );
        assert_eq!(
            hrefs(apply(kept.clone(), FileChanges::default())),
            Some(vec!["events/a".into(), "events/b".into()])
        );
        assert_eq!(
            hrefs(apply(kept.clone(), change(&[], &["z"]))),
            None,
            "removed, not there"
        );
        assert_eq!(
            hrefs(apply(kept.clone(), change(&["b"], &[]))),
            None,
            "added, there"
        );
        assert_eq!(
            hrefs(apply(vec![file("a"), file("a")], change(&[], &[]))),
            None,
            "twice"
        );
    }
}
