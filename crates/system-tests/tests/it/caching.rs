//! Answers that may carry an access code or customer details are never cached (API.md),
//! and the admin token's scheme is matched whatever its case.

use serde_json::json;
use system_tests::{ADMIN, Slot, System, read};

#[tokio::test]
async fn answers_that_carry_a_code_or_customer_details_are_never_cached() {
    let system = System::start().await;
    // The admin token's scheme is matched whatever its case.
    let response = system
        .http
        .post(system.url("/tables"))
        .header("Authorization", format!("bearer {ADMIN}"))
        .json(&json!({"id": "t1", "seats": 4}))
        .send()
        .await
        .expect("POST /tables");
    assert_eq!(response.status(), 201);
    let body = json!({"tableId": "t1", "timeSlot": Slot::dinner(3).json(),
                      "customer": {"name": "Ada", "email": "ada@example.com"}});
    let response = system
        .http
        .post(system.url("/bookings"))
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, booking) = read(response).await;
    assert_eq!(status, 201, "{booking}");
    let id = booking["id"].as_str().expect("id");
    let code = booking["accessCode"].as_str().expect("code");
    system
        .wait_for_get(&format!("/bookings/{id}"), &[], |status, _| status == 200)
        .await;
    for request in [
        system
            .http
            .post(system.url("/bookings/lookup"))
            .json(&json!({"email": "ada@example.com", "accessCode": code})),
        system
            .http
            .get(system.url(&format!("/bookings/{id}")))
            .header("X-Access-Code", code),
        system
            .http
            .get(system.url(&format!("/bookings/{id}/history")))
            .header("X-Access-Code", code),
    ] {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    let response = system
        .http
        .get(system.url("/tables"))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        response.headers().get("cache-control"),
        None,
        "public data may be cached"
    );
    system.stop().await;
}
