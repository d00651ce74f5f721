//! A task's state, on its own so that errors can name it without depending on the task
//! machinery (which depends on the errors).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A task's state. Unknown states from newer servers are kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Queued.
    Waiting,
    /// Skipped.
    Skipped,
    /// Running.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Canceled.
    Canceled,
    /// Being canceled.
    Canceling,
    /// A state this client does not know.
    Unknown(String),
}

impl TaskState {
    /// Whether the task will not change state again.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::Skipped
        )
    }

    fn as_str(&self) -> &str {
        match self {
            Self::Waiting => "waiting",
            Self::Skipped => "skipped",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Canceling => "canceling",
            Self::Unknown(s) => s,
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for TaskState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "waiting" => Self::Waiting,
            "skipped" => Self::Skipped,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            "canceling" => Self::Canceling,
            _ => Self::Unknown(s),
        }
    }
}

impl<'de> Deserialize<'de> for TaskState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(String::deserialize(d)?.into())
    }
}

impl Serialize for TaskState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
