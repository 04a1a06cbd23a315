//! The repository's cache of aggregate states: two generations, the states shared.

use std::collections::HashMap;
use std::sync::Arc;

use domain::Aggregate;
use events::AggregateId;

use super::Repository;
use crate::log::EventLog;

/// States of recently used aggregates with their versions.
///
/// Two generations bound the memory: new entries go to `hot`; when `hot` is full it
/// becomes `cold` and the old `cold` is dropped. A hit in `cold` moves back to `hot`. A
/// stale entry is harmless: the append's expected version catches it.
pub(super) struct Cache<A: Aggregate> {
    pub(super) hot: HashMap<A::Id, Cached<A>>,
    pub(super) cold: HashMap<A::Id, Cached<A>>,
    pub(super) capacity: usize,
}

/// A state, its version, and how many events were folded into it since the snapshot it
/// started from (or since the start).
pub(super) type Entry<A> = (A, u64, u64);

/// An [`Entry`] as the cache keeps it: the state shared, never copied to be read.
pub(super) type Cached<A> = (Arc<A>, u64, u64);

impl<A: Aggregate> Cache<A> {
    pub(super) fn get(&mut self, key: &A::Id) -> Option<Cached<A>> {
        if let Some(entry) = self.hot.get(key) {
            return Some(entry.clone());
        }
        let entry = self.cold.remove(key)?;
        self.put(key.clone(), entry.clone());
        Some(entry)
    }

    /// Takes out the entry of `key` if it holds `state` itself, so that the one command
    /// running on it (see `Repository::exclusive`) folds into it without a copy.
    pub(super) fn take_if_same(&mut self, key: &A::Id, state: &Arc<A>) {
        for generation in [&mut self.hot, &mut self.cold] {
            if generation
                .get(key)
                .is_some_and(|(cached, _, _)| Arc::ptr_eq(cached, state))
            {
                generation.remove(key);
            }
        }
    }

    pub(super) fn put(&mut self, key: A::Id, entry: Cached<A>) {
        if self.hot.len() >= self.capacity && !self.hot.contains_key(&key) {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(key, entry);
    }

    pub(super) fn forget(&mut self, key: &A::Id) {
        self.hot.remove(key);
        self.cold.remove(key);
    }
}

impl<A: Aggregate, L: EventLog> Repository<A, L> {
    pub(super) fn cached(&self, id: &A::Id) -> Option<(A, u64)> {
        self.cached_entry(id)
            .map(|(state, version, _)| (state, version))
    }

    /// A copy of the cached entry: for loads, which do not hold the aggregate's turn.
    pub(super) fn cached_entry(&self, id: &A::Id) -> Option<Entry<A>> {
        // Never held across an await: taken and released inside this call.
        let (state, version, tail) = self.cache.lock().ok()?.get(id)?;
        Some((A::clone(&state), version, tail))
    }

    /// The cached entry, shared: for a command, which decides on it as it is.
    pub(super) fn shared_entry(&self, id: &A::Id) -> Option<Cached<A>> {
        // Never held across an await: taken and released inside this call.
        self.cache.lock().ok()?.get(id)
    }

    /// `state` owned, to fold new events into: taken out of the cache (the command holds
    /// the aggregate's turn, and puts the new state back at once), so that it is copied
    /// only while an [`Executed`](super::Executed) of an earlier command or a reader
    /// still shares it.
    pub(super) fn unshare(&self, id: &A::Id, state: Arc<A>) -> A {
        if let Ok(mut cache) = self.cache.lock() {
            cache.take_if_same(id, &state);
        }
        Arc::try_unwrap(state).unwrap_or_else(|shared| A::clone(&shared))
    }

    /// What the cache has of `id` now, looked at in place (no copy): `None` when it is
    /// not cached.
    pub fn peek_with<R>(&self, id: &A::Id, look: impl FnOnce(&A, u64) -> R) -> Option<R> {
        let (state, version, _) = self.shared_entry(id)?;
        Some(look(&state, version))
    }

    /// Keeps a state for the next command, `tail` events after its snapshot; takes a new
    /// snapshot once the tail is long enough. An aggregate with no events is never kept:
    /// a negative answer about it is read from the stream each time.
    pub(super) async fn remember(&self, id: &A::Id, state: Arc<A>, version: u64, tail: u64) {
        if version == 0 {
            return;
        }
        let snapshot = self
            .snapshots
            .as_ref()
            .filter(|snapshots| tail >= snapshots.every);
        let kept_tail = if snapshot.is_some() { 0 } else { tail };
        // Cached first: readers never miss it while the snapshot is written.
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(id.clone(), (state.clone(), version, kept_tail));
        }
        if let Some(snapshots) = snapshot {
            snapshots.save(&id.subject(), &state, version).await;
        }
    }

    pub(super) fn forget(&self, id: &A::Id) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.forget(id);
        }
    }
}
