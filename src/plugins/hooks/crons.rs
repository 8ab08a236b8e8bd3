//! `cronAdd` jobs on the app's real scheduler: after every (re)load the
//! current generation's jobs are (re)registered with `App::cron`, so they
//! tick with the built-in jobs, show in `GET /api/crons` and run with
//! `POST /api/crons/{id}`. Ids a reload dropped (`cronRemove`, a deleted
//! file) are removed from the scheduler.
//!
//! Jobs hold a `Weak<App>` and look the hooks up when they fire, so a job
//! always runs the handler of the generation current at that moment.

use std::sync::{Arc, Mutex, Weak};

use crate::app::App;

/// What a `Hooks` needs to keep the scheduler in step.
pub struct CronSync {
    app: Weak<App>,
    /// The ids this module registered last time.
    registered: Mutex<Vec<String>>,
}

impl CronSync {
    pub fn new(app: Weak<App>) -> Self {
        Self {
            app,
            registered: Mutex::new(Vec::new()),
        }
    }

    /// Registers `jobs` (`(id, expression)`) and removes the ids of the
    /// previous sync that are gone. A bad expression is logged and its job
    /// left out, like a file that fails to load.
    pub fn sync(&self, jobs: &[(String, String)]) {
        let Some(app) = self.app.upgrade() else {
            return;
        };
        let Ok(mut registered) = self.registered.lock() else {
            return;
        };
        for old in registered.iter() {
            if !jobs.iter().any(|(id, _)| id == old) {
                app.cron.remove(old);
            }
        }
        registered.clear();
        for (id, expr) in jobs {
            let weak = Arc::downgrade(&app);
            let job_id = id.clone();
            let res = app.cron.add(id, expr, move || {
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
                    tracing::error!(job = %id, expression = %expr, error = %e.0, "pb_hooks: cronAdd not scheduled")
                }
            }
        }
    }
}
