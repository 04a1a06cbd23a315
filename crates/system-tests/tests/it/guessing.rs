//! Guessing access codes (API.md "Guessing, limits and personal data"): after ten wrong
//! codes within 15 minutes, per client address, per booking and per email, attempts answer
//! 429 with `Retry-After` and the code is not checked, the right one included. The state
//! is in NATS: a booker started afresh still knows it. Wrong admin tokens are limited per
//! client the same way, over a minute.

use serde_json::{Value, json};
use system_tests::{Slot, System, read};

const WRONG: &str = "ZZZZZ";

/// The builder of every test here: the test's `X-Forwarded-For` names the client.
fn behind_a_proxy() -> system_tests::SystemBuilder {
    System::builder().trusted_proxies("127.0.0.1")
}

async fn booked(system: &System, table: &str, email: &str) -> Value {
    let body = json!({"tableId": table, "timeSlot": Slot::dinner(3).json(), "people": 2,
                      "customer": {"name": "Ada", "email": email}});
    let (status, booking) = system.post_json("/bookings", &body).await;
    assert_eq!(status, 201, "{booking}");
    booking
}

/// `POST /bookings/{id}/cancel` with `code`, from `client`.
async fn cancel(
    system: &System,
    booking: &Value,
    code: &str,
    client: &str,
) -> (u16, Value, Option<u64>) {
    let id = booking["id"].as_str().expect("id");
    let response = system
        .http
        .post(system.url(&format!("/bookings/{id}/cancel")))
        .header("X-Forwarded-For", client)
        .json(&json!({"accessCode": code}))
        .send()
        .await
        .expect("cancel");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let (status, body) = read(response).await;
    (status, body, retry_after)
}

async fn history(system: &System, booking: &Value, code: &str, client: &str) -> u16 {
    let id = booking["id"].as_str().expect("id");
    let response = system
        .http
        .get(system.url(&format!("/bookings/{id}/history")))
        .header("X-Forwarded-For", client)
        .header("X-Access-Code", code)
        .send()
        .await
        .expect("history");
    response.status().as_u16()
}

async fn lookup(system: &System, email: &str, code: &str, client: &str) -> u16 {
    let response = system
        .http
        .post(system.url("/bookings/lookup"))
        .header("X-Forwarded-For", client)
        .json(&json!({"email": email, "accessCode": code}))
        .send()
        .await
        .expect("lookup");
    response.status().as_u16()
}

#[tokio::test]
async fn one_client_is_refused_after_ten_wrong_codes_even_with_the_right_one() {
    let mut system = behind_a_proxy().nats_users().start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    let mine = booked(&system, "t1", "ada@example.com").await;
    let other = booked(&system, "t2", "bob@example.com").await;
    let attacker = "203.0.113.7";
    for attempt in 1..=10 {
        let (status, body, _) = cancel(&system, &mine, WRONG, attacker).await;
        assert_eq!(status, 403, "attempt {attempt}: {body}");
    }
    // The right code, from the same client: refused unchecked, with a time to wait.
    let code = mine["accessCode"].as_str().expect("code");
    let mine_id = mine["id"].as_str().expect("id");
    let confirmed = system.booking_event_types(mine_id).await;
    let (status, problem, retry_after) = cancel(&system, &mine, code, attacker).await;
    assert_eq!(status, 429, "{problem}");
    system
        .assert_unchanged(
            mine_id,
            &confirmed,
            "a cancel with the right code answered 429",
        )
        .await;
    assert_eq!(problem["status"], 429);
    let retry_after = retry_after.expect("Retry-After");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Every route that checks a code, and another booking's, refuse that client too.
    let other_code = other["accessCode"].as_str().expect("code");
    assert_eq!(history(&system, &other, other_code, attacker).await, 429);
    assert_eq!(
        lookup(&system, "bob@example.com", other_code, attacker).await,
        429
    );
    let id = mine["id"].as_str().expect("id");
    let response = system
        .http
        .get(system.url(&format!("/bookings/{id}")))
        .header("X-Forwarded-For", attacker)
        .header("X-Access-Code", code)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 429);
    // Ten wrong codes, each counted for the client and the booking; refusals add nothing.
    assert_eq!(system.stream_messages("ACCESS_GUARD").await, 20);

    // A booker started afresh reads the same limits from NATS.
    system.stop_booker().await;
    system.start_booker().await;
    let (status, _, _) = cancel(&system, &mine, code, attacker).await;
    assert_eq!(status, 429, "the limit lives in NATS, not in one booker");
    // The booking itself is held back for everyone (API.md); other bookings are not,
    // from any other address.
    let (status, _, _) = cancel(&system, &mine, code, "198.51.100.20").await;
    assert_eq!(status, 429, "the booking is limited too");
    system
        .assert_unchanged(
            mine_id,
            &confirmed,
            "cancels with the right code answered 429",
        )
        .await;
    assert_eq!(
        history(&system, &other, other_code, "198.51.100.20").await,
        200
    );
    let violations: Vec<String> = system
        .nats
        .log()
        .lines()
        .filter(|line| line.contains("Violation"))
        .map(str::to_owned)
        .collect();
    assert_eq!(violations, Vec::<String>::new());
    system.stop().await;
}

#[tokio::test]
async fn a_booking_is_refused_after_ten_wrong_codes_from_as_many_clients() {
    let system = behind_a_proxy().start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    let target = booked(&system, "t1", "ada@example.com").await;
    let other = booked(&system, "t2", "bob@example.com").await;
    for n in 1..=10 {
        let client = format!("203.0.113.{n}");
        assert_eq!(
            history(&system, &target, WRONG, &client).await,
            403,
            "attempt {n}"
        );
    }
    let code = target["accessCode"].as_str().expect("code");
    let fresh = "198.51.100.30";
    assert_eq!(history(&system, &target, code, fresh).await, 429);
    let (status, _, retry_after) = cancel(&system, &target, code, fresh).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some());
    // Other bookings are not held back, from the same fresh client.
    let other_code = other["accessCode"].as_str().expect("code");
    assert_eq!(history(&system, &other, other_code, fresh).await, 200);
    system.stop().await;
}

#[tokio::test]
async fn an_email_is_refused_after_ten_wrong_lookups_from_as_many_clients() {
    let system = behind_a_proxy().start().await;
    system.add_table("t1", 4).await;
    let target = booked(&system, "t1", "ada@example.com").await;
    let code = target["accessCode"].as_str().expect("code");
    let id = target["id"].as_str().expect("id");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, _| status == 200)
        .await;
    assert_eq!(
        lookup(&system, "ada@example.com", code, "198.51.100.1").await,
        200
    );
    for n in 1..=10 {
        let client = format!("2001:db8:{n}::1");
        // Case and blanks do not make another email.
        let email = if n % 2 == 0 {
            " ADA@example.com"
        } else {
            "ada@example.com"
        };
        assert_eq!(
            lookup(&system, email, WRONG, &client).await,
            404,
            "attempt {n}"
        );
    }
    assert_eq!(
        lookup(&system, "ada@example.com", code, "198.51.100.2").await,
        429
    );
    assert_eq!(
        lookup(&system, "eve@example.com", WRONG, "198.51.100.2").await,
        404
    );
    system.stop().await;
}

/// `POST /tables` with `token`, from `client`.
async fn add_table(system: &System, id: &str, token: &str, client: &str) -> (u16, Option<u64>) {
    let response = system
        .http
        .post(system.url("/tables"))
        .header("X-Forwarded-For", client)
        .bearer_auth(token)
        .json(&json!({"id": id, "seats": 4}))
        .send()
        .await
        .expect("add table");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (response.status().as_u16(), retry_after)
}

#[tokio::test]
async fn a_client_is_refused_for_a_minute_after_ten_wrong_admin_tokens_even_with_the_right_one() {
    let system = behind_a_proxy().start().await;
    let attacker = "203.0.113.9";
    for attempt in 1..=10 {
        let guess = format!("guess-{attempt}");
        let (status, _) = add_table(&system, "t1", &guess, attacker).await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    // The right token from that client is not even checked now.
    let (status, retry_after) = add_table(&system, "t1", system_tests::ADMIN, attacker).await;
    assert_eq!(status, 429);
    let retry_after = retry_after.expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Nor on a booking route that takes the token.
    let id = "0193f0b4-7c1e-7000-8000-000000000001";
    let response = system
        .http
        .get(system.url(&format!("/bookings/{id}/history")))
        .header("X-Forwarded-For", attacker)
        .bearer_auth(system_tests::ADMIN)
        .send()
        .await
        .expect("history");
    assert_eq!(response.status(), 429);
    // Without a token the client is an anonymous one like any other.
    let response = system
        .http
        .get(system.url("/tables"))
        .header("X-Forwarded-For", attacker)
        .send()
        .await
        .expect("tables");
    assert_eq!(response.status(), 200);
    // Another client with the right token is not held up.
    let (status, _) = add_table(&system, "t1", system_tests::ADMIN, "198.51.100.4").await;
    assert_eq!(status, 201);
    system.stop().await;
}
