//! Stores with a limit: reaching it is a clear 503 that writes nothing, and is counted.

use serde_json::json;
use system_tests::{Slot, System, read};

#[tokio::test]
async fn a_full_idempotency_store_answers_503_writes_nothing_and_is_counted() {
    let system = System::builder().idempotency_max_bytes(2048).start().await;
    system.add_table("t1", 4).await;
    let mut refused = None;
    for n in 0..40 {
        let body = json!({"tableId": "t1", "timeSlot": Slot::dinner(1 + n).json()});
        let before = system.last_sequence("BOOKINGS").await;
        let response = system
            .http
            .post(system.url("/bookings?wait=0"))
            .header("Idempotency-Key", format!("key-{n}"))
            .json(&body)
            .send()
            .await
            .expect("POST");
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, problem) = read(response).await;
        if status == 503 {
            assert_eq!(
                system.last_sequence("BOOKINGS").await,
                before,
                "the refused request wrote an event"
            );
            assert!(retry_after.is_some());
            refused = Some(problem);
            break;
        }
        assert_eq!(status, 202, "{problem}");
    }
    let problem = refused.expect("the store never filled up");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Idempotency-Key store is full")),
        "{problem}"
    );
    // Requests without a key do not need the store.
    let (status, booking) = system.book("t1", &Slot::lunch(2), None).await;
    assert_eq!(status, 201, "{booking}");
    let metrics = system
        .http
        .get(system.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"booker_limit_refusals_total{store="idempotency"} 1"#),
        "{metrics}"
    );
    system.stop().await;
}
