//! Operations (issue 13): backups under write load, restore into the
//! running server, the log queue, cron runs.

mod backups;
