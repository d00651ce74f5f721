//! wheelgate's operations on top of the Pulp client: the catalog, `init`, `upload`, `status`,
//! `diff`, `vet`, `promote`/`rollback`/`history` and `prune`. Never prints; reports through
//! return values and reporter traits so the CLI decides how things look.

pub mod access;
pub mod actor;
pub mod cache;
pub mod catalog;
pub mod client_config;
pub mod connection;
pub mod customer;
pub mod diff;
pub mod error;
pub mod findings;
pub mod front_config;
pub mod init;
pub mod labels;
pub mod ledger;
pub mod lookup;
pub mod mirror;
pub mod promote;
pub mod prune;
pub mod state;
pub mod status;
pub mod time;
pub mod upload;
pub mod verify;
pub mod vet;

pub use catalog::{Catalog, CatalogError, Names};
pub use error::{Error, ErrorClass, Result};
