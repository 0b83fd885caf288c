//! The live sessions by token, with their least recently used one found in logarithmic
//! time: a login at the bound must not scan every session (a login flood would pay
//! thousands of comparisons per login).
//!
//! A min-heap holds each session's token under a stamp no later than its last use. The
//! least recently used session is found by popping: an entry whose session was used
//! since it was stamped goes back in under its last use; one whose session is gone is
//! dropped; the first whose stamp is its session's last use is the least recently used
//! (every other stamp is at least as late, and no session's last use is earlier than its
//! stamp). Using a session costs nothing here; each re-stamp pays for uses since.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// A session's last use, which orders eviction.
pub(super) trait LastUsed {
    fn last_used(&self) -> Instant;
}

/// Sessions by token, bounded by the caller through [`ByAge::make_room`].
pub(super) struct ByAge<V> {
    sessions: HashMap<String, (V, u64)>,
    by_age: BinaryHeap<Reverse<(Instant, u64, String)>>,
    next: u64,
}

impl<V> Default for ByAge<V> {
    fn default() -> Self {
        ByAge {
            sessions: HashMap::new(),
            by_age: BinaryHeap::new(),
            next: 0,
        }
    }
}

impl<V: LastUsed> ByAge<V> {
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.sessions.len()
    }

    pub(super) fn get_mut(&mut self, token: &str) -> Option<&mut V> {
        self.sessions.get_mut(token).map(|(session, _)| session)
    }

    pub(super) fn remove(&mut self, token: &str) -> Option<V> {
        let removed = self.sessions.remove(token).map(|(session, _)| session);
        self.compact();
        removed
    }

    pub(super) fn insert(&mut self, token: String, session: V) {
        let id = self.next;
        self.next += 1;
        self.by_age
            .push(Reverse((session.last_used(), id, token.clone())));
        self.sessions.insert(token, (session, id));
    }

    /// Drops sessions until fewer than `max` live: the least recently used first, which
    /// are also the expired ones (expiry is by last use), so an expired session always
    /// goes before a live one.
    pub(super) fn make_room(&mut self, max: usize) {
        while self.sessions.len() >= max.max(1) {
            let Some(Reverse((stamp, id, token))) = self.by_age.pop() else {
                return;
            };
            let Some((session, current)) = self.sessions.get(&token) else {
                continue;
            };
            if *current != id {
                continue;
            }
            let last_used = session.last_used();
            if last_used > stamp {
                self.by_age.push(Reverse((last_used, id, token)));
            } else {
                self.sessions.remove(&token);
            }
        }
    }

    /// Rebuilds the heap when entries of removed sessions outnumber the live ones, so
    /// that logins and logouts that never reach the bound do not grow it.
    fn compact(&mut self) {
        if self.by_age.len() <= 2 * self.sessions.len() + 64 {
            return;
        }
        self.by_age = self
            .sessions
            .iter()
            .map(|(token, (session, id))| Reverse((session.last_used(), *id, token.clone())))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct At(Instant);

    impl LastUsed for At {
        fn last_used(&self) -> Instant {
            self.0
        }
    }

    #[test]
    fn the_least_recently_used_goes_first_even_when_used_after_it_was_queued() {
        let start = Instant::now();
        let at = |secs: u64| At(start + Duration::from_secs(secs));
        let mut sessions = ByAge::default();
        sessions.insert("a".into(), at(0));
        sessions.insert("b".into(), at(1));
        sessions.insert("c".into(), at(2));
        sessions.get_mut("a").unwrap().0 = start + Duration::from_secs(5);
        sessions.insert("d".into(), at(3));
        sessions.make_room(4);
        assert!(sessions.get_mut("b").is_none(), "b was used least recently");
        sessions.make_room(3);
        assert!(sessions.get_mut("c").is_none());
        sessions.make_room(2);
        assert!(sessions.get_mut("d").is_none(), "d (3 s) before a (5 s)");
        assert!(sessions.get_mut("a").is_some());
    }

    #[test]
    fn logins_and_logouts_below_the_bound_keep_the_heap_small() {
        let mut sessions = ByAge::default();
        for n in 0..10_000 {
            let token = format!("t{n}");
            sessions.insert(token.clone(), At(Instant::now()));
            sessions.remove(&token);
        }
        assert_eq!(sessions.len(), 0);
        assert!(sessions.by_age.len() <= 65, "{}", sessions.by_age.len());
    }
}
