//! Appends whose acknowledgement was lost: whether they were stored is read back.

use std::sync::Arc;
use std::time::Duration;

use domain::Aggregate;
use events::AggregateId;

use super::{Entry, Executed, Repository, fold};
use crate::log::{AppendContext, EventLog};

impl<A: Aggregate, L: EventLog> Repository<A, L> {
    /// After an append whose outcome is unknown (its ack was lost), whether it was stored,
    /// from the stream's leader: the command's first event after `version`, or not there
    /// at all. `None` when it is not there, or the leader cannot be asked within a few
    /// seconds: then nothing can be said to have been written.
    pub(super) async fn settle(
        &self,
        id: &A::Id,
        (state, version, tail): Entry<A>,
        events: &[A::Event],
        context: &AppendContext,
    ) -> Option<Executed<A>> {
        let first = context.command_id.event_id(0);
        for pause in SETTLE_PAUSES {
            let loaded = match self.log.load_after_consistent(&id.subject(), version).await {
                Ok(loaded) => loaded,
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            let ours = loaded.events.first()?;
            if ours.metadata.event_id != first {
                // Another command got in first: ours met a conflict and was not stored.
                return None;
            }
            let count = loaded.events.len() as u64;
            let state = Arc::new(fold(state, &loaded.events).prune(self.clock.now()));
            self.remember(id, state.clone(), loaded.version, tail + count)
                .await;
            return Some(Executed {
                state,
                version: loaded.version,
                events: events.to_vec(),
                duplicate: false,
            });
        }
        None
    }
}

/// Pauses between attempts to read back an append whose ack was lost.
const SETTLE_PAUSES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_secs(1),
    Duration::from_secs(2),
];
