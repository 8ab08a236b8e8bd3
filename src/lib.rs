//! Cairn: a self-hosted, PocketBase-compatible backend in one binary.
//!
//! Layers, with dependencies pointing down only (see docs/ARCHITECTURE.md):
//!
//! - [`cli`] and [`app`]: commands, startup and graceful shutdown.
//! - [`http`]: the one route table, extractors, and the single place errors
//!   become PocketBase's JSON.
//! - [`service`]: use-cases (records, collections, auth, settings).
//! - [`store`]: SQLite — one writer thread with group commit, a reader pool,
//!   DDL, the change log. The only module that writes SQL text.
//! - [`schema`]: pure values (collections, fields, validation); no I/O.

pub mod app;
pub mod cli;
pub mod config;
pub mod filter;
pub mod http;
pub mod json_text;
pub mod mail;
pub mod ops;
pub mod plugins;
pub mod realtime;
pub mod schema;
pub mod service;
pub mod store;
pub mod urlencoded;
