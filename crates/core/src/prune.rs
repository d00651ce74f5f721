//! `prune`: delete staging versions that nothing refers to, to reclaim space.
//!
//! A version is kept when any of these holds (the reasons are reported):
//! - it is version 0 (the empty start, where production points after `init`);
//! - it is one of the `keep_latest` newest (the newest is what the staging index serves and
//!   what the next upload builds on);
//! - production serves it (Pulp refuses that deletion too);
//! - the ledger names it: vetted, or the from/to of any promote or rollback that was
//!   attempted, whatever the outcome (a rollback target, or evidence for an auditor); a
//!   refused promote changed nothing and keeps nothing.
//!
//! Everything else is deleted, one Pulp task per version (Pulp folds the content changes into
//! the next version, so the versions that stay keep their exact content). The plan is made
//! again just before deleting, so a version promoted or vetted meanwhile is kept. The build
//! label of each deleted version is removed, and one ledger event records what was deleted.

use std::collections::{BTreeMap, BTreeSet};

use pulp_client::{PulpClient, Repository, RepositoryVersionHref, WaitOptions};
use serde::Serialize;

use crate::cache::Cache;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::labels;
use crate::ledger::{Event, EventKind, Ledger, Outcome};
use crate::state::ReleaseState;

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// How many of the newest versions to keep whatever else holds (at least 1).
    pub keep_latest: u64,
    /// The cache the ledger is read through (`None`: read whole).
    pub cache: Option<Cache>,
}

/// Why a version stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepReason {
    /// Version 0.
    Initial,
    /// Among the newest `keep_latest`.
    Recent,
    /// Production serves it.
    Production,
    /// The ledger records it as vetted.
    Vetted,
    /// The ledger names it as the from or to of a promote or rollback.
    Served,
}

impl std::fmt::Display for KeepReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Initial => "initial (empty)",
            Self::Recent => "recent",
            Self::Production => "production serves it",
            Self::Vetted => "vetted",
            Self::Served => "in promote/rollback history",
        })
    }
}

/// What `prune` would do.
#[derive(Debug, Clone, Serialize)]
pub struct PrunePlan {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// Staging repository.
    pub repository: String,
    /// Versions kept, with why.
    pub keep: BTreeMap<u64, Vec<KeepReason>>,
    /// Versions to delete, oldest first.
    pub delete: Vec<u64>,
    #[serde(skip)]
    hrefs: BTreeMap<u64, RepositoryVersionHref>,
    #[serde(skip)]
    repo: Repository,
    #[serde(skip)]
    ledger: Ledger,
}

/// What `prune` did.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// The plan as carried out (re-made just before deleting).
    pub plan: PrunePlan,
    /// Versions deleted.
    pub deleted: Vec<u64>,
    /// Versions Pulp refused to delete, with its answer (e.g. another distribution serves it).
    pub refused: BTreeMap<u64, String>,
}

/// Decide what stays and what goes, from the version numbers and what refers to them.
pub fn decide(
    versions: &[u64],
    keep_latest: u64,
    production: Option<u64>,
    events: &[Event],
) -> (BTreeMap<u64, Vec<KeepReason>>, Vec<u64>) {
    let mut sorted: Vec<u64> = versions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let recent: BTreeSet<u64> = sorted
        .iter()
        .rev()
        .take(keep_latest.max(1) as usize)
        .copied()
        .collect();
    let mut keep: BTreeMap<u64, Vec<KeepReason>> = BTreeMap::new();
    let mut delete = Vec::new();
    for &n in &sorted {
        let mut why = Vec::new();
        if n == 0 {
            why.push(KeepReason::Initial);
        }
        if recent.contains(&n) {
            why.push(KeepReason::Recent);
        }
        if production == Some(n) {
            why.push(KeepReason::Production);
        }
        for e in events {
            match e.kind {
                EventKind::Vet if e.to_version == n && e.outcome == Outcome::Ok => {
                    why.push(KeepReason::Vetted)
                }
                // A refusal changed nothing: it is no reason to keep a version.
                EventKind::Promote | EventKind::Rollback
                    if e.outcome != Outcome::Refused
                        && (e.to_version == n || e.from_version == Some(n)) =>
                {
                    why.push(KeepReason::Served)
                }
                _ => {}
            }
        }
        why.sort_unstable();
        why.dedup();
        if why.is_empty() {
            delete.push(n);
        } else {
            keep.insert(n, why);
        }
    }
    (keep, delete)
}

/// Plan a prune; changes nothing. `keep_latest` 0 is refused: the newest version is what
/// the staging index serves and what the next upload builds on.
pub async fn plan_prune(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &PruneOptions,
) -> Result<PrunePlan> {
    if opts.keep_latest == 0 {
        return Err(Error::Usage(
            "--keep-latest 0 would delete the newest staging version, which the staging index serves and the next upload builds on; keep at least 1".into(),
        ));
    }
    let state = ReleaseState::load(
        client,
        catalog,
        &opts.release,
        std::slice::from_ref(&opts.variant),
        opts.cache.as_ref(),
    )
    .await?;
    let ledger = state.require_ledger(catalog)?.clone();
    let variant = state
        .variant(&opts.variant)
        .ok_or_else(|| Error::Inconsistent(format!("no state loaded for {}", opts.variant)))?;
    let repo = variant.require_repository()?.clone();
    variant.require_production()?;
    let versions = client.list_versions(&repo.pulp_href).await?;
    let numbers: Vec<u64> = versions.iter().map(|v| v.number).collect();
    let production = variant.served.staging_number();
    let events: Vec<Event> = state.events_of(&opts.variant).cloned().collect();
    let (keep, delete) = decide(&numbers, opts.keep_latest, production, &events);
    Ok(PrunePlan {
        release: opts.release.clone(),
        variant: opts.variant.clone(),
        repository: repo.name.clone(),
        keep,
        delete,
        hrefs: versions
            .into_iter()
            .map(|v| (v.number, v.pulp_href))
            .collect(),
        repo,
        ledger,
    })
}

/// Carry out a prune: make the plan again, delete what both plans delete, record it.
pub async fn apply_prune(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &PruneOptions,
    planned: &PrunePlan,
    actor: &str,
    reason: Option<String>,
    wait: &WaitOptions,
) -> Result<PruneReport> {
    let mut fresh = plan_prune(client, catalog, opts).await?;
    fresh.delete.retain(|n| planned.delete.contains(n));
    let mut deleted = Vec::new();
    let mut refused = BTreeMap::new();
    let mut failure = None;
    for n in &fresh.delete {
        let Some(href) = fresh.hrefs.get(n) else {
            continue;
        };
        match client.delete_version(href, wait).await {
            Ok(()) => deleted.push(*n),
            // Gone meanwhile: nothing to do.
            Err(e) if e.is_not_found() => {}
            // Refused (e.g. another distribution serves it): kept, reported.
            Err(e) if e.status().is_some_and(|s| s.is_client_error()) => {
                refused.insert(*n, e.to_string());
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // Whatever was deleted is cleaned up and recorded, also when a deletion failed.
    for n in &deleted {
        let key = labels::build_key(*n);
        if fresh.repo.pulp_labels.contains_key(&key) {
            client
                .unset_label(fresh.repo.pulp_href.as_str(), &key)
                .await?;
        }
    }
    if let Some(&last) = deleted.iter().max() {
        let list: Vec<String> = deleted.iter().map(u64::to_string).collect();
        fresh
            .ledger
            .append(
                &Event {
                    kind: EventKind::Prune,
                    time: crate::time::rfc3339_now(),
                    actor: actor.to_owned(),
                    release: opts.release.clone(),
                    variant: opts.variant.clone(),
                    from_version: None,
                    to_version: last,
                    digest: None,
                    version_href: None,
                    reason,
                    outcome: Outcome::Ok,
                    detail: Some(format!("deleted versions {}", list.join(", "))),
                },
                wait,
            )
            .await?;
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok(PruneReport {
        plan: fresh,
        deleted,
        refused,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, from: Option<u64>, to: u64, outcome: Outcome) -> Event {
        Event {
            kind,
            time: "2026-11-29T00:00:00.000Z".into(),
            actor: "t".into(),
            release: "1.0".into(),
            variant: "a".into(),
            from_version: from,
            to_version: to,
            digest: None,
            version_href: None,
            reason: None,
            outcome,
            detail: None,
        }
    }

    #[test]
    fn keeps_everything_anything_refers_to() {
        let versions: Vec<u64> = (0..=10).collect();
        let events = vec![
            event(EventKind::Vet, None, 2, Outcome::Ok),
            event(EventKind::Promote, Some(0), 2, Outcome::Ok),
            event(EventKind::Vet, None, 5, Outcome::Ok),
            // A failed promote still names its versions: evidence for an auditor.
            event(EventKind::Promote, Some(2), 5, Outcome::Failed),
            event(EventKind::Rollback, Some(6), 3, Outcome::Ok),
            // A prune event names a deleted version: no reason to keep anything.
            event(EventKind::Prune, None, 4, Outcome::Ok),
        ];
        let (keep, delete) = decide(&versions, 2, Some(7), &events);
        assert_eq!(delete, vec![1, 4, 8]);
        assert_eq!(keep[&0], vec![KeepReason::Initial, KeepReason::Served]);
        assert_eq!(keep[&2], vec![KeepReason::Vetted, KeepReason::Served]);
        assert_eq!(keep[&3], vec![KeepReason::Served]);
        assert_eq!(keep[&5], vec![KeepReason::Vetted, KeepReason::Served]);
        assert_eq!(keep[&6], vec![KeepReason::Served]);
        assert_eq!(keep[&7], vec![KeepReason::Production]);
        assert_eq!(keep[&9], vec![KeepReason::Recent]);
        assert_eq!(keep[&10], vec![KeepReason::Recent]);
    }

    #[test]
    fn a_refused_promote_keeps_nothing() {
        let events = vec![event(EventKind::Promote, Some(0), 1, Outcome::Refused)];
        let (keep, delete) = decide(&[0, 1, 2], 1, Some(0), &events);
        assert_eq!(delete, vec![1]);
        assert_eq!(keep[&0], vec![KeepReason::Initial, KeepReason::Production]);
    }

    #[test]
    fn always_keeps_the_newest() {
        let (keep, delete) = decide(&[0, 1, 2], 0, None, &[]);
        assert_eq!(delete, vec![1]);
        assert!(keep.contains_key(&2), "keep_latest is at least 1");
    }
}
