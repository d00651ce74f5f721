//! A typed async client for the Pulp REST API (pulpcore + pulp_python).
//!
//! It knows Pulp, not wheelgate: repositories and their immutable versions, python content,
//! chunked uploads, distributions, content guards, remotes, tasks, labels and domains, in
//! the plain layout (`/pulp/api/v3/`) and the hosted one (`/api/pulp/<domain>/api/v3/`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), pulp_client::ClientError> {
//! use pulp_client::{ConnectionSettings, PulpClient};
//! let settings = ConnectionSettings {
//!     base_url: Some("http://127.0.0.1:24817".into()),
//!     ..Default::default()
//! };
//! let client = PulpClient::new(settings.into_config()?)?;
//! let status = client.status().await?;
//! println!("pulpcore {}", status.component("core").unwrap_or("?"));
//! # Ok(()) }
//! ```

mod client;
pub mod config;
mod content;
mod distributions;
mod domains;
pub mod error;
mod files;
mod guards;
pub mod hrefs;
mod labels;
mod remotes;
mod repositories;
mod status;
mod task_state;
pub mod tasks;
mod transport;
mod uploads;

pub use client::{AsyncOperation, Change, PulpClient};
pub use config::{
    Auth, ClientConfig, ConnectionSettings, PulpCliConfig, PulpCliSelection, RetryConfig, Secret,
};
pub use content::{
    filename_batches, name_batches, Artifact, Package, PackageQuery, FILENAME_BATCH,
    FILENAME_LOOKUPS_IN_FLIGHT, FILENAME_QUERY_BYTES, NAME_BATCH,
};
pub use distributions::{Distribution, NewDistribution, Serves};
pub use domains::Domain;
pub use error::{ApiErrorBody, ClientError, ConfigError, Result, TaskError, UploadError};
pub use files::{AddedFile, Between, FileChanges, FileContent, FileRepository};
pub use guards::{ContentGuard, GuardKind};
pub use hrefs::*;
pub use remotes::{HiddenField, NewRemote, Remote};
pub use repositories::{
    ContentCount, ContentSummary, Modify, ModifyOutcome, Repository, RepositoryFields,
    RepositoryVersion, SyncOutcome,
};
pub use status::{ComponentVersion, Status};
pub use tasks::{Task, TaskQuery, TaskState, WaitOptions};
pub use transport::page::Page;
pub use transport::request::{ApiRequest, ApiResponse, Idempotency, RequestBody};
pub use transport::retry::AttemptError;
pub use transport::session::SessionMode;
pub use uploads::{
    choose_transfer, predicted_secs, ByteProgress, ChunkedOptions, ChunkedUpload, Measuring,
    NoProgress, PackageFile, PackageUpload, PackageUploadOptions, Throughput, Transfer,
    TransferContext, TransferPolicy, Upload, DEFAULT_PRIOR_BYTES_PER_SEC,
    DEFAULT_REQUEST_TIME_LIMIT, DEFAULT_SYNC_SHARE, MIN_SAMPLE_BYTES,
};
pub use wheelgate_http::{
    classify_status, classify_transport, RetryDecision, TransportError, TransportFailure,
};
