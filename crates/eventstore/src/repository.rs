//! Runs commands against pure aggregates: load (or take from cache), decide, append with
//! the expected version, and on a conflict reload and decide again, a bounded number of
//! times.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::Aggregate;
use events::DomainEvent;

use crate::store::{AppendContext, AppendError, EventStore, LoadError};

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
    #[error("{subject}: still conflicting after {attempts} attempts")]
    Conflict { subject: String, attempts: usize },
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
struct Cache<A> {
    hot: HashMap<String, (A, u64)>,
    cold: HashMap<String, (A, u64)>,
    capacity: usize,
}

impl<A: Clone> Cache<A> {
    fn get(&mut self, key: &str) -> Option<(A, u64)> {
        if let Some(entry) = self.hot.get(key) {
            return Some(entry.clone());
        }
        let entry = self.cold.remove(key)?;
        self.put(key.to_owned(), entry.clone());
        Some(entry)
    }

    fn put(&mut self, key: String, entry: (A, u64)) {
        if self.hot.len() >= self.capacity && !self.hot.contains_key(&key) {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(key, entry);
    }

    fn forget(&mut self, key: &str) {
        self.hot.remove(key);
        self.cold.remove(key);
    }
}

/// A repository of one aggregate type on its stream.
pub struct Repository<A: Aggregate> {
    store: EventStore,
    cache: Mutex<Cache<A>>,
    max_attempts: usize,
}

impl<A: Aggregate> std::fmt::Debug for Repository<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("stream", &A::Event::STREAM)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate> Repository<A> {
    /// A repository caching up to about `cache_capacity` aggregates (two generations of
    /// that size at most) and trying a command at most `max_attempts` times.
    pub fn new(store: EventStore, cache_capacity: usize, max_attempts: usize) -> Self {
        Self {
            store,
            cache: Mutex::new(Cache {
                hot: HashMap::new(),
                cold: HashMap::new(),
                capacity: cache_capacity.max(1),
            }),
            max_attempts: max_attempts.max(1),
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    fn cached(&self, subject: &str) -> Option<(A, u64)> {
        // Never held across an await: taken and released inside this call.
        self.cache.lock().ok()?.get(subject)
    }

    fn remember(&self, subject: &str, state: A, version: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(subject.to_owned(), (state, version));
        }
    }

    fn forget(&self, subject: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.forget(subject);
        }
    }

    /// Brings `base` (at version `after`) up to date with what the stream holds.
    async fn refresh(&self, subject: &str, base: A, after: u64) -> Result<(A, u64), LoadError> {
        let loaded = self.store.load_after::<A::Event>(subject, after).await?;
        let state = loaded
            .events
            .iter()
            .fold(base, |state, recorded| state.evolve(&recorded.event));
        self.remember(subject, state.clone(), loaded.version);
        Ok((state, loaded.version))
    }

    /// The current state of the aggregate and its version, from the cache when there.
    pub async fn load(&self, subject: &str) -> Result<(A, u64), LoadError> {
        match self.cached(subject) {
            Some(entry) => Ok(entry),
            None => self.refresh(subject, A::default(), 0).await,
        }
    }

    /// The cached state and version, if any: no I/O, possibly stale.
    pub fn peek(&self, subject: &str) -> Option<(A, u64)> {
        self.cached(subject)
    }

    /// The current state read from the stream, bypassing (and updating) the cache.
    pub async fn load_fresh(&self, subject: &str) -> Result<(A, u64), LoadError> {
        match self.cached(subject) {
            Some((state, version)) => self.refresh(subject, state, version).await,
            None => self.refresh(subject, A::default(), 0).await,
        }
    }

    /// Decides `command` on the aggregate at `subject` and appends the outcome.
    pub async fn execute(
        &self,
        subject: &str,
        command: &A::Command,
        context: &AppendContext,
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        let start = match self.cached(subject) {
            Some((state, version)) => (state, version, false),
            None => {
                let (state, version) = self.refresh(subject, A::default(), 0).await?;
                (state, version, true)
            }
        };
        self.attempt(subject, command, context, start).await
    }

    /// Like [`execute`](Self::execute) for an aggregate that almost surely does not exist
    /// yet (a fresh random id): decides on the initial state without reading the stream
    /// first. If it does exist, the append meets a conflict, and a refusal or no-op is
    /// checked against the stream, exactly as for a stale cache entry.
    pub async fn execute_new(
        &self,
        subject: &str,
        command: &A::Command,
        context: &AppendContext,
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        let start = self
            .cached(subject)
            .map_or((A::default(), 0, false), |(state, version)| {
                (state, version, false)
            });
        self.attempt(subject, command, context, start).await
    }

    async fn attempt(
        &self,
        subject: &str,
        command: &A::Command,
        context: &AppendContext,
        (mut state, mut version, mut fresh): (A, u64, bool),
    ) -> Result<Executed<A>, ExecuteError<A::Rejection>> {
        for _attempt in 0..self.max_attempts {
            let decision = state.decide(command);
            // A refusal or a no-op decided on a cached state is checked against the stream
            // first: another replica may have changed the aggregate since.
            let stale_no = !fresh && decision.as_ref().map_or(true, Vec::is_empty);
            if stale_no {
                (state, version) = self.refresh(subject, state, version).await?;
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
            match self.store.append(subject, version, &events, context).await {
                Ok(appended) if appended.duplicate => {
                    // Applied before (a retry of this very command): report the stored state.
                    let (state, version) = self.load_fresh(subject).await?;
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
                        .fold(state, |state, event| state.evolve(event));
                    self.remember(subject, state.clone(), appended.last_sequence);
                    return Ok(Executed {
                        state,
                        version: appended.last_sequence,
                        events,
                        duplicate: false,
                    });
                }
                Err(AppendError::Conflict { .. }) => {
                    (state, version) = self.refresh(subject, state, version).await?;
                    fresh = true;
                }
                Err(e) => {
                    // Unknown whether it was stored: read the stream next time.
                    self.forget(subject);
                    return Err(ExecuteError::Append(e));
                }
            }
        }
        Err(ExecuteError::Conflict {
            subject: subject.to_owned(),
            attempts: self.max_attempts,
        })
    }
}
