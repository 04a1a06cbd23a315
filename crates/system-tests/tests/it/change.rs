//! Changing a booking (API.md v2 "Changing a booking", ADR 0029): the new tables are locked
//! before the old ones are released; a change takes effect whole or leaves the booking as
//! it was (invariant 9), also when table-manager is down and the change times out.

use std::time::Duration;

use serde_json::{Value, json};

use system_tests::{Slot, System, fields};

/// Books `table` in `slot` for `people` and expects it confirmed.
async fn booked(system: &System, table: &str, slot: &Slot, people: u8) -> Value {
    let (status, booking) = system.book(table, slot, Some(people)).await;
    assert_eq!(status, 201, "{booking}");
    booking
}

/// Whether `table` can be booked in `slot` now: books it and cancels at once.
async fn bookable(system: &System, table: &str, slot: &Slot) -> bool {
    let (status, booking) = system.book(table, slot, None).await;
    if status == 201 {
        system.cancel_ok(&booking).await;
    }
    status == 201
}

/// `GET /bookings/{id}` with the booking's code, once `done` holds.
async fn read_back(system: &System, booking: &Value, done: impl Fn(&Value) -> bool) -> Value {
    let id = booking["id"].as_str().expect("id");
    let code = booking["accessCode"].as_str().expect("code");
    let path = format!("/bookings/{id}");
    let headers = [("X-Access-Code", code)];
    let (_, body) = system
        .wait_for_get(&path, &headers, |status, body| status == 200 && done(body))
        .await;
    body
}

#[tokio::test]
async fn a_guest_moves_a_booking_to_another_slot_and_keeps_the_table_which_is_free_again_at_the_old_one()
 {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let (dinner, lunch) = (Slot::dinner(3), Slot::lunch(3));
    let booking = booked(&system, "t1", &dinner, 2).await;

    let (status, changed) = system
        .change(&booking, &json!({"timeSlot": lunch.json()}), 5)
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["status"], "confirmed");
    assert_eq!(changed["tableIds"], json!(["t1"]));
    assert_eq!(
        changed["timeSlot"]["from"].as_str().map(|s| &s[..16]),
        Some(&lunch.from[..16])
    );
    assert_eq!(changed["people"], 2);
    assert_eq!(changed.get("pendingChange"), None);
    assert_eq!(
        changed.get("accessCode"),
        None,
        "the code is shown only on creation"
    );

    // Dinner is free again, lunch is held.
    assert!(
        bookable(&system, "t1", &dinner).await,
        "the old slot is released"
    );
    let (status, refused) = system.book("t1", &lunch, None).await;
    assert_eq!(status, 409, "{refused}");
    // The read side follows; the history tells the change.
    let view = read_back(&system, &booking, |b| {
        b["timeSlot"]["from"] == changed["timeSlot"]["from"]
    })
    .await;
    assert_eq!(view["tableIds"], json!(["t1"]));
    system.stop().await;
}

#[tokio::test]
async fn a_larger_party_is_moved_to_a_combination_holding_its_table_and_the_one_joined_to_it() {
    let system = System::start().await;
    for table in ["t1", "t2", "t3"] {
        system.add_table(table, 2).await;
    }
    let combination = json!({"id": "c12", "tables": ["t1", "t2"], "seats": 4});
    let (status, answer) = system.admin_post("/table-combinations", &combination).await;
    assert_eq!(status, 201, "{answer}");
    let dinner = Slot::dinner(4);
    let booking = booked(&system, "t1", &dinner, 2).await;
    // The read side must know the combination and the booking's lock.
    read_back(&system, &booking, |b| b["status"] == "confirmed").await;

    let (status, changed) = system.change(&booking, &json!({"people": 4}), 5).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["tableIds"], json!(["t1", "t2"]));
    assert_eq!(changed.get("tableId"), None);
    assert_eq!(changed["people"], 4);
    let (status, refused) = system.book("t2", &dinner, None).await;
    assert_eq!(status, 409, "t2 is held with t1: {refused}");

    // Back to two at t3: t1 and t2 are both freed, t3 held.
    let (status, changed) = system
        .change(&booking, &json!({"people": 2, "tableId": "t3"}), 5)
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["tableIds"], json!(["t3"]));
    assert!(bookable(&system, "t1", &dinner).await);
    assert!(bookable(&system, "t2", &dinner).await);
    assert!(!bookable(&system, "t3", &dinner).await);
    system.stop().await;
}

#[tokio::test]
async fn a_change_to_a_taken_table_is_refused_with_alternatives_and_the_booking_stays_as_it_was() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    let (dinner, lunch) = (Slot::dinner(5), Slot::lunch(5));
    let mine = booked(&system, "t1", &dinner, 2).await;
    let _theirs = booked(&system, "t2", &lunch, 2).await;

    // Whether the read side or table-manager sees it first, the answer is the same.
    let (status, problem) = system
        .change(
            &mine,
            &json!({"timeSlot": lunch.json(), "tableId": "t2"}),
            5,
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reason"], "slot-taken");
    let alternatives = problem["alternatives"].as_array().expect("alternatives");
    assert!(!alternatives.is_empty(), "{problem}");
    assert_eq!(
        alternatives[0]["timeSlot"]["from"]
            .as_str()
            .map(|s| &s[..16]),
        Some(&dinner.from[..16]),
        "the same day first: dinner, where its own table counts as free to it"
    );
    assert_eq!(alternatives[0]["tableIds"], json!(["t1"]));
    assert_eq!(problem["booking"]["tableIds"], json!(["t1"]));
    assert_eq!(problem["booking"]["status"], "confirmed");

    // Unchanged: t1 still held at dinner.
    let (status, _) = system.book("t1", &dinner, None).await;
    assert_eq!(status, 409);
    system.stop().await;
}

#[tokio::test]
async fn a_change_is_refused_for_a_wrong_code_bad_fields_and_a_booking_that_is_not_confirmed() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let dinner = Slot::dinner(6);
    let booking = booked(&system, "t1", &dinner, 2).await;
    let id = booking["id"].as_str().expect("id");
    let path = format!("/bookings/{id}/change");
    let confirmed = system.booking_event_types(id).await;

    let (status, _) = system
        .post_json(&path, &json!({"accessCode": "WRONG", "people": 3}))
        .await;
    assert_eq!(status, 403);
    system
        .assert_unchanged(id, &confirmed, "a change with a wrong code")
        .await;
    let (status, _) = system.post_json(&path, &json!({"people": 3})).await;
    assert_eq!(status, 403, "no code");
    let (status, problem) = system.change(&booking, &json!({}), 5).await;
    assert_eq!(status, 400);
    assert_eq!(fields(&problem), ["timeSlot", "people", "tableId"]);
    let (status, problem) = system.change(&booking, &json!({"people": 51}), 5).await;
    assert_eq!((status, fields(&problem)), (400, vec!["people".to_owned()]));
    system
        .assert_unchanged(id, &confirmed, "changes without a code or with bad fields")
        .await;
    let unknown = "/bookings/0193f0b4-7c1e-7000-8000-000000000001/change";
    let (status, _) = system
        .post_json(unknown, &json!({"accessCode": "K7QX2", "people": 3}))
        .await;
    assert_eq!(status, 404);
    assert!(
        system
            .booking_events("0193f0b4-7c1e-7000-8000-000000000001")
            .await
            .is_empty(),
        "a change of an unknown booking wrote to it"
    );

    // A cancel with a wrong code writes nothing either.
    let (status, _) = system
        .post_json(
            &format!("/bookings/{id}/cancel"),
            &json!({"accessCode": "WRONG"}),
        )
        .await;
    assert_eq!(status, 403);
    system
        .assert_unchanged(id, &confirmed, "a cancel with a wrong code")
        .await;

    system.cancel_ok(&booking).await;
    let cancelled = system.booking_event_types(id).await;
    let (status, problem) = system.change(&booking, &json!({"people": 3}), 5).await;
    assert_eq!(status, 409, "{problem}");
    // Cancelling again answers the cancelled booking (idempotent), writing nothing.
    system.cancel_ok(&booking).await;
    system
        .assert_unchanged(
            id,
            &cancelled,
            "a change and a cancel of a cancelled booking",
        )
        .await;
    system.stop().await;
}

#[tokio::test]
async fn a_change_left_pending_while_table_manager_is_down_is_rolled_back_in_time_and_nothing_is_held_twice()
 {
    let mut system = System::builder()
        .booking_timeout(Duration::from_secs(3))
        .start()
        .await;
    system.add_table("t1", 4).await;
    let (dinner, lunch) = (Slot::dinner(7), Slot::lunch(7));
    let booking = booked(&system, "t1", &dinner, 2).await;

    system.stop_table_manager().await;
    let (status, pending) = system
        .change(&booking, &json!({"timeSlot": lunch.json()}), 1)
        .await;
    assert_eq!(status, 202, "{pending}");
    assert_eq!(pending["status"], "confirmed");
    assert_eq!(pending["pendingChange"]["tableIds"], json!(["t1"]));
    assert_eq!(
        pending["timeSlot"]["from"].as_str().map(|s| &s[..16]),
        Some(&dinner.from[..16])
    );

    // Rolled back after BOOKING_TIMEOUT, table-manager still down.
    let view = read_back(&system, &booking, |b| b.get("pendingChange").is_none()).await;
    assert_eq!(view["timeSlot"]["from"], pending["timeSlot"]["from"]);

    // Back up, table-manager sees the request and its rollback: nothing is left at lunch,
    // dinner stays held.
    system.start_table_manager().await;
    system
        .wait_until_consumed(&[("BOOKINGS", "table-locking"), ("TABLES", "booking-saga")])
        .await;
    system.wait_until_projected().await;
    assert!(
        bookable(&system, "t1", &lunch).await,
        "the rolled back change holds nothing"
    );
    let (status, _) = system.book("t1", &dinner, None).await;
    assert_eq!(status, 409, "the booking keeps its table");
    system.stop().await;
}

#[tokio::test]
async fn a_change_asked_while_table_manager_is_down_takes_effect_once_it_is_back() {
    let mut system = System::start().await;
    system.add_table("t1", 4).await;
    let (dinner, lunch) = (Slot::dinner(8), Slot::lunch(8));
    let booking = booked(&system, "t1", &dinner, 2).await;

    system.stop_table_manager().await;
    let (status, pending) = system
        .change(&booking, &json!({"timeSlot": lunch.json()}), 0)
        .await;
    assert_eq!(status, 202, "{pending}");
    // The same change asked again waits for the first; another is refused meanwhile.
    let (status, again) = system
        .change(&booking, &json!({"timeSlot": lunch.json()}), 0)
        .await;
    assert_eq!(status, 202, "{again}");
    let (status, other) = system.change(&booking, &json!({"people": 3}), 0).await;
    assert_eq!(status, 409, "{other}");

    system.start_table_manager().await;
    let view = read_back(&system, &booking, |b| {
        b.get("pendingChange").is_none() && b["timeSlot"]["from"] != pending["timeSlot"]["from"]
    })
    .await;
    assert_eq!(view["tableIds"], json!(["t1"]));
    assert!(
        bookable(&system, "t1", &dinner).await,
        "the old slot is released"
    );
    let (status, _) = system.book("t1", &lunch, None).await;
    assert_eq!(status, 409, "the new slot is held");
    system.stop().await;
}
