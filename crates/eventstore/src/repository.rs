//! Runs commands against pure aggregates: load (or take from cache), decide, append with
//! the expected version, and on a conflict reload and decide again, a bounded number of
//! times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::Aggregate;
use events::{AggregateId, DomainEvent};

use crate::log::{AppendContext, EventLog};
use crate::log::{AppendError, LoadError};
use crate::store::EventStore;

/// Where a repository (and the commands it runs) takes the time from: the system clock,
/// or a fixed instant in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(jiff::Timestamp::now))
    }

    pub fn fixed(at: jiff::Timestamp) -> Self {
        Self(Arc::new(move || at))
    }

    pub fn now(&self) -> jiff::Timestamp {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// The aggregate's state after the command.
    pub state: A,
    /// Its version (stream sequence of its last event).
    pub version: u64,
    /// The events this command appended; empty if it changed nothing or was a duplicate.
    pub events: Vec<A::Event>,
    /// The command had already been applied (JetStream dropped the append as a duplicate).
    pub duplicate: bool,
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

/// States of recently used aggregates with their versions.
///
/// Two generations bound the memory: new entries go to `hot`; when `hot` is full it
/// becomes `cold` and the old `cold` is dropped. A hit in `cold` moves back to `hot`. A
/// stale entry is harmless: the append's expected version catches it.
struct Cache<A: Aggregate> {
    hot: HashMap<A::Id, (A, u64)>,
    cold: HashMap<A::Id, (A, u64)>,
    capacity: usize,
}

impl<A: Aggregate> Cache<A> {
    fn get(&mut self, key: &A::Id) -> Option<(A, u64)> {
        if let Some(entry) = self.hot.get(key) {
            return Some(entry.clone());
        }
        let entry = self.cold.remove(key)?;
        self.put(key.clone(), entry.clone());
        Some(entry)
    }

    fn put(&mut self, key: A::Id, entry: (A, u64)) {
        if self.hot.len() >= self.capacity && !self.hot.contains_key(&key) {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(key, entry);
    }

    fn forget(&mut self, key: &A::Id) {
        self.hot.remove(key);
        self.cold.remove(key);
    }
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
        }
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

    fn cached(&self, id: &A::Id) -> Option<(A, u64)> {
        // Never held across an await: taken and released inside this call.
        self.cache.lock().ok()?.get(id)
    }

    /// Keeps a state for the next command. An aggregate with no events is never kept: a
    /// negative answer about it is read from the stream each time.
    fn remember(&self, id: &A::Id, state: A, version: u64) {
        if version == 0 {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(id.clone(), (state, version));
        }
    }

    fn forget(&self, id: &A::Id) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.forget(id);
        }
    }

    /// Brings `base` (at version `after`) up to date with what the stream holds: what a
    /// replica holds, or with `consistent`, all the stream's leader holds.
    async fn refresh(
        &self,
        id: &A::Id,
        base: A,
        after: u64,
        consistent: bool,
    ) -> Result<(A, u64), LoadError> {
        let subject = id.subject();
        let loaded = if consistent {
            self.log
                .load_after_consistent::<A::Event>(&subject, after)
                .await?
        } else {
            self.log.load_after::<A::Event>(&subject, after).await?
        };
        let state = loaded
            .events
            .iter()
            .fold(base, |state, recorded| state.evolve(&recorded.event))
            .prune(self.clock.now());
        self.remember(id, state.clone(), loaded.version);
        Ok((state, loaded.version))
    }

    /// The current state of the aggregate and its version, from the cache when there
    /// (possibly stale: for answers that may lag).
    pub async fn load(&self, id: &A::Id) -> Result<(A, u64), LoadError> {
        match self.cached(id) {
            Some(entry) => Ok(entry),
            None => self.refresh(id, A::default(), 0, false).await,
        }
    }

    /// The cached state and version, if any: no I/O, possibly stale.
    pub fn peek(&self, id: &A::Id) -> Option<(A, u64)> {
        self.cached(id)
    }

    /// The current state as the stream's leader has it, bypassing (and updating) the
    /// cache: for an answer that must not lag.
    pub async fn load_fresh(&self, id: &A::Id) -> Result<(A, u64), LoadError> {
        match self.cached(id) {
            Some((state, version)) => self.refresh(id, state, version, true).await,
            None => self.refresh(id, A::default(), 0, true).await,
        }
    }

    /// Decides `command` on the aggregate `id` and appends the outcome.
    pub async fn execute(
        &self,
        id: &A::Id,
        command: &A::Command,
        context: &AppendContext,
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        let _turn = self.exclusive(id).await;
        let start = match self.cached(id) {
            Some((state, version)) => (state, version, false),
            None => {
                let (state, version) = self.refresh(id, A::default(), 0, false).await?;
                (state, version, false)
            }
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
        let start = self
            .cached(id)
            .map_or((A::default(), 0, false), |(state, version)| {
                (state, version, false)
            });
        self.attempt(id, command, context, start).await
    }

    async fn attempt(
        &self,
        id: &A::Id,
        command: &A::Command,
        context: &AppendContext,
        (mut state, mut version, mut fresh): (A, u64, bool),
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        for _attempt in 0..self.max_attempts {
            let decision = state.decide(command);
            // A refusal or a no-op is final only on what the stream's leader holds: the
            // cache, or a follower read, may lag behind another replica's append.
            let stale_no = !fresh && decision.as_ref().map_or(true, Vec::is_empty);
            if stale_no {
                (state, version) = self.refresh(id, state, version, true).await?;
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
                        state,
                        version,
                        events: Vec::new(),
                        duplicate: true,
                    });
                }
                Ok(appended) => {
                    let state = events
                        .iter()
                        .fold(state, |state, event| state.evolve(event))
                        .prune(self.clock.now());
                    self.remember(id, state.clone(), appended.last_sequence);
                    return Ok(Executed {
                        state,
                        version: appended.last_sequence,
                        events,
                        duplicate: false,
                    });
                }
                Err(AppendError::Conflict { .. }) => {
                    (state, version) = self.refresh(id, state, version, true).await?;
                    fresh = true;
                }
                Err(e) => {
                    // Unknown whether it was stored: read the stream next time.
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
