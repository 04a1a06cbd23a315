//! Which table ids exist, as a booking needs to know before it is written (ADR 0020).
//!
//! A table once added exists for ever as far as a booking is concerned (ids are never
//! reused; a removed table is table-manager's to refuse), so an id found is remembered.
//! An id not found is asked of the `TABLES` stream's leader every time and never
//! remembered: a table added a moment ago (through any booker) is found, and made-up ids
//! take no memory. So the set holds at most the tables staff ever added.
//!
//! The leader answers such asks on JetStream's API queue, which also serves every
//! consumer's pulls: a few asks at a time per booker, the rest wait here, so a flood of
//! made-up ids slows down itself rather than the saga.

use std::collections::HashSet;
use std::sync::RwLock;

use events::{AggregateId as _, TableEvent, TableId};
use eventstore::{EventLog, EventStore, LoadError};
use tokio::sync::Semaphore;

/// Asks to the stream's leader in flight at once, per booker.
const LEADER_ASKS: usize = 4;

/// The table ids known to have been added.
#[derive(Debug)]
pub struct KnownTables<L: EventLog = EventStore> {
    log: L,
    known: RwLock<HashSet<TableId>>,
    asks: Semaphore,
}

impl<L: EventLog> KnownTables<L> {
    pub fn new(log: L) -> Self {
        Self {
            log,
            known: RwLock::default(),
            asks: Semaphore::new(LEADER_ASKS),
        }
    }

    /// Whether a table of this id was ever added: from memory, else one request to the
    /// stream's leader (a table's subject has events only once it was added).
    pub async fn exists(&self, id: &TableId) -> Result<bool, LoadError> {
        let known = |known: &HashSet<TableId>| known.contains(id);
        if self.known.read().is_ok_and(|set| known(&set)) {
            return Ok(true);
        }
        let version = {
            // Never closed, so a permit always comes.
            let _permit = self.asks.acquire().await;
            self.log
                .version_consistent::<TableEvent>(&id.subject())
                .await?
        };
        if version == 0 {
            return Ok(false);
        }
        if let Ok(mut set) = self.known.write() {
            set.insert(id.clone());
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use events::fixtures::{added, t1};
    use eventstore::InMemory;
    use eventstore::testing::Scenario;

    use super::*;

    #[tokio::test]
    async fn given_an_added_table_when_asked_then_it_exists() {
        let scenario = Scenario::new().given(&t1(), [added(4)]);
        let tables = KnownTables::new(scenario.log());
        assert!(tables.exists(&t1()).await.expect("asked"));
        assert!(tables.exists(&t1()).await.expect("remembered"));
    }

    #[tokio::test]
    async fn given_no_such_table_when_asked_then_it_does_not_exist_until_it_is_added() {
        let scenario = Scenario::new();
        let tables: KnownTables<InMemory> = KnownTables::new(scenario.log());
        assert!(!tables.exists(&t1()).await.expect("asked"));
        // Not remembered as missing: added a moment later, it is found.
        let scenario = scenario.given(&t1(), [added(4)]);
        assert!(tables.exists(&t1()).await.expect("asked again"));
        drop(scenario);
    }
}
