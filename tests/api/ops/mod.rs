//! Operations (issue 13): backups under write load, restore into the
//! running server, the metrics token.

mod backups;
mod logs;
mod metrics;
