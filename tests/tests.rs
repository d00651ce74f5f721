//! End-to-end tests of the `wheelgate` binary against the real local Pulp (`make pulp-up`),
//! in both layouts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[macro_use]
mod util;

mod access;
mod builds;
mod cache;
mod cli;
mod connection;
mod customer;
mod customer_image;
mod customer_install;
mod customer_notebook;
mod help;
mod init_status;
mod invalid;
mod mirror;
mod mirror_sync;
mod mirror_verify;
mod release;
mod upload;
