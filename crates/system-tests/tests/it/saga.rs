//! The saga across both services: outages, timeouts, redelivery, correlation.

use std::time::Duration;

use events::{BookingEvent, LockRemovalCause, RejectionReason, TableEvent};
use serde_json::json;

use system_tests::{Slot, System, types};

#[tokio::test]
async fn a_booking_made_while_table_manager_is_down_is_confirmed_once_it_is_back() {
    let mut system = System::start().await;
    system.add_table("t1", 4).await;
    system.stop_table_manager().await;

    let response = system
        .http
        .post(system.url("/bookings?wait=1"))
        .json(&json!({"tableId": "t1", "timeSlot": Slot::dinner(2).json()}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 202);
    let booking: serde_json::Value = response.json().await.expect("json");
    let id = booking["id"].as_str().expect("id");

    system.start_table_manager().await;
    let events = system.wait_for_booking(id, "table-booking-confirmed").await;
    assert_eq!(
        types(&events),
        ["table-booking-initiated", "table-booking-confirmed"]
    );
    system.stop().await;
}

#[tokio::test]
async fn a_booking_whose_lock_never_comes_is_rejected_with_timeout_and_a_late_lock_is_removed() {
    let mut system = System::builder()
        .booking_timeout(Duration::from_secs(2))
        .start()
        .await;
    system.add_table("t1", 4).await;
    system.stop_table_manager().await;

    let (status, booking) = system
        .post_json(
            "/bookings?wait=0",
            &json!({"tableId": "t1", "timeSlot": Slot::dinner(2).json()}),
        )
        .await;
    assert_eq!(status, 202, "{booking}");
    let id = booking["id"].as_str().expect("id").to_owned();
    let events = system.wait_for_booking(&id, "table-booking-rejected").await;
    match &events[1].event {
        BookingEvent::Rejected(rejected) => assert_eq!(rejected.reason, RejectionReason::Timeout),
        other => panic!("expected a rejection, got {other:?}"),
    }

    // table-manager comes back: it still places the lock for the initiated booking, then
    // sees the rejection and removes it again. The booking stays rejected.
    system.start_table_manager().await;
    let table = system.wait_for_lock_removal("t1").await;
    assert_eq!(
        types(&table),
        ["table-added", "table-lock-placed", "table-lock-removed"]
    );
    match &table[2].event {
        TableEvent::LockRemoved(removed) => {
            assert_eq!(removed.cause, LockRemovalCause::BookingRejected)
        }
        other => panic!("expected a lock removal, got {other:?}"),
    }
    system
        .wait_until_consumed(&[
            ("TABLES", "booking-saga"),
            ("BOOKINGS", "table-locking"),
            ("BOOKINGS", "booking-timeouts"),
        ])
        .await;
    assert_eq!(
        types(&system.booking_events(&id).await),
        ["table-booking-initiated", "table-booking-rejected"]
    );
    system.stop().await;
}

#[tokio::test]
async fn every_event_of_a_booking_carries_its_correlation_id_and_causation_chains() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let (status, booking) = system.book("t1", &Slot::dinner(2), None).await;
    assert_eq!(status, 201, "{booking}");
    let id = booking["id"].as_str().expect("id");
    system.cancel_ok(&booking).await;
    system.wait_for_lock_removal("t1").await;

    let bookings = system.booking_events(id).await;
    let tables = system.table_events("t1").await;
    let saga: Vec<_> = tables.iter().skip(1).collect(); // after table-added
    assert_eq!(types(&bookings).len(), 3);
    assert_eq!(saga.len(), 2);
    for metadata in bookings
        .iter()
        .map(|e| &e.metadata)
        .chain(saga.iter().map(|e| &e.metadata))
    {
        assert_eq!(metadata.correlation_id.to_string(), id, "{metadata:?}");
    }
    // initiated -> lock placed -> confirmed; cancelled -> lock removed.
    let (initiated, confirmed, cancelled) = (&bookings[0], &bookings[1], &bookings[2]);
    let (placed, removed) = (saga[0], saga[1]);
    assert_eq!(
        placed.metadata.causation_id.as_uuid(),
        initiated.metadata.event_id.as_uuid()
    );
    assert_eq!(
        confirmed.metadata.causation_id.as_uuid(),
        placed.metadata.event_id.as_uuid()
    );
    assert_eq!(
        removed.metadata.causation_id.as_uuid(),
        cancelled.metadata.event_id.as_uuid()
    );
    system.stop().await;
}

#[tokio::test]
async fn redelivering_every_message_to_both_sagas_produces_no_second_event() {
    let mut system = System::start().await;
    system.add_table("t1", 2).await;
    let mut ids = Vec::new();
    for (slot, people) in [
        (Slot::dinner(2), 2),
        (Slot::dinner(2), 1),
        (Slot::lunch(2), 3),
    ] {
        let (_, body) = system.book("t1", &slot, Some(people)).await;
        let booking = body.get("booking").unwrap_or(&body);
        ids.push(booking["id"].as_str().expect("id").to_owned());
    }
    let (status, booking) = system.book("t1", &Slot::dinner(3), None).await;
    assert_eq!(status, 201);
    system.cancel_ok(&booking).await;
    system.wait_for_lock_removal("t1").await;
    let tables_before = system.stream_messages("TABLES").await;
    let bookings_before = system.stream_messages("BOOKINGS").await;

    // Forget what both sagas acknowledged: every stored message is delivered again.
    system.stop_booker().await;
    system.stop_table_manager().await;
    let js = async_nats::jetstream::new(system.nats.client().await);
    for (stream, consumer) in [("BOOKINGS", "table-locking"), ("TABLES", "booking-saga")] {
        js.get_stream(stream)
            .await
            .expect("stream")
            .delete_consumer(consumer)
            .await
            .expect("delete consumer");
    }
    system.start_table_manager().await;
    system.start_booker().await;

    // Both consumers get to the end of their streams again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for (stream, consumer) in [("BOOKINGS", "table-locking"), ("TABLES", "booking-saga")] {
        loop {
            let mut info_stream = js.get_stream(stream).await.expect("stream");
            let mut consumer_handle = info_stream
                .get_consumer::<async_nats::jetstream::consumer::pull::Config>(consumer)
                .await
                .expect("consumer");
            let info = consumer_handle.info().await.expect("consumer info");
            let last = info_stream.info().await.expect("info").state.last_sequence;
            if info.ack_floor.stream_sequence >= last {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{consumer} did not catch up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(system.stream_messages("TABLES").await, tables_before);
    assert_eq!(system.stream_messages("BOOKINGS").await, bookings_before);
    system.stop().await;
}

#[tokio::test]
async fn once_quiet_tables_hold_locks_exactly_for_the_confirmed_bookings_that_stand() {
    use domain::{Aggregate as _, Booking, Table};
    use events::BookingStatus;
    use std::collections::BTreeSet;

    let system = System::start().await;
    let tables = ["q1", "q2", "q3"];
    for table in tables {
        system.add_table(table, 4).await;
    }
    // Contended bookings over three tables and two slots, then some cancellations.
    let slots = [Slot::dinner(2), Slot::lunch(2)];
    let attempts = (0..36).map(|i| {
        let table = tables[i % 3];
        let slot = &slots[(i / 3) % 2];
        system.book(table, slot, Some(2))
    });
    let results = futures_util::future::join_all(attempts).await;
    let confirmed: Vec<_> = results.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(confirmed.len(), 6, "one per table and slot: {results:?}");
    for (_, booking) in confirmed.iter().take(3) {
        system.cancel_ok(booking).await;
    }
    // A booking for one freed slot again.
    let (_, first) = confirmed[0];
    let table = first["tableId"].as_str().expect("table");
    let slot = Slot {
        from: first["timeSlot"]["from"].as_str().expect("from").to_owned(),
        to: first["timeSlot"]["to"].as_str().expect("to").to_owned(),
    };
    let mut rebooked = system.book(table, &slot, None).await;
    for _ in 0..100 {
        // The lock of the cancelled booking may not be released yet.
        if rebooked.0 == 201 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rebooked = system.book(table, &slot, None).await;
    }
    assert_eq!(rebooked.0, 201, "{:?}", rebooked.1);
    system
        .wait_until_consumed(&[("BOOKINGS", "table-locking"), ("TABLES", "booking-saga")])
        .await;

    // Locks held, by (table, slot start, booking), from a replay of TABLES ...
    let mut locks = BTreeSet::new();
    for table in tables {
        let state = Table::replay(system.table_events(table).await.iter().map(|r| &r.event));
        for lock in state.locks() {
            locks.insert((table.to_owned(), lock.time_slot.from(), lock.booking_id));
        }
    }
    // ... equal the confirmed, not cancelled bookings, from a replay of BOOKINGS.
    let mut standing = BTreeSet::new();
    let subjects = system.stream_subjects("BOOKINGS").await;
    assert_eq!(subjects.len(), 37);
    for subject in subjects {
        let id = subject.trim_start_matches("bookings.");
        let state = Booking::replay(system.booking_events(id).await.iter().map(|r| &r.event));
        assert_ne!(
            state.status,
            Some(BookingStatus::Initiated),
            "{id} still pending"
        );
        if state.status == Some(BookingStatus::Confirmed) {
            let request = state.request.expect("request");
            for table in &request.table_ids {
                standing.insert((
                    table.as_str().to_owned(),
                    request.time_slot.from(),
                    request.id,
                ));
            }
        }
    }
    assert_eq!(locks, standing);
    assert_eq!(locks.len(), 4);
    system.stop().await;
}
