//! Tasks: Pulp's long-running operations, and waiting on them.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

use crate::client::{Change, PulpClient};
use crate::error::{Result, TaskError};
use crate::hrefs::{DistributionHref, PackageHref, RepositoryVersionHref, Resource, TaskHref};
pub use crate::task_state::TaskState;
use crate::transport::request::ApiRequest;

/// A Pulp task.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Task {
    /// Its href.
    pub pulp_href: TaskHref,
    /// The Python function Pulp runs.
    #[serde(default)]
    pub name: String,
    /// Current state.
    pub state: TaskState,
    /// Hrefs of what the task created (e.g. a new repository version).
    #[serde(default)]
    pub created_resources: Vec<Option<String>>,
    /// Pulp's error object when failed.
    #[serde(default)]
    pub error: Option<Value>,
    /// Resources the task locked.
    #[serde(default)]
    pub reserved_resources_record: Vec<String>,
    /// When it was created.
    #[serde(default)]
    pub pulp_created: Option<String>,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<String>,
}

impl Task {
    /// The created resources, without the nulls Pulp sometimes reports.
    pub fn created(&self) -> impl Iterator<Item = &str> {
        self.created_resources.iter().flatten().map(String::as_str)
    }

    /// The created resources, sorted by kind.
    pub fn created_resources(&self) -> impl Iterator<Item = Resource> + '_ {
        self.created().map(Resource::parse)
    }

    /// The repository version the task created, if any.
    pub fn created_version(&self) -> Option<RepositoryVersionHref> {
        self.created_resources().find_map(|r| match r {
            Resource::RepositoryVersion(v) => Some(v),
            _ => None,
        })
    }

    /// The python package the task created (or found already present), if any.
    pub fn created_package(&self) -> Option<PackageHref> {
        self.created_resources().find_map(|r| match r {
            Resource::Package(p) => Some(p),
            _ => None,
        })
    }

    /// The distribution the task created, if any.
    pub fn created_distribution(&self) -> Option<DistributionHref> {
        self.created_resources().find_map(|r| match r {
            Resource::Distribution(d) => Some(d),
            _ => None,
        })
    }

    /// Turn a final non-completed task into its error.
    pub fn into_error(self) -> Option<TaskError> {
        match self.state {
            TaskState::Failed => {
                let err = self.error.unwrap_or(Value::Null);
                let description = err
                    .get("description")
                    .map(|d| match d {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|| "no description".into());
                let code = err
                    .get("error_code")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Some(TaskError::Failed {
                    href: self.pulp_href,
                    name: self.name,
                    description,
                    code,
                    error: err,
                })
            }
            TaskState::Canceled | TaskState::Canceling => Some(TaskError::Canceled {
                href: self.pulp_href,
                name: self.name,
            }),
            _ => None,
        }
    }
}

/// How to wait for a task.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// First poll interval.
    pub initial_interval: Duration,
    /// Largest poll interval.
    pub max_interval: Duration,
    /// Give up after this long (the task keeps running; see [`TaskError::Timeout`]).
    pub timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(50),
            max_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl WaitOptions {
    /// Defaults with another timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }
}

/// Filters for listing tasks.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    /// Tasks that locked this resource href.
    pub reserved_resources: Option<String>,
    /// Tasks in this state.
    pub state: Option<String>,
    /// Tasks with this name.
    pub name: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

impl PulpClient {
    /// Send a change (PATCH/DELETE/...) and, when Pulp answers with a task, wait for it.
    pub async fn apply_change(&self, req: ApiRequest, wait: &WaitOptions) -> Result<Change> {
        let (change, _) = self.request_change(req).await?;
        if let Change::Task(t) = &change {
            self.wait_task(t, wait).await?;
        }
        Ok(change)
    }

    /// Get a task.
    pub async fn task(&self, href: &TaskHref) -> Result<Task> {
        self.get_json(self.href_url(href.as_str())?).await
    }

    /// Poll a task until it is final, with a growing interval, within `opts.timeout`.
    /// Returns the completed task; failed, canceled and timed-out are distinct errors.
    pub async fn wait_task(&self, href: &TaskHref, opts: &WaitOptions) -> Result<Task> {
        let span = tracing::debug_span!("wait_task", task = %href);
        self.wait_task_inner(href, opts).instrument(span).await
    }

    async fn wait_task_inner(&self, href: &TaskHref, opts: &WaitOptions) -> Result<Task> {
        let start = Instant::now();
        let mut interval = opts.initial_interval;
        loop {
            let task = self.task(href).await?;
            match task.state {
                TaskState::Completed | TaskState::Skipped => {
                    tracing::debug!(elapsed_ms = start.elapsed().as_millis() as u64, name = %task.name, "task completed");
                    return Ok(task);
                }
                TaskState::Failed | TaskState::Canceled => {
                    let name = task.name.clone();
                    return Err(task
                        .into_error()
                        .unwrap_or(TaskError::Canceled {
                            href: href.clone(),
                            name,
                        })
                        .into());
                }
                _ => {}
            }
            let waited = start.elapsed();
            if waited >= opts.timeout {
                return Err(TaskError::Timeout {
                    href: href.clone(),
                    name: task.name,
                    waited,
                    state: task.state,
                }
                .into());
            }
            let sleep = interval.min(opts.timeout.saturating_sub(waited));
            tokio::time::sleep(sleep).await;
            interval = interval.mul_f32(1.5).min(opts.max_interval);
        }
    }

    /// Ask Pulp to cancel a task. A task already final answers 409: reported as an error.
    pub async fn cancel_task(&self, href: &TaskHref) -> Result<Task> {
        let req = ApiRequest::new(Method::PATCH, self.href_url(href.as_str())?)
            .json(&serde_json::json!({"state": "canceled"}))?;
        self.request_json(req).await
    }

    /// List tasks, newest first.
    pub async fn list_tasks(&self, query: &TaskQuery) -> Result<Vec<Task>> {
        let mut pairs: Vec<(&str, String)> = vec![("ordering", "-pulp_created".into())];
        if let Some(r) = &query.reserved_resources {
            pairs.push(("reserved_resources", r.clone()));
        }
        if let Some(s) = &query.state {
            pairs.push(("state", s.clone()));
        }
        if let Some(n) = &query.name {
            pairs.push(("name", n.clone()));
        }
        pairs.push(("limit", query.limit.unwrap_or(100).to_string()));
        let url = self.api_url("tasks/").await?;
        let req = ApiRequest::new(Method::GET, url).query(&pairs);
        let page: crate::Page<Task> = self.request_json(req).await?;
        Ok(page.results)
    }

    /// Send a request that starts a task and wait for it.
    pub async fn run_task(&self, req: ApiRequest, opts: &WaitOptions) -> Result<Task> {
        let href = self.request_task(req).await?;
        self.wait_task(&href, opts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_states_are_kept() {
        let t: Task = serde_json::from_value(serde_json::json!({
            "pulp_href": "/pulp/api/v3/tasks/1/",
            "name": "x",
            "state": "hibernating",
        }))
        .unwrap();
        assert_eq!(t.state, TaskState::Unknown("hibernating".into()));
        assert!(!t.state.is_final());
        assert_eq!(t.state.to_string(), "hibernating");
    }

    #[test]
    fn failed_task_becomes_typed_error() {
        let t: Task = serde_json::from_value(serde_json::json!({
            "pulp_href": "/pulp/api/v3/tasks/9/",
            "name": "pulpcore.app.tasks.base.general_create",
            "state": "failed",
            "created_resources": [null],
            "error": {"description": "The uploaded file's sha256 does not match", "error_code": "PLP0001", "traceback": "..."},
        }))
        .unwrap();
        assert_eq!(t.created().count(), 0);
        let err = t.into_error().unwrap();
        let msg = err.to_string();
        assert!(msg.contains("/pulp/api/v3/tasks/9/"), "{msg}");
        assert!(msg.contains("sha256 does not match"), "{msg}");
        assert!(msg.contains("PLP0001"), "{msg}");
    }
}
