//! The admin combination routes over HTTP (API.md "Booking by party size, joined tables,
//! alternatives"), through table-manager and the read side.

use serde_json::{Value, json};

use system_tests::{System, fields, read};

async fn listed(system: &System) -> Value {
    system
        .wait_for_get("/table-combinations", &[], |status, _| status == 200)
        .await;
    system.get("/table-combinations", &[]).await.1
}

/// Waits until `GET /table-combinations` lists `expected`.
async fn until_listed(system: &System, expected: Value) {
    system
        .wait_for_get("/table-combinations", &[], |status, body| {
            status == 200 && body["combinations"] == expected
        })
        .await;
}

#[tokio::test]
async fn staff_declare_list_and_remove_combinations_and_an_id_is_used_once() {
    let system = System::builder().nats_users().start().await;
    for table in ["t8", "t9", "t10"] {
        system.add_table(table, 4).await;
    }
    let (status, body) = system
        .admin_post(
            "/table-combinations",
            &json!({"id": "c1", "tables": ["t9", "t8"], "seats": 6}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body,
        json!({"id": "c1", "tables": ["t8", "t9"], "seats": 6})
    );
    let (status, _) = system
        .admin_post(
            "/table-combinations",
            &json!({"id": "a0", "tables": ["t8", "t9", "t10"], "seats": 10}),
        )
        .await;
    assert_eq!(status, 201);
    until_listed(
        &system,
        json!([
            {"id": "a0", "tables": ["t10", "t8", "t9"], "seats": 10},
            {"id": "c1", "tables": ["t8", "t9"], "seats": 6},
        ]),
    )
    .await;

    // A used id is refused, and a table in a combination cannot be removed.
    let (status, problem) = system
        .admin_post(
            "/table-combinations",
            &json!({"id": "c1", "tables": ["t8", "t10"], "seats": 6}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let (status, problem) = system.admin_delete("/tables/t8").await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.contains("a0")),
        "{problem}"
    );

    // Removed: gone from the list, its id still used, its tables free to go.
    assert_eq!(
        system.admin_delete("/table-combinations/c1").await,
        (200, json!({"id": "c1"}))
    );
    assert_eq!(system.admin_delete("/table-combinations/c1").await.0, 404);
    assert_eq!(system.admin_delete("/table-combinations/a0").await.0, 200);
    until_listed(&system, json!([])).await;
    let (status, _) = system
        .admin_post(
            "/table-combinations",
            &json!({"id": "c1", "tables": ["t8", "t9"], "seats": 6}),
        )
        .await;
    assert_eq!(status, 409, "a removed combination's id is never reused");
    assert_eq!(system.admin_delete("/tables/t8").await.0, 200);
    system.stop().await;
}

#[tokio::test]
async fn a_combination_of_unknown_or_removed_tables_is_404_and_writes_nothing() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    assert_eq!(system.admin_delete("/tables/t2").await.0, 200);
    let before = system.stream_messages("TABLES").await;
    for tables in [json!(["t1", "t2"]), json!(["t1", "t3"])] {
        let (status, problem) = system
            .admin_post(
                "/table-combinations",
                &json!({"id": "c1", "tables": tables, "seats": 6}),
            )
            .await;
        assert_eq!(status, 404, "{tables}: {problem}");
    }
    assert_eq!(system.stream_messages("TABLES").await, before);
    assert_eq!(listed(&system).await, json!({"combinations": []}));
    system.stop().await;
}

#[tokio::test]
async fn combination_routes_need_the_admin_token_and_name_each_bad_field() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    let body = json!({"id": "c1", "tables": ["t1", "t2"], "seats": 6});
    let response = system
        .http
        .post(system.url("/table-combinations"))
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 401);
    let response = system
        .http
        .delete(system.url("/table-combinations/c1"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 401);

    let (status, problem) = system
        .admin_post(
            "/table-combinations",
            &json!({"id": "c 1", "tables": ["t1", "t1"], "seats": 51}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(fields(&problem), ["id", "tables", "seats"]);
    let (status, problem) = system
        .admin_post("/table-combinations", &json!({"tables": ["t1"]}))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(fields(&problem), ["id", "tables", "seats"]);
    let (status, _) = system.admin_delete("/table-combinations/c.1").await;
    assert_eq!(status, 400);
    assert_eq!(system.admin_delete("/table-combinations/c9").await.0, 404);
    // Only the table was written.
    assert_eq!(system.stream_messages("TABLES").await, 1);
    let response = system
        .http
        .get(system.url("/table-combinations"))
        .send()
        .await
        .expect("GET");
    assert_eq!(read(response).await.0, 200, "the list is public");
    system.stop().await;
}

#[tokio::test]
async fn a_combination_held_by_a_booking_cannot_be_removed_until_the_booking_is_cancelled() {
    let system = System::start().await;
    system.add_table("t1", 4).await;
    system.add_table("t2", 4).await;
    let (status, _) = system
        .admin_post(
            "/table-combinations",
            &json!({"id": "c1", "tables": ["t1", "t2"], "seats": 8}),
        )
        .await;
    assert_eq!(status, 201);
    until_listed(
        &system,
        json!([{"id": "c1", "tables": ["t1", "t2"], "seats": 8}]),
    )
    .await;
    let slot = system_tests::Slot::dinner(2);
    let (status, booking) = system
        .post_json("/bookings", &json!({"timeSlot": slot.json(), "people": 7}))
        .await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(booking["tableIds"], json!(["t1", "t2"]));
    let (status, problem) = system.admin_delete("/table-combinations/c1").await;
    assert_eq!(status, 409, "{problem}");
    // Removing one of its tables is refused too (the combination exists).
    assert_eq!(system.admin_delete("/tables/t1").await.0, 409);
    system.cancel_ok(&booking).await;
    // The release reaches table-manager through the saga.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, _) = system.admin_delete("/table-combinations/c1").await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 409);
        assert!(std::time::Instant::now() < deadline, "never freed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    system.stop().await;
}
