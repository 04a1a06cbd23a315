//! Lock release at the end of the slot, across restarts.

use std::time::Duration;

use events::{
    AggregateId as _, BookingId, LockRemovalCause, Seats, TableAdded, TableEvent, TableId,
    TableLockPlaced, TimeSlot,
};
use eventstore::{AppendContext, EventLog as _, EventStore, StoreMetrics};
use jiff::{SignedDuration, Timestamp};
use testkit::NatsServer;

use crate::start;

/// Records a table holding a lock for a slot that ends `ends_in` from now, as the
/// locking saga would have.
async fn lock_ending_in(nats: &NatsServer, ends_in: Duration) -> (EventStore, TimeSlot) {
    let store = EventStore::new(nats.client().await, StoreMetrics::default());
    eventstore::ensure_streams(
        store.jetstream(),
        &["TABLES", "BOOKINGS", "DEAD_LETTERS"],
        eventstore::StreamSettings::default(),
    )
    .await
    .expect("streams");
    let now = Timestamp::now();
    let to = now + SignedDuration::try_from(ends_in).expect("duration");
    let slot = TimeSlot::new(now - SignedDuration::from_secs(3600), to).expect("slot");
    let id = TableId::parse("t1").expect("id");
    let subject = id.subject();
    let booking = BookingId::new();
    let events: Vec<TableEvent> = vec![
        TableAdded {
            id: id.clone(),
            seats: Seats::new(4).expect("seats"),
        }
        .into(),
        TableLockPlaced {
            id,
            time_slot: slot,
            booking_id: booking,
            revision: 0,
        }
        .into(),
    ];
    let context = AppendContext::unique("test", booking.into());
    store
        .append_at(&subject, Some(0), &events, &context)
        .await
        .expect("append");
    (store, slot)
}

async fn table_events(store: &EventStore) -> Vec<eventstore::Recorded<TableEvent>> {
    store
        .load::<TableEvent>("tables.t1")
        .await
        .expect("load")
        .events
}

async fn wait_for_removal(store: &EventStore) -> eventstore::Recorded<TableEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = table_events(store).await;
        if let Some(removed) = events.get(2) {
            assert_eq!(events.len(), 3, "{events:?}");
            return removed.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "lock never removed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_slot_ended(removed: &eventstore::Recorded<TableEvent>, slot: TimeSlot) {
    match &removed.event {
        TableEvent::LockRemoved(e) => assert_eq!(e.cause, LockRemovalCause::SlotEnded),
        other => panic!("expected a lock removal, got {other:?}"),
    }
    assert!(
        removed.metadata.occurred_at >= slot.to(),
        "removed at {} before the slot ended at {}",
        removed.metadata.occurred_at,
        slot.to()
    );
}

#[tokio::test]
async fn a_lock_is_removed_when_its_slot_ends() {
    let nats = NatsServer::start().await;
    let running = start(&nats).await;
    let (store, slot) = lock_ending_in(&nats, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        table_events(&store).await.len(),
        2,
        "removed before the slot ended"
    );
    let removed = wait_for_removal(&store).await;
    assert_slot_ended(&removed, slot);
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_lock_timer_survives_a_restart_of_table_manager() {
    let nats = NatsServer::start().await;
    let running = start(&nats).await;
    let (store, slot) = lock_ending_in(&nats, Duration::from_secs(2)).await;
    // Let the timer be armed, then stop the only replica until after the slot ended.
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await.expect("clean shutdown");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(table_events(&store).await.len(), 2, "nobody was running");

    let running = start(&nats).await;
    let removed = wait_for_removal(&store).await;
    assert_slot_ended(&removed, slot);
    running.stop().await.expect("clean shutdown");
}
