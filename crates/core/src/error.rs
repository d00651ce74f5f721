//! Errors of wheelgate operations, each with the exit code class it maps to.

use pulp_client::ClientError;
use wheelgate_wheel::Problem;

use crate::catalog::CatalogError;

/// How an error ends the command (documented exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 1: the operation failed (server, network, task).
    Failed,
    /// 2: usage error or invalid input; nothing was changed.
    Invalid,
    /// 3: refused by policy.
    Refused,
}

impl ErrorClass {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Invalid => 2,
            Self::Refused => 3,
        }
    }
}

/// An error of a wheelgate operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog is missing or wrong.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Talking to Pulp failed.
    #[error(transparent)]
    Pulp(Box<ClientError>),
    /// Input files are invalid; nothing was uploaded.
    #[error("{} problem{} found; nothing was uploaded:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, render(problems))]
    InvalidInput {
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// The Pulp objects of a release/variant do not exist yet.
    #[error("{what} {name:?} does not exist; run `wheelgate init --release {release}` first")]
    NotInitialized {
        /// Kind of object.
        what: &'static str,
        /// Its name.
        name: String,
        /// The release.
        release: String,
    },
    /// No Pulp object of the release exists: `init` was never run for it.
    #[error("release {release} is not initialised: none of its Pulp objects exist; run `wheelgate init --release {release}` first")]
    ReleaseNotInitialized {
        /// The release.
        release: String,
    },
    /// A staging version that does not exist (never made, or pruned).
    #[error("{repository} has no version {version}")]
    NoSuchVersion {
        /// The staging repository.
        repository: String,
        /// The version asked for.
        version: u64,
    },
    /// A usage error found by the library (bad build id, ...).
    #[error("{0}")]
    Usage(String),
    /// Reading local files failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Pulp's state is not what wheelgate expects (someone changed it behind our back).
    #[error("{0}")]
    Inconsistent(String),
    /// Refused by policy (unvetted version, stale `--expect-current`, ...); nothing changed.
    #[error("{0}")]
    Refused(String),
    /// A production switch failed (what was switched back is in the message).
    #[error("{0}")]
    Switch(String),
    /// Production was switched but the customer-facing index does not match or cannot be read.
    #[error(transparent)]
    Verify(Box<crate::verify::VerifyFailed>),
    /// The customer path's certificate or CA files cannot be used; nothing was changed.
    #[error(
        "cannot read the index as customers do: the TLS settings of the customer path are unusable"
    )]
    CustomerSetup {
        /// Why (the file and the problem).
        #[source]
        source: wheelgate_index::SetupError,
        /// Which settings decide the customer path.
        hint: &'static str,
    },
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        Self::Pulp(Box::new(e))
    }
}

impl Error {
    /// The exit code class.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Catalog(_)
            | Error::InvalidInput { .. }
            | Error::NotInitialized { .. }
            | Error::ReleaseNotInitialized { .. }
            | Error::NoSuchVersion { .. }
            | Error::Usage(_) => ErrorClass::Invalid,
            Error::Pulp(e) => match e.as_ref() {
                ClientError::Config(_) => ErrorClass::Invalid,
                _ => ErrorClass::Failed,
            },
            Error::Io { .. } | Error::CustomerSetup { .. } => ErrorClass::Invalid,
            Error::Inconsistent(_) | Error::Switch(_) | Error::Verify(_) => ErrorClass::Failed,
            Error::Refused(_) => ErrorClass::Refused,
        }
    }

    /// A hint for the user, when there is an obvious next step.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Pulp(e) => match e.as_ref() {
                ClientError::Auth { .. } => Some("check the credentials: --username/--password (PULP_USERNAME/PULP_PASSWORD), --token (PULP_TOKEN), --client-id/--client-secret (PULP_CLIENT_ID/PULP_CLIENT_SECRET), a client certificate (--cert), or the pulp-cli profile".into()),
                ClientError::Transport { source, .. } if source.failure.is_certificate_problem() => Some(
                    "check the Pulp connection's TLS settings: --ca-bundle (PULP_CA_BUNDLE) to trust the server, --cert/--key (PULP_CERT/PULP_KEY) for a client certificate".into(),
                ),
                ClientError::Transport { .. } => Some("is Pulp reachable at --base-url? (`make pulp-up` starts a local one)".into()),
                _ => None,
            },
            Error::Verify(v) => v.hint(),
            Error::CustomerSetup { source, hint } => Some(match source.hint() {
                Some(h) => format!("{h}; {hint}"),
                None => (*hint).to_owned(),
            }),
            _ => None,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
