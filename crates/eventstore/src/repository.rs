//! Runs commands against pure aggregates: load (or take from cache), decide, append with
//! the expected version, and on a conflict reload and decide again, a bounded number of
//! times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::Aggregate;
use events::{AggregateId, DomainEvent};

use self::cache::{Cache, Cached, Entry};
pub use self::clock::Clock;
use crate::log::{AppendContext, EventLog};
use crate::log::{AppendError, LoadError};
use crate::snapshots::{SnapshotStore, Snapshotting};
use crate::store::EventStore;
use serde::Serialize;
use serde::de::DeserializeOwned;

mod cache;
mod clock;
mod settle;
#[cfg(test)]
mod tests;

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// The aggregate's state after the command, shared with the repository's cache (the
    /// next command on it folds into it without a copy once this is dropped).
    pub state: Arc<A>,
    /// Its version (stream sequence of its last event).
    pub version: u64,
    /// The events this command appended; empty if it changed nothing or was a duplicate.
    pub events: Vec<A::Event>,
    /// The command had already been applied (JetStream dropped the append as a duplicate).
    pub duplicate: bool,
}

impl<A: Aggregate> Executed<A> {
    /// The state, owned: a copy while the cache shares it.
    pub fn into_state(self) -> A {
        Arc::unwrap_or_clone(self.state)
    }
}

/// The three outcomes other than success, kept apart.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<R: std::error::Error + 'static> {
    /// The aggregate refuses the command (a 4xx; nothing was written).
    #[error(transparent)]
    Rejected(R),
    /// Other writers kept winning: every attempt met a newer version.
    #[error("{aggregate}: still conflicting after {attempts} attempts")]
    Conflict { aggregate: String, attempts: usize },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Append(AppendError),
}

/// Commands on one aggregate run one at a time in a process: a queue costs nothing, a
/// conflict costs a reload and a second decision, and hundreds of them at once (one table,
/// one slot, a thousand guests) would exhaust their attempts. The locks are striped by the
/// id's hash: bounded memory, and unrelated aggregates rarely share one.
const STRIPES: usize = 1024;

/// A repository of one aggregate type on its stream, keyed by the aggregate's id: the id
/// names the subject ([`AggregateId::subject`]), no caller formats one.
pub struct Repository<A: Aggregate, L: EventLog = EventStore> {
    log: L,
    cache: Mutex<Cache<A>>,
    max_attempts: usize,
    clock: Clock,
    stripes: Box<[tokio::sync::Mutex<()>]>,
    snapshots: Option<Snapshotting<A>>,
}

impl<A: Aggregate, L: EventLog> std::fmt::Debug for Repository<A, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("stream", &A::Event::STREAM)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate, L: EventLog> Repository<A, L> {
    /// A repository caching up to about `cache_capacity` aggregates (two generations of
    /// that size at most) and trying a command at most `max_attempts` times.
    pub fn new(log: L, cache_capacity: usize, max_attempts: usize) -> Self {
        Self {
            log,
            cache: Mutex::new(Cache {
                hot: HashMap::new(),
                cold: HashMap::new(),
                capacity: cache_capacity.max(1),
            }),
            max_attempts: max_attempts.max(1),
            clock: Clock::system(),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            snapshots: None,
        }
    }

    /// The same repository keeping a snapshot of an aggregate in `store` once `every`
    /// events were folded since the last one, and starting cold loads from it.
    pub fn with_snapshots(mut self, store: Arc<dyn SnapshotStore>, every: u64) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        self.snapshots = Some(Snapshotting::new(store, every));
        self
    }

    /// Waits until no other command of this process runs on `id` (or on an id sharing
    /// its stripe), and holds that until the guard is dropped.
    async fn exclusive(&self, id: &A::Id) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
        let stripe = usize::try_from(hash % STRIPES as u64).unwrap_or(0);
        self.stripes[stripe].lock().await
    }

    /// The same repository pruning its aggregates ([`Aggregate::prune`]) by `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the repository prunes by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The event log the repository reads and appends to.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Brings `base` (at version `after`, `tail` events after its snapshot) up to date with
    /// what the stream holds: what a replica holds, or with `consistent`, all the stream's
    /// leader holds. From nothing, it starts at the aggregate's snapshot if there is one.
    async fn refresh(
        &self,
        id: &A::Id,
        base: Entry<A>,
        consistent: bool,
    ) -> Result<Entry<A>, LoadError> {
        let (state, version, tail) = self.brought_up_to_date(id, base, consistent).await?;
        let state = Arc::new(state);
        self.remember(id, state.clone(), version, tail).await;
        Ok((Arc::unwrap_or_clone(state), version, tail))
    }

    /// What [`refresh`](Self::refresh) reads, not kept in the cache: for a command, which
    /// keeps its state once it is done with it.
    async fn brought_up_to_date(
        &self,
        id: &A::Id,
        (base, after, tail): Entry<A>,
        consistent: bool,
    ) -> Result<Entry<A>, LoadError> {
        let subject = id.subject();
        let snapshot = match (&self.snapshots, after) {
            (Some(snapshots), 0) => snapshots.restore(&subject).await,
            _ => None,
        };
        let (state, version, tail) = match snapshot {
            Some((state, at)) => {
                // Read from the snapshot's own event on: if it is not there, the snapshot
                // is of another history (a stream made anew) and is ignored.
                let loaded = self.read(&subject, at - 1, consistent).await?;
                match loaded.events.first() {
                    Some(first) if first.sequence == at => {
                        let newer = &loaded.events[1..];
                        let state = fold(state, newer);
                        (state, loaded.version, newer.len() as u64)
                    }
                    _ => {
                        tracing::warn!(subject, at, "snapshot of another history ignored");
                        let loaded = self.read(&subject, 0, consistent).await?;
                        let count = loaded.events.len() as u64;
                        (fold(A::default(), &loaded.events), loaded.version, count)
                    }
                }
            }
            None => {
                let loaded = self.read(&subject, after, consistent).await?;
                let count = loaded.events.len() as u64;
                (fold(base, &loaded.events), loaded.version, tail + count)
            }
        };
        Ok((state.prune(self.clock.now()), version, tail))
    }

    /// [`brought_up_to_date`](Self::brought_up_to_date) for a command: from its shared
    /// state, kept in the cache again.
    async fn refreshed(
        &self,
        id: &A::Id,
        (state, version, tail): Cached<A>,
        consistent: bool,
    ) -> Result<Cached<A>, LoadError> {
        if version > 0 {
            // Mostly nothing newer (the no-op or refusal was right): the shared state
            // stays as it is, in the cache, without a copy. It leaves the cache only for
            // the moment a fold into it takes, never across this read.
            let loaded = self.read(&id.subject(), version, consistent).await?;
            let (state, version, tail) = if loaded.events.is_empty() {
                (state, version, tail)
            } else {
                let count = loaded.events.len() as u64;
                let folded = fold(self.unshare(id, state), &loaded.events);
                let state = Arc::new(folded.prune(self.clock.now()));
                (state, loaded.version, tail + count)
            };
            self.remember(id, state.clone(), version, tail).await;
            return Ok((state, version, tail));
        }
        let base = (self.unshare(id, state), version, tail);
        let (state, version, tail) = self.brought_up_to_date(id, base, consistent).await?;
        let state = Arc::new(state);
        self.remember(id, state.clone(), version, tail).await;
        Ok((state, version, tail))
    }

    async fn read(
        &self,
        subject: &str,
        after: u64,
        consistent: bool,
    ) -> Result<crate::log::Loaded<A::Event>, LoadError> {
        if consistent {
            self.log.load_after_consistent(subject, after).await
        } else {
            self.log.load_after(subject, after).await
        }
    }

    /// The current state of the aggregate and its version, from the cache when there
    /// (possibly stale: for answers that may lag).
    pub async fn load(&self, id: &A::Id) -> Result<(A, u64), LoadError> {
        match self.cached(id) {
            Some(entry) => Ok(entry),
            None => Ok(without_tail(self.refresh(id, fresh_start(), false).await?)),
        }
    }

    /// The current state as the stream's leader has it, bypassing (and updating) the
    /// cache: for an answer that must not lag.
    pub async fn load_fresh(&self, id: &A::Id) -> Result<(A, u64), LoadError> {
        let start = self.cached_entry(id).unwrap_or_else(fresh_start);
        Ok(without_tail(self.refresh(id, start, true).await?))
    }

    /// Decides `command` on the aggregate `id` and appends the outcome.
    pub async fn execute(
        &self,
        id: &A::Id,
        command: &A::Command,
        context: &AppendContext,
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        let _turn = self.exclusive(id).await;
        let start = match self.shared_entry(id) {
            Some(entry) => entry,
            None => self.refreshed(id, shared_start(), false).await?,
        };
        self.attempt(id, command, context, start).await
    }

    /// Like [`execute`](Self::execute) for an aggregate that almost surely does not exist
    /// yet (a fresh random id): decides on the initial state without reading the stream
    /// first. If it does exist, the append meets a conflict, and a refusal or no-op is
    /// checked against the stream, exactly as for a stale cache entry.
    pub async fn execute_new(
        &self,
        id: &A::Id,
        command: &A::Command,
        context: &AppendContext,
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        let _turn = self.exclusive(id).await;
        let start = self.shared_entry(id).unwrap_or_else(shared_start);
        self.attempt(id, command, context, start).await
    }

    /// Decides and appends, from `state` as the cache shares it: a refusal or a no-op
    /// decided on it costs no copy; an append folds its events into it, taken out of the
    /// cache ([`unshare`](Self::unshare)), and puts the new state back.
    async fn attempt(
        &self,
        id: &A::Id,
        command: &A::Command,
        context: &AppendContext,
        (mut state, mut version, mut tail): Cached<A>,
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        // Whether `state` is known to hold all the stream's leader holds.
        let mut fresh = false;
        for _attempt in 0..self.max_attempts {
            let decision = state.decide(command);
            // A refusal or a no-op is final only on what the stream's leader holds: the
            // cache, or a follower read, may lag behind another replica's append.
            let stale_no = !fresh && decision.as_ref().map_or(true, Vec::is_empty);
            if stale_no {
                (state, version, tail) = self.refreshed(id, (state, version, tail), true).await?;
                fresh = true;
                continue;
            }
            let events = decision.map_err(ExecuteError::Rejected)?;
            if events.is_empty() {
                return Ok(Executed {
                    state,
                    version,
                    events,
                    duplicate: false,
                });
            }
            match self
                .log
                .append_at(&id.subject(), Some(version), &events, context)
                .await
            {
                Ok(appended) if appended.duplicate => {
                    // Applied before (a retry of this very command): report the stored state.
                    let (state, version) = self.load_fresh(id).await?;
                    return Ok(Executed {
                        state: Arc::new(state),
                        version,
                        events: Vec::new(),
                        duplicate: true,
                    });
                }
                Ok(appended) => {
                    let state = events
                        .iter()
                        .fold(self.unshare(id, state), |state, event| state.evolve(event))
                        .prune(self.clock.now());
                    let state = Arc::new(state);
                    let tail = tail + events.len() as u64;
                    self.remember(id, state.clone(), appended.last_sequence, tail)
                        .await;
                    return Ok(Executed {
                        state,
                        version: appended.last_sequence,
                        events,
                        duplicate: false,
                    });
                }
                Err(AppendError::Conflict { .. }) => {
                    (state, version, tail) =
                        self.refreshed(id, (state, version, tail), true).await?;
                    fresh = true;
                }
                Err(AppendError::Unavailable(cause)) => {
                    // The ack was lost: whether the events were stored is read back.
                    self.forget(id);
                    let entry = (self.unshare(id, state), version, tail);
                    return match self.settle(id, entry, &events, context).await {
                        Some(executed) => Ok(executed),
                        None => Err(ExecuteError::Append(AppendError::Unavailable(cause))),
                    };
                }
                Err(e) => {
                    self.forget(id);
                    return Err(ExecuteError::Append(e));
                }
            }
        }
        Err(ExecuteError::Conflict {
            aggregate: id.subject(),
            attempts: self.max_attempts,
        })
    }
}

/// Where a load of an aggregate not in the cache starts: nothing, version 0.
fn fresh_start<A: Default>() -> (A, u64, u64) {
    (A::default(), 0, 0)
}

/// [`fresh_start`], shared.
fn shared_start<A: Default>() -> Cached<A> {
    (Arc::default(), 0, 0)
}

fn without_tail<A>((state, version, _): (A, u64, u64)) -> (A, u64) {
    (state, version)
}

fn fold<A: Aggregate>(state: A, events: &[crate::recorded::Recorded<A::Event>]) -> A {
    events
        .iter()
        .fold(state, |state, recorded| state.evolve(&recorded.event))
}
