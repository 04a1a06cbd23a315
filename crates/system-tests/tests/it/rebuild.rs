//! The projector under faults: rebuilds, crashes mid-load, poison events, lag metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use system_tests::{ADMIN, Slot, System};

/// A random-looking but repeatable workload: bookings that get confirmed, taken slots,
/// too-small tables, unknown tables, cancellations, changes, and tables added and removed.
async fn mixed_workload(system: &System, rounds: u64) {
    for id in ["t1", "t2", "t3", "t4"] {
        system.add_table(id, 4).await;
    }
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..rounds {
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let table = ["t1", "t2", "t3", "t4", "ghost"][(next() % 5) as usize];
                let slot = Slot::dinner(1 + (next() % 4) as i64);
                let people = 1 + (next() % 6) as u8;
                (table, slot, people)
            })
            .collect();
        let results = join_all(
            requests
                .iter()
                .map(|(table, slot, people)| system.book(table, slot, Some(*people))),
        )
        .await;
        for (index, (status, booking)) in results.iter().enumerate() {
            if *status == 201 && (index + round as usize).is_multiple_of(3) {
                system.cancel_ok(booking).await;
            } else if *status == 201 && (index + round as usize).is_multiple_of(4) {
                // Moved to lunch (made, or refused when taken), or pending a moment.
                let lunch = Slot::lunch(1 + (next() % 4) as i64);
                let (status, answer) = system
                    .change(
                        booking,
                        &json!({"timeSlot": lunch.json()}),
                        (round % 2) as u8,
                    )
                    .await;
                assert!([200, 202, 409].contains(&status), "{status} {answer}");
            }
        }
        if round == rounds / 2 {
            system.add_table("late", 6).await;
            let removed = system
                .http
                .delete(system.url("/tables/t4"))
                .bearer_auth(ADMIN)
                .send()
                .await
                .expect("DELETE");
            assert!([200, 409].contains(&removed.status().as_u16()));
        }
    }
}

#[tokio::test]
async fn a_rebuilt_read_model_equals_the_incrementally_built_one() {
    let system = System::start().await;
    mixed_workload(&system, 12).await;
    system.wait_until_projected().await;
    let before = system.current_bucket().await;
    let incremental = system.snapshot(&before).await;
    assert!(incremental.keys().any(|k| k.starts_with("booking.")));
    assert!(incremental.keys().any(|k| k.starts_with("day.")));

    let (_, tables_before) = system.get("/tables", &[]).await;
    let rebuilt = projector::rebuild(&system.projector_config())
        .await
        .expect("rebuild");
    assert!(rebuilt.events > 0);
    let after = system.current_bucket().await;
    assert_ne!(
        before.name, after.name,
        "queries switched to the new generation"
    );
    let fresh = system.snapshot(&after).await;
    assert_eq!(diff(&incremental, &fresh), Vec::<String>::new());

    // The gateway follows the switch and the running projector keeps the new one current.
    let (_, tables_after) = system.get("/tables", &[]).await;
    assert_eq!(tables_before, tables_after);
    let (status, booking) = system.book("t1", &Slot::lunch(6), None).await;
    assert_eq!(status, 201);
    let id = booking["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    system.stop().await;
}

/// Keys whose documents differ, are missing, or are extra.
fn diff(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} != {:?}", a.get(k), b.get(k)))
        .collect()
}

#[tokio::test]
async fn a_projector_killed_mid_load_catches_up_and_matches_the_event_log() {
    let mut system = System::start().await;
    for id in ["t1", "t2", "t3"] {
        system.add_table(id, 4).await;
    }
    let slots: Vec<Slot> = (1..=20).map(Slot::dinner).collect();
    let projector = system.take_projector().expect("projector running");
    let system_ref = &system;
    let load = async {
        let requests = slots.iter().flat_map(|slot| {
            ["t1", "t2", "t3", "t1"]
                .into_iter()
                .map(move |table| (table, slot.clone()))
        });
        join_all(
            requests.map(|(table, slot)| async move { system_ref.book(table, &slot, None).await }),
        )
        .await
    };
    // Crash the projector while the bookings pour in.
    let crash = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        projector.kill();
    };
    let (results, ()) = tokio::join!(load, crash);
    system.start_projector().await;
    system.wait_until_projected().await;

    let created = results.iter().filter(|(status, _)| *status == 201).count();
    let refused = results.iter().filter(|(status, _)| *status == 409).count();
    assert_eq!(
        (created, refused),
        (60, 20),
        "one booking per table and slot"
    );
    for (_, booking) in &results {
        let id = booking
            .get("id")
            .or_else(|| booking.get("booking").and_then(|b| b.get("id")))
            .and_then(Value::as_str)
            .expect("id");
        let events = system.booking_events(id).await;
        let expected = match events.last().map(|e| e.metadata.event_type.as_str()) {
            Some("table-booking-confirmed") => "confirmed",
            Some("table-booking-rejected") => "rejected",
            other => panic!("booking {id} not decided: {other:?}"),
        };
        let (status, read) = system.get(&format!("/bookings/{id}"), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(read["status"], expected, "{id}");
    }

    // And the model equals a fresh replay of the log.
    let before = system.snapshot(&system.current_bucket().await).await;
    projector::rebuild(&system.projector_config())
        .await
        .expect("rebuild");
    let after = system.snapshot(&system.current_bucket().await).await;
    assert_eq!(diff(&before, &after), Vec::<String>::new());
    system.stop().await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_later_events_are_projected() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let js = async_nats::jetstream::new(system.nats.client().await);
    js.publish(
        "bookings.0193f0b4-0000-7000-8000-00000000beef",
        "not an event".into(),
    )
    .await
    .expect("publish")
    .await
    .expect("stored");

    let (status, booking) = system.book("t1", &Slot::dinner(2), None).await;
    assert_eq!(status, 201);
    let id = booking["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    let subjects = system.stream_subjects("DEAD_LETTERS").await;
    assert!(
        subjects.contains(&"deadletter.BOOKINGS.projector".to_owned()),
        "{subjects:?}"
    );
    let metrics = system.projector_metrics().await;
    assert!(
        metrics.contains(r#"projector_dead_lettered_total{stream="BOOKINGS"} 1"#),
        "{metrics}"
    );
    system.stop().await;
}

#[tokio::test]
async fn metrics_show_each_streams_last_and_applied_sequence_and_readiness_holds_while_lagging() {
    let mut system = System::start().await;
    system.add_table("t1", 4).await;
    system.stop_projector().await;
    let (status, _) = system.book("t1", &Slot::dinner(2), None).await;
    assert_eq!(status, 201);
    system.start_projector().await;
    system.wait_until_projected().await;
    let mut expected = Vec::new();
    for stream in ["TABLES", "BOOKINGS"] {
        let last = system.last_sequence(stream).await;
        expected.push(format!(
            r#"projector_applied_sequence{{stream="{stream}"}} {last}"#
        ));
        expected.push(format!(
            r#"projector_stream_last_sequence{{stream="{stream}"}} {last}"#
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = system.projector_metrics().await;
        if expected.iter().all(|line| metrics.contains(line.as_str())) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{expected:?} not in {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    system.stop().await;
}

#[tokio::test]
async fn read_models_of_an_earlier_format_are_rebuilt_when_the_projector_starts() {
    let mut system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    let slot = Slot::dinner(3);
    let (status, _) = system.book("t1", &slot, Some(2)).await;
    assert_eq!(status, 201);
    system.wait_until_projected().await;

    // As an earlier release left them: a generation in a bucket named by its number, a
    // pointer without a format, no availability index.
    system.stop_projector().await;
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let control = ops.get_key_value("read_models").await.expect("control");
    let old = control.get("current").await.expect("get").expect("pointer");
    let old: Value = serde_json::from_slice(&old).expect("json");
    let generation = old["generation"].as_u64().expect("generation");
    let current = system.current_bucket().await;
    let legacy_name = format!("read_model_g{generation}");
    let legacy = ops
        .create_key_value(async_nats::jetstream::kv::Config {
            bucket: legacy_name.clone(),
            history: 1,
            ..Default::default()
        })
        .await
        .expect("a bucket named as an earlier release named them");
    let keys: Vec<String> =
        futures_util::TryStreamExt::try_collect(current.keys().await.expect("keys"))
            .await
            .expect("keys");
    for key in keys
        .iter()
        .filter(|k| !k.starts_with("busy.") && *k != "generation")
    {
        let value = current.get(key).await.expect("get").expect("value");
        legacy.put(key, value).await.expect("put");
    }
    control
        .put(
            "current",
            format!(r#"{{"generation":{generation}}}"#).into(),
        )
        .await
        .expect("put");
    // The gateway reads the earlier release's generation.
    let tables = |status: u16, body: &Value| status == 200 && body["tables"][0]["id"] == "t1";
    system.wait_for_get("/tables", &[], tables).await;
    ops.delete_key_value(&current.name)
        .await
        .expect("delete the bucket of this release's naming");
    system.wait_for_get("/tables", &[], tables).await;

    system.start_projector().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = control.get("current").await.expect("get").expect("pointer");
        let now: Value = serde_json::from_slice(&now).expect("json");
        if now["generation"].as_u64() != Some(generation) {
            assert_eq!(now["format"], events::read_model::FORMAT, "{now}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never rebuilt");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The earlier release's bucket is retired once nothing reads it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while ops.get_key_value(&legacy_name).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{legacy_name} never retired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let date = slot.json()["from"].as_str().expect("from")[..10].to_owned();
    let (status, offered) = system
        .get(
            &format!("/booking-slots?startDate={date}&endDate={date}&people=2"),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{offered}");
    let from = slot.json()["from"].as_str().expect("from")[..19].to_owned();
    let dinner = offered["availabilities"][0]["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .find(|s| {
            s["startTime"]
                .as_str()
                .is_some_and(|t| t.starts_with(&from))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        dinner["availableTables"],
        serde_json::json!(["t2"]),
        "{offered}"
    );
    system.stop().await;
}

/// A booking as folded by this test from its events, independently of the projector.
#[derive(Debug, Default, PartialEq)]
struct Folded {
    status: &'static str,
    tables: Vec<String>,
    from: String,
    to: String,
    people: Option<u8>,
}

/// Every booking folded from `BOOKINGS`, read directly, with code of its own (invariant 5
/// must not be checked by the projector's code against itself).
async fn fold_bookings(system: &System) -> BTreeMap<String, Folded> {
    use events::BookingEvent as E;
    let mut folded = BTreeMap::new();
    for subject in system.stream_subjects("BOOKINGS").await {
        let Some(id) = subject.strip_prefix("bookings.") else {
            continue;
        };
        let mut booking = Folded::default();
        for recorded in system.booking_events(id).await {
            match recorded.event {
                E::Initiated(e) => {
                    booking.status = "initiated";
                    booking.tables = e.table_ids.iter().map(ToString::to_string).collect();
                    booking.from = e.time_slot.from().to_string();
                    booking.to = e.time_slot.to().to_string();
                    booking.people = e.people.map(|p| p.get());
                }
                E::Confirmed(_) => booking.status = "confirmed",
                E::Rejected(_) => booking.status = "rejected",
                E::Cancelled(_) => booking.status = "cancelled",
                E::Reassigned(e) => {
                    booking.tables = e.table_ids.iter().map(ToString::to_string).collect();
                }
                E::Changed(e) => {
                    booking.tables = e.to.table_ids.iter().map(ToString::to_string).collect();
                    booking.from = e.to.time_slot.from().to_string();
                    booking.to = e.to.time_slot.to().to_string();
                    booking.people = e.to.people.map(|p| p.get()).or(booking.people);
                }
                E::ChangeRequested(_) | E::ChangeRejected(_) | E::CustomerErased(_) => {}
            }
        }
        booking.tables.sort();
        folded.insert(id.to_owned(), booking);
    }
    folded
}

/// The same booking as `GET /bookings/{id}` answers it (from the read models).
fn as_read(view: &Value) -> Folded {
    let instant = |v: &Value| {
        v.as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    let mut tables: Vec<String> = view["tableIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    tables.sort();
    let status = match view["status"].as_str() {
        Some("initiated") => "initiated",
        Some("confirmed") => "confirmed",
        Some("rejected") => "rejected",
        Some("cancelled") => "cancelled",
        _ => "unknown",
    };
    Folded {
        status,
        tables,
        from: instant(&view["timeSlot"]["from"]),
        to: instant(&view["timeSlot"]["to"]),
        people: view["people"].as_u64().and_then(|p| u8::try_from(p).ok()),
    }
}

#[tokio::test]
async fn the_read_side_equals_a_fold_of_the_streams_written_apart_from_the_projector() {
    let system = System::start().await;
    mixed_workload(&system, 10).await;
    // Decided: every booking final (a change pending a moment is rolled back or made).
    system
        .wait_until_consumed(&[("BOOKINGS", "table-locking"), ("TABLES", "booking-saga")])
        .await;
    system.wait_until_projected().await;

    // Every booking as the streams say.
    let bookings = fold_bookings(&system).await;
    assert!(bookings.values().any(|b| b.status == "confirmed"));
    assert!(bookings.values().any(|b| b.status == "cancelled"));
    for (id, folded) in &bookings {
        let (status, view) = system.get(&format!("/bookings/{id}"), &[]).await;
        assert_eq!(status, 200, "{id}: {view}");
        assert_eq!(&as_read(&view), folded, "booking {id} as read: {view}");
    }

    // The tables, and which are free at each dinner, as the streams say.
    let mut seats: BTreeMap<String, u64> = BTreeMap::new();
    let mut locks: BTreeMap<(String, String), String> = BTreeMap::new();
    for subject in system.stream_subjects("TABLES").await {
        let Some(table) = subject.strip_prefix("tables.") else {
            continue;
        };
        for recorded in system.table_events(table).await {
            match recorded.event {
                events::TableEvent::Added(e) => {
                    seats.insert(e.id.to_string(), u64::from(e.seats.get()));
                }
                events::TableEvent::Removed(e) => {
                    seats.remove(&e.id.to_string());
                }
                events::TableEvent::LockPlaced(e) => {
                    let key = (e.id.to_string(), e.time_slot.from().to_string());
                    locks.insert(key, e.booking_id.to_string());
                }
                events::TableEvent::LockRemoved(e) => {
                    let key = (e.id.to_string(), e.time_slot.from().to_string());
                    if locks.get(&key) == Some(&e.booking_id.to_string()) {
                        locks.remove(&key);
                    }
                }
                _ => {}
            }
        }
    }
    let (_, listed) = system.get("/tables", &[]).await;
    let listed: BTreeMap<String, u64> = listed["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or_default().to_owned(),
                t["seats"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(listed, seats, "GET /tables against the table events");
    for days in 1..=4 {
        let slot = Slot::dinner(days);
        let from = slot
            .from
            .parse::<jiff::Timestamp>()
            .expect("from")
            .to_string();
        let date = &slot.from[..10];
        let (_, offered) = system
            .get(
                &format!("/booking-slots?startDate={date}&endDate={date}&people=1"),
                &[],
            )
            .await;
        let free: Vec<String> = offered["availabilities"][0]["slots"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| {
                s["startTime"]
                    .as_str()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(|t| t.to_string())
                    == Some(from.clone())
            })
            .map(|s| {
                s["availableTables"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<String> = seats
            .keys()
            .filter(|table| !locks.contains_key(&((*table).clone(), from.clone())))
            .cloned()
            .collect();
        assert_eq!(
            free, expected,
            "free at dinner on {date} against the lock events"
        );
    }
    system.stop().await;
}
