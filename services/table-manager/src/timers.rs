//! Lock release timers: a lock is removed when its slot ends.
//!
//! The timer is the `table-lock-placed` event itself, held by a durable consumer: while the
//! slot runs the message is handed back with a delay (a deferred nak), so the timer lives
//! on the server and survives restarts of any replica (ADR 0006).

use std::sync::Arc;
use std::time::Duration;

use events::{CommandId, LockRemovalCause, TableEvent};
use eventstore::{AppendContext, Delivery, HandleError, Handler};

use crate::tables::Tables;

/// Durable consumer of the timers on `TABLES`.
pub const CONSUMER: &str = "table-lock-timers";

/// A timer further out than this is checked again then: no delay is trusted for months.
const MAX_DEFER: Duration = Duration::from_secs(3600);

/// Handles table events for the lock timers.
#[derive(Debug)]
pub struct LockTimers {
    pub tables: Arc<Tables>,
}

impl Handler for LockTimers {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandleError> {
        let recorded = delivery.decode::<TableEvent>()?;
        let TableEvent::LockPlaced(lock) = &recorded.event else {
            return Ok(());
        };
        let now = jiff::Timestamp::now();
        let ends = lock.time_slot.to();
        if now < ends {
            let left = Duration::try_from(ends.duration_since(now)).unwrap_or(MAX_DEFER);
            // A few ms late rather than early: an early wake-up would just defer again.
            return Err(HandleError::Defer(
                (left + Duration::from_millis(5)).min(MAX_DEFER),
            ));
        }
        let context = AppendContext {
            command_id: CommandId::caused_by("slot-ended", recorded.metadata.event_id),
            correlation_id: recorded.metadata.correlation_id,
            causation_id: recorded.metadata.event_id.into(),
        };
        self.tables
            .remove_lock(
                &lock.id,
                lock.booking_id,
                LockRemovalCause::SlotEnded,
                &context,
            )
            .await
            .map_err(|e| HandleError::Retry(Box::new(e)))
    }
}
