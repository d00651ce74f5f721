//! A client for Python simple indexes as customers (pip, uv) see them: PEP 503 HTML, PEP 691
//! JSON, PEP 658/714 metadata files, client certificates, downloads checked by sha256.
//!
//! Knows HTTP and the packaging standards, nothing of Pulp's admin API. Names are normalised
//! once, with `uv-normalize`'s [`PackageName`].

mod cert;
mod client;
mod error;
mod html;
mod json;
mod model;
mod parse;

pub use cert::{
    find_entitlement, write_client_pem, write_combined, CertError, Entitlement,
    DEFAULT_ENTITLEMENT_DIR,
};
pub use client::{Downloaded, IndexClient, IndexConfig};
pub use error::{DecodeError, IndexError, SetupError};
pub use model::{same_etag, IndexFile, PageFormat, ProjectList, ProjectPage, RootRevalidation};
pub use parse::{parse_project_page, parse_root_page};
pub use uv_normalize::PackageName;
pub use uv_pypi_types::{CoreMetadata, Hashes, Yanked};
pub use wheelgate_http::TlsSettings;
