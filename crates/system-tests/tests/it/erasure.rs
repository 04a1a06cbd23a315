//! Personal data (API.md "Guessing, limits and personal data", DESIGN.md invariant 10):
//! a customer's name and email are never stored in clear, and after erasure they cannot
//! be read anywhere, while the booking itself (table, slot, status, history) stays.

use std::path::Path;

use serde_json::{Value, json};
use system_tests::{ADMIN, Slot, System, read};

/// Whether any file under `dir` holds `needle` (the NATS store: streams, buckets, indexes).
fn store_holds(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

async fn book_as(system: &System, table: &str, name: &str, email: &str) -> Value {
    let body = json!({"tableId": table, "timeSlot": Slot::dinner(3).json(), "people": 2,
                      "customer": {"name": name, "email": email}});
    let (status, booking) = system.post_json("/bookings", &body).await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(
        booking["customer"]["name"], name,
        "the creator sees the customer"
    );
    booking
}

async fn as_admin(
    system: &System,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = system
        .http
        .request(method, system.url(path))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("request");
    read(response).await
}

#[tokio::test]
async fn a_customer_is_never_stored_in_clear_and_after_erasure_cannot_be_read_anywhere() {
    let system = System::builder().nats_users().start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    let (name, email) = ("Zebulon Quartermaine", "zebulon.quartermaine@example.org");
    let (other_name, other_email) = ("Philippa Oddbody", "philippa.oddbody@example.org");
    let mine = book_as(&system, "t1", name, email).await;
    let other = book_as(&system, "t2", other_name, other_email).await;
    let id = mine["id"].as_str().expect("id");
    let code = mine["accessCode"].as_str().expect("code");
    let path = format!("/bookings/{id}");
    system
        .wait_for_get(&path, &[], |status, body| {
            status == 200 && body["status"] == "confirmed"
        })
        .await;
    // The holder of the code and the admin see the customer; the store has it only sealed.
    let (_, seen) = system.get(&path, &[("X-Access-Code", code)]).await;
    assert_eq!(seen["customer"]["email"], email, "{seen}");
    let (status, found) = system
        .post_json(
            "/bookings/lookup",
            &json!({"email": email, "accessCode": code}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["customer"]["name"], name);
    let store = system.nats.store_dir();
    for needle in [name, email, other_name, other_email] {
        let holders = store_holds(&store, needle.as_bytes());
        assert!(holders.is_empty(), "{needle:?} in clear in {holders:?}");
    }
    // The public `/metrics` counts, and names nobody and no booking (ADR 0025).
    let metrics = system
        .http
        .get(system.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for needle in [name, email, id, "203.0.113", "127.0.0.1"] {
        assert!(!metrics.contains(needle), "{needle:?} in /metrics");
    }
    // What unlocks it: the booking's data key, on disk in the booker's bucket.
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let keys = ops.get_key_value("customer_keys").await.expect("bucket");
    let data_key = keys.get(id).await.expect("get").expect("a data key");
    assert!(
        !store_holds(&store, &data_key).is_empty(),
        "the key is not where it is looked for"
    );

    // The guest erases their own data with the code.
    let response = system
        .http
        .delete(system.url(&format!("{path}/customer")))
        .header("X-Access-Code", code)
        .send()
        .await
        .expect("erase");
    let (status, erased) = read(response).await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["customer"], Value::Null, "{erased}");
    assert_eq!(erased["customerErased"], true, "{erased}");
    assert_eq!(erased["status"], "confirmed", "the booking stands");
    // The key is gone from the bucket and its bytes from the disk (secure erase).
    assert_eq!(keys.get(id).await.expect("get"), None);
    let holders = store_holds(&store, &data_key);
    assert!(
        holders.is_empty(),
        "the erased key is still on disk in {holders:?}"
    );

    // Staff erase the other by email.
    let (status, body) = as_admin(
        &system,
        reqwest::Method::POST,
        "/customers/erase",
        json!({"email": " PHILIPPA.Oddbody@example.org "}),
    )
    .await;
    assert_eq!(
        (status, &body["erasedBookings"]),
        (200, &json!(1)),
        "{body}"
    );

    // Nothing of either can be read any more; the bookings and their slots stay.
    let (status, _) = system
        .post_json(
            "/bookings/lookup",
            &json!({"email": email, "accessCode": code}),
        )
        .await;
    assert_eq!(status, 404, "lookup by an erased email");
    let (_, seen) = system
        .wait_for_get(&path, &[("X-Access-Code", code)], |_, body| {
            body["customerErased"] == true
        })
        .await;
    assert_eq!(seen["customer"], Value::Null);
    assert_eq!(seen["status"], "confirmed");
    let (status, history) = system
        .get(&format!("{path}/history"), &[("X-Access-Code", code)])
        .await;
    assert_eq!(status, 200);
    assert!(!history.to_string().contains("Zebulon"), "{history}");
    let other_path = format!("/bookings/{}", other["id"].as_str().expect("id"));
    let (status, body) = as_admin(&system, reqwest::Method::GET, &other_path, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["customerErased"], true, "{body}");
    let (status, taken) = system.book("t1", &Slot::dinner(3), Some(2)).await;
    assert_eq!(
        (status, &taken["booking"]["reason"]),
        (409, &json!("slot-taken"))
    );
    // Erasing again is fine and erases nothing more.
    let (_, body) = as_admin(
        &system,
        reqwest::Method::POST,
        "/customers/erase",
        json!({"email": other_email}),
    )
    .await;
    assert_eq!(body["erasedBookings"], 0, "{body}");
    let store = system.nats.store_dir();
    for needle in [name, email, other_name, other_email] {
        let holders = store_holds(&store, needle.as_bytes());
        assert!(holders.is_empty(), "{needle:?} in clear in {holders:?}");
    }
    system.stop().await;
}

#[tokio::test]
async fn erasure_needs_the_code_or_the_admin_and_names_bad_input() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let mine = book_as(&system, "t1", "Ada", "ada@example.com").await;
    let id = mine["id"].as_str().expect("id");
    let booked = system.booking_event_types(id).await;
    assert!(
        system.has_data_key(id).await,
        "a booking with a customer has a key"
    );
    let response = system
        .http
        .delete(system.url(&format!("/bookings/{id}/customer")))
        .header("X-Access-Code", "ZZZZZ")
        .send()
        .await
        .expect("erase");
    assert_eq!(response.status(), 403);
    system
        .assert_unchanged(id, &booked, "an erasure with a wrong code")
        .await;
    assert!(
        system.has_data_key(id).await,
        "a refused erasure deleted the key"
    );
    let response = system
        .http
        .post(system.url("/customers/erase"))
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .expect("erase");
    assert_eq!(response.status(), 401);
    system
        .assert_unchanged(id, &booked, "an erasure by email without the token")
        .await;
    assert!(
        system.has_data_key(id).await,
        "a refused erasure deleted the key"
    );
    let (status, problem) = as_admin(
        &system,
        reqwest::Method::POST,
        "/customers/erase",
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "email");
    assert!(
        system.has_data_key(id).await,
        "a refused erasure deleted the key"
    );
    let unknown = "0193f0b4-7c1e-7000-8000-000000000009";
    let (status, _) = as_admin(
        &system,
        reqwest::Method::DELETE,
        &format!("/bookings/{unknown}/customer"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(system.booking_events(unknown).await.is_empty());
    system
        .assert_unchanged(id, &booked, "erasures refused")
        .await;
    assert!(
        system.has_data_key(id).await,
        "a refused erasure deleted the key"
    );
    system.stop().await;
}
