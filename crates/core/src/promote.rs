//! `promote` and `rollback`: switch production distributions between immutable staging
//! versions, all-or-nothing, verified through the customer path, recorded in the ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pulp_client::{Change, Distribution, PulpClient, RepositoryVersionHref, Serves, WaitOptions};
use serde::Serialize;

use url::Url;

use crate::cache::Cache;
use crate::catalog::Catalog;
use crate::customer::CustomerIndex;
use crate::diff::{self, Diff, FileEntry};
use crate::error::{Error, Result};
use crate::ledger::{Event, EventKind, Ledger, Outcome};
use crate::state::{ReleaseState, Served, VariantState};
use crate::verify;

/// Project pages read at once when verifying a switch.
const VERIFY_CONCURRENCY: usize = 8;

/// Digest binding a vetting record to a version's exact file set: sha256 over the sorted
/// lines `"{filename} {sha256}\n"`.
pub fn digest(files: &[FileEntry]) -> String {
    use sha2::Digest;
    let mut lines: Vec<String> = files
        .iter()
        .map(|f| format!("{} {}\n", f.filename, f.sha256))
        .collect();
    lines.sort();
    let mut h = sha2::Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
    }
    hex::encode(h.finalize())
}

/// One production switch.
#[derive(Debug, Clone, Serialize)]
pub struct Switch {
    /// Variant.
    pub variant: String,
    /// Production distribution name.
    pub distribution: String,
    /// Staging version customers get now (pinned, or the latest when production follows the
    /// staging repository; `None`: nothing, a publication or another repository).
    pub from_version: Option<u64>,
    /// What production serves now.
    pub from: Served,
    /// Version to serve.
    pub to_version: u64,
    /// What changes for customers. `None` in a plan made with [`DiffTiming::WithSwitch`]
    /// until [`apply`] has worked it out (a report always has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
    /// Digest of the target file set: from the vetting record bound to the version
    /// (promote), else once the version has been read (a rollback learns it after the
    /// switch: the switch does not wait for the whole version to be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Simple index URL customers use.
    pub index_url: Option<String>,
    #[serde(skip)]
    dist: Option<Distribution>,
    #[serde(skip)]
    to_serves: Option<Serves>,
    #[serde(skip)]
    to_href: Option<RepositoryVersionHref>,
    /// Every file of the target version, when planning had to read them.
    #[serde(skip)]
    to_files: Option<Vec<FileEntry>>,
}

/// A planned promote or rollback.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchPlan {
    /// Promote or rollback.
    pub kind: EventKind,
    /// Release.
    pub release: String,
    /// Per variant.
    pub switches: Vec<Switch>,
}

impl SwitchPlan {
    /// Whether every switch's diff is known (always, unless planned with
    /// [`DiffTiming::WithSwitch`]): a plan to show before applying.
    pub fn diffs_known(&self) -> bool {
        self.switches.iter().all(|s| s.diff.is_some())
    }

    /// Whether applying would change nothing (every production is pinned to its target
    /// already; following the target as the latest version is not pinned to it).
    pub fn is_noop(&self) -> bool {
        self.switches
            .iter()
            .all(|s| s.from.is_pinned_to(s.to_version))
    }
}

/// Options of `promote`.
#[derive(Debug, Clone)]
pub struct PromoteOptions {
    /// Release.
    pub release: String,
    /// Variants (empty: all of the release).
    pub variants: Vec<String>,
    /// Version to promote (default: newest vetted of each variant).
    pub version: Option<u64>,
    /// Refuse unless production serves this version now.
    pub expect_current: Option<u64>,
    /// When the diff is worked out.
    pub diff: DiffTiming,
    /// Where versions read before on this machine are kept (whole-version reads replay them).
    pub cache: Option<Cache>,
}

/// Options of `rollback`.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// Release.
    pub release: String,
    /// Variant.
    pub variant: String,
    /// A version production served before (default: the one before the current).
    pub to: Option<u64>,
    /// When the diff is worked out.
    pub diff: DiffTiming,
    /// Where versions read before on this machine are kept.
    pub cache: Option<Cache>,
}

/// When a promote or rollback works out what the switch changes for customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffTiming {
    /// While planning, before anything changes: the plan shows it, for a dry run or a
    /// confirmation.
    #[default]
    Planned,
    /// While the switch is applied, for a switch already confirmed (`--yes`): customers get
    /// the new version two round trips sooner (which projects changed, then their files), and
    /// the target version's existence is left to the switch itself (Pulp refuses a version
    /// that is gone, and [`apply`] says so).
    WithSwitch,
}

/// Who asked for a promote, to record a refusal in the ledger.
#[derive(Debug, Clone)]
pub struct Requester {
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
    /// Task waiting.
    pub wait: WaitOptions,
}

/// Options of applying a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
    /// Task waiting.
    pub wait: WaitOptions,
    /// How long the customer-facing index may take to show the switch.
    pub verify_timeout: Duration,
    /// How much of the index to read back.
    pub verify: VerifyScope,
    /// Where and how to read it: the customer path.
    pub customer: CustomerIndex,
    /// Where versions read before on this machine are kept: the target version read after
    /// the switch is replayed from them when that costs Pulp less.
    pub cache: Option<Cache>,
}

/// The result of a switch.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchReport {
    /// Promote or rollback.
    pub kind: EventKind,
    /// Release.
    pub release: String,
    /// What was switched.
    pub switches: Vec<Switch>,
    /// Per variant, whether the customer path showed exactly the new file set.
    pub verified: BTreeMap<String, bool>,
    /// How much of each index was read back.
    pub verify: VerifyScope,
    /// Per variant, how many project pages were read back (besides the root page).
    pub pages_checked: BTreeMap<String, usize>,
}

fn index_url(d: &Distribution) -> Option<String> {
    d.base_url
        .as_ref()
        .map(|b| format!("{}/simple/", b.trim_end_matches('/')))
}

/// The digest a vetting record vouches for without reading the version again: the record
/// is bound to exactly this version's href (versions are immutable, hrefs never reused).
fn bound_digest(record: Option<&Event>, version: &RepositoryVersionHref) -> Option<String> {
    record
        .filter(|e| e.version_href.as_deref() == Some(version.as_str()))
        .and_then(|e| e.digest.clone())
}

/// A switch of one variant to staging version `to`, from the state loaded for the command.
///
/// What it reads grows with the change, not with the index: the projects the switch touches
/// ([`diff::changed_project_files`]), and with [`DiffTiming::WithSwitch`] nothing before the
/// switch. The target version is read whole only when production serves nothing comparable
/// (the change is then the whole version), or when `need_whole` (a promote's vetting record
/// is not bound to the version's href, so its digest must be compared with the file set:
/// records written before vet bound them). `known_digest` is the digest a record bound to the
/// version vouches for.
async fn load_switch(
    client: &PulpClient,
    v: &VariantState,
    to: u64,
    known_digest: Option<String>,
    need_whole: bool,
    timing: DiffTiming,
    cache: Option<&Cache>,
) -> Result<Switch> {
    let dist = v.require_production()?.clone();
    let to_href = v.version_href(to)?;
    // Everything at once; a missing version is reported as such, not as a failed listing.
    let (diff, to_files) = match (v.served.current(), timing) {
        (Some(from), DiffTiming::WithSwitch) => {
            let whole = if need_whole {
                Some(v.files_of_cached(client, cache, to).await?)
            } else {
                None
            };
            // Serving the same version again changes nothing: no need to ask.
            let same = from.href == to_href;
            (same.then(|| diff::diff(&[], &[])), whole)
        }
        (Some(from), DiffTiming::Planned) => {
            let (exists, changed, whole) = futures::join!(
                v.existing_version(client, to),
                diff::changed_project_files(client, &from.href, &to_href, cache),
                async {
                    if need_whole {
                        crate::state::version_files(client, cache, &to_href)
                            .await
                            .map(Some)
                    } else {
                        Ok(None)
                    }
                }
            );
            exists?;
            let (from_part, to_part) = changed?;
            (Some(diff::diff(&from_part, &to_part)), whole?)
        }
        (None, _) => {
            let to_files = v.files_of_cached(client, cache, to).await?;
            (Some(diff::diff(&[], &to_files)), Some(to_files))
        }
    };
    let digest = known_digest.or_else(|| to_files.as_deref().map(digest));
    Ok(Switch {
        variant: v.variant().to_owned(),
        distribution: dist.name.clone(),
        from_version: v.served.staging_number(),
        from: v.served.clone(),
        to_version: to,
        diff,
        digest,
        index_url: index_url(&dist),
        dist: Some(dist),
        to_serves: Some(Serves::Version(to_href.clone())),
        to_href: Some(to_href),
        to_files,
    })
}

/// Why one variant's promotion was refused.
#[derive(Debug, Clone)]
struct Refusal {
    variant: String,
    from: Option<u64>,
    to: u64,
    digest: Option<String>,
    why: String,
}

/// The plan, or the refusals (with the state they were decided on).
async fn decide_promote(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &PromoteOptions,
) -> Result<(ReleaseState, std::result::Result<SwitchPlan, Vec<Refusal>>)> {
    let state = ReleaseState::load(
        client,
        catalog,
        &opts.release,
        &opts.variants,
        opts.cache.as_ref(),
    )
    .await?;
    state.require_ledger(catalog)?;
    let mut refusals = Vec::new();
    let mut wanted: Vec<(&VariantState, u64, &Event)> = Vec::new();
    for v in &state.variants {
        let name = v.variant();
        v.require_repository()?;
        v.require_production()?;
        let refuse = |to: u64, digest: Option<String>, why: String| Refusal {
            variant: name.to_owned(),
            from: v.served.staging_number(),
            to,
            digest,
            why: format!("{name}: {why}"),
        };
        let vetted: BTreeMap<u64, &Event> = state
            .events_of(name)
            .filter(|e| e.kind == EventKind::Vet && e.outcome == Outcome::Ok)
            .map(|e| (e.to_version, e))
            .collect();
        let to = match opts.version {
            Some(n) => n,
            None => match vetted.keys().next_back() {
                Some(n) => *n,
                None => {
                    refusals.push(refuse(
                        v.latest.as_ref().map(|l| l.number).unwrap_or(0),
                        None,
                        format!(
                            "no vetted version; run `wheelgate vet --release {} --variant {name}` first",
                            opts.release
                        ),
                    ));
                    continue;
                }
            },
        };
        match vetted.get(&to) {
            Some(record) => wanted.push((v, to, *record)),
            None => {
                // A version that does not exist is a usage error, not advice to vet it.
                v.existing_version(client, to).await?;
                refusals.push(refuse(
                    to,
                    None,
                    format!(
                        "version {to} is not vetted; run `wheelgate vet --release {} --variant {name} --version {to}`",
                        opts.release
                    ),
                ));
            }
        }
    }
    let loaded = futures::future::try_join_all(wanted.iter().map(|(v, to, record)| {
        let to_href = v.version_href(*to);
        let known = to_href
            .as_ref()
            .ok()
            .and_then(|h| bound_digest(Some(*record), h));
        let need_whole = known.is_none();
        load_switch(
            client,
            v,
            *to,
            known,
            need_whole,
            opts.diff,
            opts.cache.as_ref(),
        )
    }))
    .await?;
    let mut switches = Vec::new();
    for ((v, to, record), switch) in wanted.iter().zip(loaded) {
        let name = v.variant();
        let vetted_digest = record.digest.as_deref();
        if vetted_digest.is_none() || vetted_digest != switch.digest.as_deref() {
            refusals.push(Refusal {
                variant: name.to_owned(),
                from: switch.from_version,
                to: *to,
                digest: switch.digest.clone(),
                why: format!(
                    "{name}: version {to} no longer has the file set that was vetted (digest {} then, {} now)",
                    vetted_digest.unwrap_or("-"),
                    switch.digest.as_deref().unwrap_or("-")
                ),
            });
            continue;
        }
        if let Some(m) = opts.expect_current {
            if switch.from_version != Some(m) {
                refusals.push(Refusal {
                    variant: name.to_owned(),
                    from: switch.from_version,
                    to: *to,
                    digest: switch.digest.clone(),
                    why: format!(
                        "{name}: production serves {} now, not {m} (--expect-current); someone else changed it — review and retry",
                        switch
                            .from_version
                            .map(|n| format!("version {n}"))
                            .unwrap_or_else(|| "no staging version".into())
                    ),
                });
                continue;
            }
        }
        switches.push(switch);
    }
    let plan = if refusals.is_empty() {
        Ok(SwitchPlan {
            kind: EventKind::Promote,
            release: opts.release.clone(),
            switches,
        })
    } else {
        Err(refusals)
    };
    Ok((state, plan))
}

fn refused(refusals: &[Refusal]) -> Error {
    Error::Refused(format!(
        "promotion refused, nothing changed:\n  {}",
        refusals
            .iter()
            .map(|r| r.why.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    ))
}

/// Plan a promotion: checks that the versions exist, vetting, digests and
/// `--expect-current`; changes nothing (a dry run).
pub async fn plan_promote(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &PromoteOptions,
) -> Result<SwitchPlan> {
    let (_, plan) = decide_promote(client, catalog, opts).await?;
    plan.map_err(|r| refused(&r))
}

/// Plan a promotion that is meant to be applied: as [`plan_promote`], and a refusal is
/// recorded in the ledger (one `refused` promote event per refused variant), since every
/// outcome of a promote goes there.
pub async fn plan_promote_recorded(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &PromoteOptions,
    by: &Requester,
) -> Result<SwitchPlan> {
    let (state, plan) = decide_promote(client, catalog, opts).await?;
    let refusals = match plan {
        Ok(p) => return Ok(p),
        Err(r) => r,
    };
    let ledger = state.require_ledger(catalog)?;
    let events: Vec<Event> = refusals
        .iter()
        .map(|r| Event {
            kind: EventKind::Promote,
            time: crate::time::rfc3339_now(),
            actor: by.actor.clone(),
            release: opts.release.clone(),
            variant: r.variant.clone(),
            from_version: r.from,
            to_version: r.to,
            digest: r.digest.clone(),
            version_href: None,
            reason: by.reason.clone(),
            outcome: Outcome::Refused,
            detail: Some(r.why.clone()),
        })
        .collect();
    if let Err(e) =
        futures::future::try_join_all(events.iter().map(|e| ledger.append(e, &by.wait))).await
    {
        // The refusal is the answer; a failure to record it is secondary.
        tracing::warn!(error = %e, "could not record the refused promote in the ledger");
    }
    Err(refused(&refusals))
}

/// Plan a rollback of one variant: to the version production served before the current one
/// (from the ledger), or to `to` if that version was promoted before (or is 0, the empty
/// start, given explicitly). Going back to version 0 implicitly is refused: customers would
/// get an empty index. The target's digest comes from its vetting record when that is bound
/// to the version (so nothing whole is read for it); `opts.diff` says when the diff is worked
/// out.
pub async fn plan_rollback(
    client: &PulpClient,
    catalog: &Catalog,
    opts: &RollbackOptions,
) -> Result<SwitchPlan> {
    let (release, variant, to) = (opts.release.as_str(), opts.variant.as_str(), opts.to);
    let state = ReleaseState::load(
        client,
        catalog,
        release,
        &[variant.to_owned()],
        opts.cache.as_ref(),
    )
    .await?;
    state.require_ledger(catalog)?;
    let v = state
        .variant(variant)
        .ok_or_else(|| Error::Inconsistent(format!("no state loaded for {variant}")))?;
    v.require_production()?;
    let switches: Vec<&Event> = state
        .events_of(variant)
        .filter(|e| {
            matches!(e.kind, EventKind::Promote | EventKind::Rollback) && e.outcome == Outcome::Ok
        })
        .collect();
    let current = v.served.staging_number();
    let target = match to {
        Some(n) => {
            // A version that does not exist is a usage error, whatever the ledger says.
            v.existing_version(client, n).await?;
            if n != 0 && !switches.iter().any(|e| e.to_version == n) {
                return Err(Error::Refused(format!("{variant}: version {n} was never promoted; rollback only returns to versions customers were served")));
            }
            n
        }
        None => {
            let last = switches
                .iter()
                .rev()
                .find(|e| Some(e.to_version) == current);
            match last.and_then(|e| e.from_version) {
                Some(0) => {
                    return Err(Error::Refused(format!(
                        "{variant}: before version {} production served version 0, the empty index `init` made: customers would get no packages; pass --to 0 to do that on purpose",
                        current.unwrap_or(0)
                    )))
                }
                Some(n) => n,
                None => {
                    return Err(Error::Refused(format!(
                        "{variant}: the ledger records no version served before {}; use --to N",
                        current
                            .map(|c| format!("version {c}"))
                            .unwrap_or_else(|| "the current one".into())
                    )))
                }
            }
        }
    };
    let known_digest = v.version_href(target).ok().and_then(|href| {
        state
            .events_of(variant)
            .filter(|e| {
                e.kind == EventKind::Vet && e.outcome == Outcome::Ok && e.to_version == target
            })
            .find_map(|e| bound_digest(Some(e), &href))
    });
    let switch = load_switch(
        client,
        v,
        target,
        known_digest,
        false,
        opts.diff,
        opts.cache.as_ref(),
    )
    .await?;
    Ok(SwitchPlan {
        kind: EventKind::Rollback,
        release: release.into(),
        switches: vec![switch],
    })
}

/// The ledger event of one switch of a plan.
fn switch_event(
    plan: &SwitchPlan,
    opts: &ApplyOptions,
    s: &Switch,
    outcome: Outcome,
    detail: Option<String>,
) -> Event {
    Event {
        kind: plan.kind,
        time: crate::time::rfc3339_now(),
        actor: opts.actor.clone(),
        release: plan.release.clone(),
        variant: s.variant.clone(),
        from_version: s.from_version,
        to_version: s.to_version,
        digest: s.digest.clone(),
        version_href: None,
        reason: opts.reason.clone(),
        outcome,
        detail,
    }
}

/// Point a distribution at `to` and wait for Pulp's task; `accepted` (if still there) is told
/// as soon as Pulp has answered the PATCH, before the wait.
async fn serve_told(
    client: &PulpClient,
    dist: &Distribution,
    to: &Serves,
    wait: &WaitOptions,
    accepted: &mut Option<futures::channel::oneshot::Sender<()>>,
) -> pulp_client::Result<()> {
    let answer = client
        .request_change(client.serve_request(&dist.pulp_href, to)?)
        .await;
    if let Some(tx) = accepted.take() {
        // Nobody listening any more is fine.
        let _ = tx.send(());
    }
    if let Change::Task(t) = answer?.0 {
        client.wait_task(&t, wait).await?;
    }
    Ok(())
}

/// Switch every production distribution of a plan (one PATCH each, in order); if one fails,
/// switch back the ones already switched, record what happened, and say so. `accepted` is
/// told when Pulp has answered the first PATCH (or dropped if there is none).
async fn switch_all(
    client: &PulpClient,
    catalog: &Catalog,
    plan: &SwitchPlan,
    opts: &ApplyOptions,
    accepted: futures::channel::oneshot::Sender<()>,
) -> Result<()> {
    let mut accepted = Some(accepted);
    let event = |s: &Switch, outcome: Outcome, detail: Option<String>| {
        switch_event(plan, opts, s, outcome, detail)
    };
    let mut done: Vec<&Switch> = Vec::new();
    for s in &plan.switches {
        let (Some(dist), Some(to)) = (&s.dist, &s.to_serves) else {
            continue;
        };
        tracing::debug!(variant = %s.variant, to = s.to_version, "switching production");
        if let Err(err) = serve_told(client, dist, to, &opts.wait, &mut accepted).await {
            // A plan made with the switch did not look the version up first: if it is gone,
            // that is the answer, not Pulp's complaint about a hyperlink.
            let gone = match &s.to_href {
                Some(href) if s.diff.is_none() => client
                    .repository_version(href)
                    .await
                    .is_err_and(|e| e.is_not_found()),
                _ => false,
            };
            let err = if gone {
                format!("staging version {} does not exist (pruned?)", s.to_version)
            } else {
                err.to_string()
            };
            // All-or-nothing: put back what was already switched.
            let mut reverted = Vec::new();
            let mut stuck = Vec::new();
            for d in done.iter().rev() {
                let Some(dd) = &d.dist else {
                    continue;
                };
                let Some(from) = d.from.to_serves() else {
                    stuck.push(format!(
                        "{} (it served a publication before; point it back by hand)",
                        d.variant
                    ));
                    continue;
                };
                match client.serve(&dd.pulp_href, &from, &opts.wait).await {
                    Ok(_) => reverted.push(d.variant.clone()),
                    Err(e) => stuck.push(format!("{} ({e})", d.variant)),
                }
            }
            let mut events = vec![event(s, Outcome::Failed, Some(err.clone()))];
            for d in &done {
                events.push(event(
                    d,
                    Outcome::Reverted,
                    Some(format!("{} failed", s.variant)),
                ));
            }
            match Ledger::open(client, catalog, &plan.release).await {
                Ok(ledger) => {
                    for e in &events {
                        if let Err(le) = ledger.append(e, &opts.wait).await {
                            tracing::warn!(error = %le, "could not record the failed switch in the ledger");
                        }
                    }
                }
                Err(le) => {
                    tracing::warn!(error = %le, "could not open the ledger to record the failed switch")
                }
            }
            let mut msg = format!(
                "switching {} to version {} failed: {err}",
                s.variant, s.to_version
            );
            if !reverted.is_empty() {
                msg.push_str(&format!(
                    "\nswitched back: {} (they serve what they served before)",
                    reverted.join(", ")
                ));
            }
            if !stuck.is_empty() {
                msg.push_str(&format!(
                    "\nCOULD NOT SWITCH BACK: {} — fix by hand",
                    stuck.join(", ")
                ));
            }
            return Err(Error::Switch(msg));
        }
        done.push(s);
    }
    Ok(())
}

/// The diffs a plan made with [`DiffTiming::WithSwitch`] left to the switch (`None` where
/// the plan has one), read while Pulp applies it: once `accepted` says Pulp answered the
/// first PATCH, so these reads do not compete with it for Pulp's API workers.
async fn missing_diffs(
    client: &PulpClient,
    plan: &SwitchPlan,
    cache: Option<&Cache>,
    accepted: futures::channel::oneshot::Receiver<()>,
) -> Vec<Result<Option<Diff>>> {
    if !plan.diffs_known() {
        // Told or dropped: either way the PATCH is no longer waiting for a worker.
        let _ = accepted.await;
    }
    futures::future::join_all(plan.switches.iter().map(|s| async move {
        let (None, Some(from), Some(to)) = (&s.diff, s.from.current(), &s.to_href) else {
            return Ok(None);
        };
        let (from_part, to_part) =
            diff::changed_project_files(client, &from.href, to, cache).await?;
        Ok(Some(diff::diff(&from_part, &to_part)))
    }))
    .await
}

/// Apply a plan: switch every production distribution (one PATCH each); if one fails, switch
/// back the ones already switched. Then verify through the customer path and record every
/// outcome in the ledger. Diffs the plan left to the switch are read while it happens.
pub async fn apply(
    client: &PulpClient,
    catalog: &Catalog,
    plan: &SwitchPlan,
    opts: &ApplyOptions,
) -> Result<SwitchReport> {
    let event = |s: &Switch, outcome: Outcome, detail: Option<String>| {
        switch_event(plan, opts, s, outcome, detail)
    };
    let (accepted, told) = futures::channel::oneshot::channel();
    let (switched, diffs) = futures::join!(
        switch_all(client, catalog, plan, opts, accepted),
        missing_diffs(client, plan, opts.cache.as_ref(), told)
    );
    switched?;

    // Every switch landed. Only now: the ledger, and every file of each target version the
    // plan did not read (what verification expects, and the digest of a rollback), so
    // nothing whole-version delays what customers get.
    let (ledger, listed) = futures::join!(
        Ledger::open(client, catalog, &plan.release),
        futures::future::join_all(plan.switches.iter().map(|s| async move {
            match (&s.to_files, &s.to_href) {
                (Some(files), _) => Ok(files.clone()),
                (None, Some(href)) => {
                    crate::state::version_files(client, opts.cache.as_ref(), href).await
                }
                (None, None) => Ok(Vec::new()),
            }
        }))
    );
    let ledger = ledger?;
    // The switches with what they now serve (its digest, and the diff if read just now).
    let mut unread = None;
    let switched: Vec<Switch> = plan
        .switches
        .iter()
        .zip(&listed)
        .zip(diffs)
        .map(|((s, files), diff)| Switch {
            digest: s
                .digest
                .clone()
                .or_else(|| files.as_deref().ok().map(digest)),
            diff: match diff {
                Ok(d) => d.or_else(|| s.diff.clone()),
                Err(e) => {
                    unread.get_or_insert(e);
                    Some(diff::diff(&[], &[]))
                }
            },
            ..s.clone()
        })
        .collect();
    let ok_events: Vec<Event> = switched
        .iter()
        .map(|s| event(s, Outcome::Ok, None))
        .collect();
    let mut expected: Vec<Vec<FileEntry>> = Vec::new();
    for files in listed {
        match files {
            Ok(f) => expected.push(f),
            Err(e) => {
                unread.get_or_insert(e);
                expected.push(Vec::new());
            }
        }
    }
    if let Some(e) = unread {
        // The switch is done: record it, then say it could not be verified.
        futures::future::try_join_all(ok_events.iter().map(|e| ledger.append(e, &opts.wait)))
            .await?;
        return Err(e);
    }
    let record =
        futures::future::try_join_all(ok_events.iter().map(|e| ledger.append(e, &opts.wait)));
    let customer = &opts.customer;
    let customer_url = |s: &Switch| {
        s.index_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .map(|u| customer.access.on_index_host(&u).to_string())
    };
    let verify =
        futures::future::join_all(switched.iter().zip(&expected).map(|(s, files)| async move {
            let no_diff = diff::diff(&[], &[]);
            let pages = pages_to_verify(opts.verify, files, s.diff.as_ref().unwrap_or(&no_diff));
            let r = match customer_url(s) {
                Some(u) => {
                    verify::verify_index(
                        &customer.client,
                        &u,
                        files,
                        pages.as_ref(),
                        opts.verify_timeout,
                        VERIFY_CONCURRENCY,
                    )
                    .await
                }
                None => Err(verify::VerifyError::NoBaseUrl {
                    distribution: s.distribution.clone(),
                }),
            };
            (s, r)
        }));
    let (recorded, checks) = futures::join!(record, verify);
    recorded?;
    let mut verified = BTreeMap::new();
    let mut pages_checked = BTreeMap::new();
    let mut failures = Vec::new();
    for (s, r) in checks {
        verified.insert(s.variant.clone(), r.is_ok());
        match r {
            Ok(n) => {
                pages_checked.insert(s.variant.clone(), n);
            }
            Err(why) => {
                ledger
                    .append(
                        &event(s, Outcome::VerifyFailed, Some(verify::chain(&why))),
                        &opts.wait,
                    )
                    .await?;
                failures.push((s.variant.clone(), why));
            }
        }
    }
    if !failures.is_empty() {
        return Err(Error::Verify(Box::new(verify::VerifyFailed {
            failures,
            settings_hint: customer.access.hint(),
        })));
    }
    let switches = switched
        .iter()
        .map(|s| Switch {
            index_url: customer_url(s),
            ..s.clone()
        })
        .collect();
    Ok(SwitchReport {
        kind: plan.kind,
        release: plan.release.clone(),
        switches,
        verified,
        verify: opts.verify,
        pages_checked,
    })
}

/// How much of the customer-facing index a switch reads back to verify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyScope {
    /// The root page (exactly the promoted projects), every project page the switch changes
    /// (exactly the promoted files and sha256), and a spread sample of up to
    /// [`UNCHANGED_SAMPLE`] unchanged pages. Takes about one task round trip on any index.
    #[default]
    Changed,
    /// The root page and every project page. Pulp's API server renders each page (about
    /// 50 ms of its time), so this takes seconds for an index with hundreds of projects.
    Full,
}

/// How many unchanged project pages [`VerifyScope::Changed`] reads as a spot check.
pub const UNCHANGED_SAMPLE: usize = 8;

/// The project pages a switch verifies: all of them, or the changed ones plus a sample.
pub fn pages_to_verify(
    scope: VerifyScope,
    expected: &[FileEntry],
    diff: &Diff,
) -> Option<BTreeSet<String>> {
    if scope == VerifyScope::Full {
        return None;
    }
    let changed: BTreeSet<String> = diff
        .projects
        .iter()
        .map(|c| c.project().to_owned())
        .collect();
    let unchanged: Vec<&String> = expected
        .iter()
        .map(|f| &f.project)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|p| !changed.contains(*p))
        .collect();
    // Spread evenly over the (sorted) unchanged projects.
    let k = unchanged.len().min(UNCHANGED_SAMPLE);
    let mut pages = changed;
    pages.extend((0..k).map(|i| unchanged[i * unchanged.len() / k].clone()));
    Some(pages)
}

/// Every promote/rollback (and vet) event of a release, oldest first (the ledger read through
/// `cache`, if any).
pub async fn history(
    client: &PulpClient,
    catalog: &Catalog,
    release: &str,
    variant: Option<&str>,
    cache: Option<&Cache>,
) -> Result<Vec<Event>> {
    catalog.release(release)?;
    if let Some(v) = variant {
        catalog.variant(release, v)?;
    }
    let ledger = Ledger::open(client, catalog, release).await?;
    Ok(ledger
        .events(cache)
        .await?
        .into_iter()
        .filter(|e| variant.is_none_or(|v| e.variant == v))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_order_independent() {
        let a = FileEntry {
            project: "a".into(),
            version: "1".into(),
            filename: "a-1.whl".into(),
            sha256: "x".into(),
        };
        let b = FileEntry {
            project: "b".into(),
            version: "1".into(),
            filename: "b-1.whl".into(),
            sha256: "y".into(),
        };
        assert_eq!(
            digest(&[a.clone(), b.clone()]),
            digest(&[b.clone(), a.clone()])
        );
        let b2 = FileEntry {
            sha256: "z".into(),
            ..b
        };
        assert_ne!(digest(&[a.clone(), b2]), digest(&[a]));
    }

    fn files(projects: impl IntoIterator<Item = String>) -> Vec<FileEntry> {
        projects
            .into_iter()
            .map(|p| FileEntry {
                filename: format!("{p}-1.0-py3-none-any.whl"),
                project: p,
                version: "1.0".into(),
                sha256: "ab".repeat(32),
            })
            .collect()
    }

    #[test]
    fn full_reads_every_page() {
        let f = files(["a".to_owned()]);
        assert_eq!(
            pages_to_verify(VerifyScope::Full, &f, &diff::diff(&[], &f)),
            None
        );
    }

    #[test]
    fn changed_reads_the_changed_pages_and_an_even_sample() {
        let from = files((0..100).map(|i| format!("p{i:03}")));
        let mut to = from.clone();
        to.retain(|f| f.project != "p050");
        to.extend(files(["new".to_owned()]));
        let pages = pages_to_verify(VerifyScope::Changed, &to, &diff::diff(&from, &to)).unwrap();
        // Both changes (the removed project's page must be gone) plus 8 of the 99 others.
        assert!(pages.contains("p050") && pages.contains("new"));
        assert_eq!(pages.len(), 2 + UNCHANGED_SAMPLE, "{pages:?}");
        assert!(pages.contains("p000"), "the sample starts at the first");
        assert!(
            pages.iter().any(|p| p.as_str() > "p080"),
            "and spreads to the end: {pages:?}"
        );

        // Small indexes are read whole.
        let small = files((0..5).map(|i| format!("s{i}")));
        let pages =
            pages_to_verify(VerifyScope::Changed, &small, &diff::diff(&small, &small)).unwrap();
        assert_eq!(pages.len(), 5);
    }
}
