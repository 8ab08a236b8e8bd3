#![allow(clippy::unwrap_used)]

//! Black-box tests against the real server on port 0.
//!
//! One test binary; modules mirror the routes. Each test spawns its own
//! server on a fresh data directory.

mod helpers;

mod injection;

mod access;
mod auth;
mod changes;
mod collections;
mod password_cost;
mod perf;
mod realtime;
mod records;
mod rules;
mod superusers;
