//! `cronAdd` jobs on the app's real scheduler: after every (re)load the
//! current generation's jobs are (re)registered with `App::cron`, so they
//! tick with the built-in jobs, show in `GET /api/crons` and run with
//! `POST /api/crons/{id}`. Ids a reload dropped (`cronRemove`, a deleted
//! file) are removed from the scheduler.
//!
//! Hook jobs sit in the scheduler's overlay (`Scheduler::shadow`): as in
//! PocketBase, a hook job with a built-in job's id replaces it and a
//! `cronRemove` of one removes it; unlike PocketBase, which restarts on
//! every hook change, Cairn reloads in-process, so the built-in job comes
//! back when the hook that replaced it is gone. `__pbLogsCleanup__` and
//! `__pbAutoBackup__` follow the settings: PocketBase registers them again
//! after loading the hooks, so a hook cannot change them there either.
//!
//! Jobs hold a `Weak<App>` and look the hooks up when they fire, so a job
//! always runs the handler of the generation current at that moment.

use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;

use crate::app::App;

/// Jobs PocketBase re-registers from the settings after the hooks load.
const SETTINGS_JOBS: [&str; 2] = [crate::ops::LOGS_CLEANUP, crate::ops::AUTO_BACKUP];

/// Applies the files' cron registrations (ordered adds and removes) in
/// file order, as PocketBase's single scheduler sees them. Returns the
/// handler table of the jobs in effect, their `(id, expression)` and the
/// ids removed without being added again.
pub fn apply<'a>(
    files: impl Iterator<Item = &'a Value>,
) -> (Vec<Value>, Vec<(String, String)>, Vec<String>) {
    let mut active: Vec<Value> = Vec::new();
    let mut hidden: Vec<String> = Vec::new();
    for op in files.filter_map(|f| f["crons"].as_array()).flatten() {
        let id = op["id"].as_str().unwrap_or_default();
        active.retain(|c| c["id"].as_str() != Some(id));
        hidden.retain(|h| h != id);
        if op["remove"].as_bool() == Some(true) {
            hidden.push(id.to_owned());
        } else {
            active.push(op.clone());
        }
    }
    let jobs = active
        .iter()
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (field("id"), field("expr"))
        })
        .collect();
    (active, jobs, hidden)
}

/// What a `Hooks` needs to keep the scheduler in step.
pub struct CronSync {
    app: Weak<App>,
    /// The ids this module registered or hid last time.
    registered: Mutex<Vec<String>>,
}

impl CronSync {
    pub fn new(app: Weak<App>) -> Self {
        Self {
            app,
            registered: Mutex::new(Vec::new()),
        }
    }

    /// Registers `jobs` (`(id, expression)`), hides `hidden`, and drops
    /// the entries of the previous sync that are gone (a built-in job they
    /// replaced or hid is back). A bad expression is logged and its job
    /// left out (the loader already refuses such files).
    pub fn sync(&self, jobs: &[(String, String)], hidden: &[String]) {
        let Some(app) = self.app.upgrade() else {
            return;
        };
        let Ok(mut registered) = self.registered.lock() else {
            return;
        };
        let kept = |id: &String| jobs.iter().any(|(j, _)| j == id) || hidden.contains(id);
        for old in registered.iter().filter(|id| !kept(id)) {
            app.cron.unshadow(old);
        }
        registered.clear();
        let settings_job = |id: &str| {
            let owned = SETTINGS_JOBS.contains(&id);
            if owned {
                tracing::warn!(job = %id, "pb_hooks: this job follows the settings (as in PocketBase); the hook's cronAdd/cronRemove is ignored");
            }
            owned
        };
        for id in hidden.iter().filter(|id| !settings_job(id)) {
            app.cron.hide(id);
            registered.push(id.clone());
        }
        for (id, expr) in jobs.iter().filter(|(id, _)| !settings_job(id)) {
            let weak = Arc::downgrade(&app);
            let job_id = id.clone();
            let res = app.cron.shadow(id, expr, move || {
                let (weak, id) = (weak.clone(), job_id.clone());
                async move {
                    let Some(hooks) = weak.upgrade().and_then(|a| a.hooks.get().cloned()) else {
                        return Ok(());
                    };
                    hooks.run_cron(&id).await
                }
            });
            match res {
                Ok(()) => registered.push(id.clone()),
                Err(e) => {
                    app.cron.unshadow(id);
                    tracing::error!(job = %id, expression = %expr, error = %e.0, "pb_hooks: cronAdd not scheduled")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_files_replace_and_remove_earlier_jobs() {
        let a = json!({"crons": [
            {"id": "keep", "expr": "@daily", "handler": {"src": "a"}},
            {"id": "gone", "expr": "@daily", "handler": {"src": "a"}},
            {"id": "__pbDBOptimize__", "remove": true},
        ]});
        let b = json!({"crons": [
            {"id": "keep", "expr": "0 1 * * *", "handler": {"src": "b"}},
            {"id": "gone", "remove": true},
            {"id": "__pbMFACleanup__", "remove": true},
            {"id": "__pbMFACleanup__", "expr": "@hourly", "handler": {"src": "b"}},
        ]});
        let (table, jobs, hidden) = apply([&a, &b].into_iter());
        assert_eq!(
            jobs,
            vec![
                ("keep".to_owned(), "0 1 * * *".to_owned()),
                ("__pbMFACleanup__".to_owned(), "@hourly".to_owned()),
            ]
        );
        assert_eq!(table[0]["handler"]["src"], "b");
        assert_eq!(
            hidden,
            vec!["__pbDBOptimize__".to_owned(), "gone".to_owned()]
        );
    }
}
