//! The booking routes over HTTP: validation, outcomes, concurrency, cancel, idempotency.

use futures_util::future::join_all;
use serde_json::{Value, json};

use system_tests::{ADMIN, Slot, System, fields, read, types};

#[tokio::test]
async fn a_booking_of_a_free_table_is_confirmed_with_an_access_code() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let slot = Slot::dinner(3);
    let body = json!({"tableId": "t1", "timeSlot": slot.json(), "people": 4,
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}});
    let (status, booking) = system.post_json("/bookings", &body).await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(booking["tableId"], "t1");
    assert_eq!(booking["tableIds"], json!(["t1"]));
    assert_eq!(booking["people"], 4);
    assert_eq!(booking["customer"]["email"], "ada@example.com");
    let from = booking["timeSlot"]["from"].as_str().expect("from");
    assert!(from.ends_with(".000Z"), "{from}");
    let code = booking["accessCode"].as_str().expect("access code");
    assert_eq!(code.len(), 5);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );

    // The events keep a digest of the code, never the code.
    let id = booking["id"].as_str().expect("id");
    let events = system.booking_events(id).await;
    assert_eq!(
        types(&events),
        ["table-booking-initiated", "table-booking-confirmed"]
    );
    use events::DomainEvent as _;
    let stored = String::from_utf8(events[0].event.encode().expect("encode")).expect("utf-8");
    assert!(!stored.contains(code), "{stored}");

    // The alias route books too.
    let (status, other) = system
        .post_json(
            "/booking/initiate",
            &json!({"tableId": "t1", "timeSlot": Slot::lunch(3).json()}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    system.stop().await;
}

#[tokio::test]
async fn invalid_booking_requests_answer_400_naming_each_field_and_write_nothing() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let dinner = Slot::dinner(1);
    let not_a_slot = json!({"from": dinner.from, "to": Slot::dinner(2).to});
    let past = Slot::dinner(-1);
    let cases = [
        (
            json!({"timeSlot": dinner.json()}),
            vec!["tableId", "people"],
        ),
        (json!({"tableId": "t1"}), vec!["timeSlot"]),
        (
            json!({"tableId": "t 1", "timeSlot": dinner.json()}),
            vec!["tableId"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": {"from": "tomorrow", "to": dinner.to}}),
            vec!["timeSlot.from"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": {"from": dinner.from}}),
            vec!["timeSlot.to"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": not_a_slot}),
            vec!["timeSlot"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": past.json()}),
            vec!["timeSlot.from"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": Slot::dinner(200).json()}),
            vec!["timeSlot.from"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": dinner.json(), "people": 0}),
            vec!["people"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": dinner.json(), "people": 51}),
            vec!["people"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": dinner.json(), "people": "2"}),
            vec!["people"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": dinner.json(), "customer": {"name": "Ada"}}),
            vec!["customer.email"],
        ),
        (
            json!({"tableId": "t1", "timeSlot": dinner.json(), "customer": {"name": "Ada", "email": "no-at"}}),
            vec!["customer.email"],
        ),
        (json!(["tableId"]), vec!["body"]),
    ];
    for (body, expected) in cases {
        let (status, problem) = system.post_json("/bookings", &body).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(fields(&problem), expected, "{body}");
        assert_eq!(problem["status"], 400);
    }

    // Malformed JSON, a bad wait, a bad Idempotency-Key.
    let raw = |body: &'static str, path: &'static str| {
        system
            .http
            .post(system.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let (status, problem) = read(
        raw(r#"{"tableId": "t1", "#, "/bookings")
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((status, fields(&problem)), (400, vec!["body".to_owned()]));
    let valid = json!({"tableId": "t1", "timeSlot": dinner.json()});
    for wait in ["31", "-1", "soon"] {
        let response = system
            .http
            .post(system.url(&format!("/bookings?wait={wait}")))
            .json(&valid)
            .send()
            .await
            .expect("post");
        let (status, problem) = read(response).await;
        assert_eq!(
            (status, fields(&problem)),
            (400, vec!["wait".to_owned()]),
            "{wait}"
        );
    }
    let response = system
        .http
        .post(system.url("/bookings"))
        .header("idempotency-key", "has space")
        .json(&valid)
        .send()
        .await
        .expect("post");
    assert_eq!(read(response).await.0, 400);

    // Over 64 KiB.
    let huge = json!({"tableId": "t1", "timeSlot": dinner.json(),
        "customer": {"name": "x".repeat(70 * 1024), "email": "a@b.c"}});
    let (status, problem) = system.post_json("/bookings", &huge).await;
    assert!(status == 413 || status == 400, "{status}");
    assert_eq!(problem["status"], status);

    assert_eq!(
        system.stream_messages("BOOKINGS").await,
        0,
        "a refused request wrote"
    );
    system.stop().await;
}

#[tokio::test]
async fn a_taken_slot_an_unknown_table_and_a_small_table_answer_409_with_the_reason() {
    let system = System::start().await;
    system.add_table("t1", 2).await;
    let slot = Slot::dinner(4);
    let (status, first) = system.book("t1", &slot, Some(2)).await;
    assert_eq!(status, 201, "{first}");

    for (table, people, reason) in [
        ("t1", Some(2), "slot-taken"),
        ("ghost", None, "table-not-found"),
        ("t1", Some(3), "too-small"),
    ] {
        let slot = if reason == "too-small" {
            Slot::lunch(4)
        } else {
            slot.clone()
        };
        let (status, problem) = system.book(table, &slot, people).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["booking"]["status"], "rejected", "{problem}");
        assert_eq!(problem["booking"]["reason"], reason, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(reason))
        );
    }
    // The unknown table left no subject behind: the booker refused it (ADR 0020).
    let subjects = system.stream_subjects("TABLES").await;
    assert_eq!(subjects, ["tables.t1"]);
    system.stop().await;
}

#[tokio::test]
async fn thirty_concurrent_bookings_of_one_table_and_slot_give_one_201_and_29_409s() {
    let system = System::start().await;
    let tables = ["c1", "c2", "c3"];
    for table in tables {
        system.add_table(table, 4).await;
    }
    let slot = Slot::dinner(5);
    for table in tables {
        let attempts = (0..30).map(|_| system.book(table, &slot, Some(2)));
        let results = join_all(attempts).await;
        let confirmed = results.iter().filter(|(s, _)| *s == 201).count();
        let rejected: Vec<_> = results.iter().filter(|(s, _)| *s == 409).collect();
        assert_eq!(confirmed, 1, "{table}: {results:?}");
        assert_eq!(rejected.len(), 29, "{table}: {results:?}");
        assert!(
            rejected
                .iter()
                .all(|(_, p)| p["booking"]["reason"] == "slot-taken")
        );
        let events = system.table_events(table).await;
        let locks = types(&events)
            .iter()
            .filter(|t| **t == "table-lock-placed")
            .count();
        assert_eq!(locks, 1, "{table}");
    }
    system.stop().await;
}

#[tokio::test]
async fn cancelling_needs_the_access_code_and_frees_the_slot() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let slot = Slot::dinner(6);
    let (status, booking) = system.book("t1", &slot, None).await;
    assert_eq!(status, 201, "{booking}");
    let id = booking["id"].as_str().expect("id").to_owned();
    let code = booking["accessCode"].as_str().expect("code").to_owned();
    let cancel = format!("/bookings/{id}/cancel");

    let (status, _) = system.post_json(&cancel, &json!({})).await;
    assert_eq!(status, 403, "no code");
    let wrong = if code == "22222" { "33333" } else { "22222" };
    let (status, _) = system
        .post_json(&cancel, &json!({"accessCode": wrong}))
        .await;
    assert_eq!(status, 403, "wrong code");
    let (status, _) = system
        .post_json(
            &format!("/bookings/{}/cancel", events::BookingId::new()),
            &json!({"accessCode": code}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        types(&system.booking_events(&id).await).len(),
        2,
        "refusals wrote"
    );

    let (status, cancelled) = system
        .post_json(&cancel, &json!({"accessCode": code.to_lowercase()}))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled.get("accessCode").is_none());

    // table-manager releases the lock; the slot can be booked again.
    system
        .wait_for_table("t1", |events| {
            types(events).last() == Some(&"table-lock-removed")
        })
        .await;
    let (status, again) = system.book("t1", &slot, None).await;
    assert_eq!(status, 201, "{again}");

    // The admin token cancels too, with the header form of the code ignored.
    let again_id = again["id"].as_str().expect("id");
    let response = system
        .http
        .post(system.url(&format!("/bookings/{again_id}/cancel")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("cancel");
    assert_eq!(response.status(), 200);
    system.stop().await;
}

#[tokio::test]
async fn a_rejected_booking_cannot_be_cancelled() {
    let system = System::start().await;
    let (status, problem) = system.book("ghost", &Slot::dinner(2), None).await;
    assert_eq!(status, 409, "{problem}");
    let id = problem["booking"]["id"].as_str().expect("id");
    let response = system
        .http
        .post(system.url(&format!("/bookings/{id}/cancel")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("cancel");
    let (status, body) = read(response).await;
    assert_eq!(status, 409, "{body}");
    system.stop().await;
}

#[tokio::test]
async fn the_same_idempotency_key_twice_gives_one_booking() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let slot = Slot::dinner(7);
    let body = json!({"tableId": "t1", "timeSlot": slot.json()});
    let send = |key: &'static str, body: Value| {
        system
            .http
            .post(system.url("/bookings"))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let (first_status, first) = read(send("key-1", body.clone()).await.expect("post")).await;
    let (second_status, second) = read(send("key-1", body.clone()).await.expect("post")).await;
    assert_eq!(
        (first_status, second_status),
        (201, 201),
        "{first} {second}"
    );
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["accessCode"], second["accessCode"]);
    // The record that makes the retry work keeps the code sealed, the request keyed.
    let code = first["accessCode"].as_str().expect("code");
    let records = system.stream_text("KV_booker_idempotency").await;
    assert!(records.contains("sealedCode"), "{records}");
    assert!(!records.contains(code), "the code is in clear: {records}");
    let events = system.stream_text("BOOKINGS").await;
    assert!(
        events.contains("\"accessCodeDigest\":\"hmac-sha256:"),
        "{events}"
    );
    assert_eq!(
        system.stream_messages("BOOKINGS").await,
        2,
        "initiated + confirmed only"
    );

    // Concurrent retries of a new key agree as well.
    let retries = join_all((0..8).map(|_| {
        send(
            "key-2",
            json!({"tableId": "t1",
        "timeSlot": Slot::lunch(7).json()}),
        )
    }))
    .await;
    let mut ids = Vec::new();
    for response in retries {
        let (status, booking) = read(response.expect("post")).await;
        assert_eq!(status, 201, "{booking}");
        ids.push(booking["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // The same key with another request is refused and writes nothing.
    let other = json!({"tableId": "t1", "timeSlot": Slot::dinner(8).json()});
    let (status, problem) = read(send("key-1", other).await.expect("post")).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem), ["Idempotency-Key"]);
    assert_eq!(system.stream_messages("BOOKINGS").await, 4);
    system.stop().await;
}

#[tokio::test]
async fn wait_zero_answers_202_at_once_with_a_location() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let response = system
        .http
        .post(system.url("/bookings?wait=0"))
        .json(&json!({"tableId": "t1", "timeSlot": Slot::dinner(2).json()}))
        .send()
        .await
        .expect("post");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, booking) = read(response).await;
    assert_eq!(status, 202, "{booking}");
    assert_eq!(booking["status"], "initiated");
    let id = booking["id"].as_str().expect("id");
    assert_eq!(location, Some(format!("/bookings/{id}")));
    assert!(booking["accessCode"].is_string());
    system.wait_for_booking(id, "table-booking-confirmed").await;
    system.stop().await;
}
