//! Counters for the health endpoint and the run summary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::vapi::{Form, SessionId};

/// Distinct missed ids kept for the summary; a client asking for endless new ids must not
/// grow memory without bound. The miss count keeps counting.
pub const MAX_MISSED_IDS: usize = 1000;

/// What happened in this run. Shared by the services; cheap to update.
#[derive(Debug, Default)]
pub struct Stats {
    by_form: [AtomicU64; Form::ALL.len()],
    hits: AtomicU64,
    misses: AtomicU64,
    missed_ids: Mutex<BTreeSet<String>>,
    recordings: AtomicU64,
    written: Mutex<BTreeSet<String>>,
    /// Upstream connections opened (record mode); shared with the upstream connector.
    pub upstream_connections: Arc<AtomicU64>,
}

impl Stats {
    pub fn new() -> Arc<Self> {
        Arc::new(Stats::default())
    }

    pub fn request(&self, form: Form) {
        let index = Form::ALL
            .iter()
            .position(|known| *known == form)
            .expect("every form is in Form::ALL");
        self.by_form[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn miss(&self, id: &SessionId) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        let mut missed = self.missed_ids.lock().expect("never poisoned");
        if missed.len() < MAX_MISSED_IDS {
            missed.insert(id.to_string());
        }
    }

    pub fn recorded(&self, id: &SessionId) {
        self.recordings.fetch_add(1, Ordering::Relaxed);
        self.written
            .lock()
            .expect("never poisoned")
            .insert(id.to_string());
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn health(&self, mode: &'static str, cassettes: usize) -> Health {
        Health {
            mode,
            cassettes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses(),
            recordings: self.recordings.load(Ordering::Relaxed),
            upstream_connections: self.upstream_connections.load(Ordering::Relaxed),
        }
    }

    /// The run summary; `unused` are the cassettes no request was answered from.
    pub fn summary(&self, health: Health, unused: Vec<String>) -> Summary {
        let requests_by_form = Form::ALL
            .iter()
            .zip(&self.by_form)
            .map(|(form, count)| (form.label(), count.load(Ordering::Relaxed)))
            .collect();
        Summary {
            health,
            requests_by_form,
            missed_ids: self
                .missed_ids
                .lock()
                .expect("never poisoned")
                .iter()
                .cloned()
                .collect(),
            unused_cassettes: unused,
            cassettes_written: self
                .written
                .lock()
                .expect("never poisoned")
                .iter()
                .cloned()
                .collect(),
        }
    }
}

/// The body of `GET /__dsvcr/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    pub mode: &'static str,
    pub cassettes: usize,
    pub hits: u64,
    pub misses: u64,
    pub recordings: u64,
    pub upstream_connections: u64,
}

/// The run summary written at shutdown (`--summary FILE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub health: Health,
    /// Download-session gets per request form (`A`, `B`, `C/json`, `C/xml`, `C/query`, `D`).
    pub requests_by_form: BTreeMap<&'static str, u64>,
    /// The distinct ids that missed (at most [`MAX_MISSED_IDS`]).
    pub missed_ids: Vec<String>,
    pub unused_cassettes: Vec<String>,
    pub cassettes_written: Vec<String>,
}
