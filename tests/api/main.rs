#![allow(clippy::unwrap_used)]

//! Black-box tests against the real server on port 0.
//!
//! One test binary; modules mirror the routes. Each test spawns its own
//! server on a fresh data directory.

mod helpers;
mod sse;

mod injection;

mod access;
#[cfg(target_os = "linux")]
mod allocator;
mod auth;
mod bodies;
mod changes;
mod collections;
mod middleware;
mod migrations;
mod ops;
mod password_cost;
mod perf;
mod realtime;
mod realtime_auth;
mod realtime_resume;
mod records;
mod records_import;
mod rules;
mod server_limits;
mod superusers;
mod totp;
