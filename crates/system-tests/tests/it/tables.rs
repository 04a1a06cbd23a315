//! The admin table routes over HTTP, through table-manager.

use serde_json::json;

use system_tests::{ADMIN, Slot, System, read};

#[tokio::test]
async fn admin_table_routes_need_the_bearer_token_and_write_nothing_without_it() {
    let system = System::start().await;
    for auth in [None, Some("wrong-token"), Some("")] {
        let mut request = system
            .http
            .post(system.url("/tables"))
            .json(&json!({"id": "t1", "seats": 4}));
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        let (status, body) = read(request.send().await.expect("POST")).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(body["status"], 401);
        let request = system.http.delete(system.url("/tables/t1"));
        let request = match auth {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        assert_eq!(request.send().await.expect("DELETE").status(), 401);
    }
    assert_eq!(system.stream_messages("TABLES").await, 0);
    system.stop().await;
}

#[tokio::test]
async fn adding_a_table_answers_201_and_a_taken_id_answers_409_even_after_removal() {
    let system = System::start().await;
    let add = |body: serde_json::Value| {
        system
            .http
            .post(system.url("/tables"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    };
    let (status, body) = read(add(json!({"id": "t1", "seats": 4})).await.expect("add")).await;
    assert_eq!((status, body), (201, json!({"id": "t1", "seats": 4})));

    let (status, body) = read(add(json!({"id": "t1", "seats": 2})).await.expect("add")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["status"], 409);

    let delete = system
        .http
        .delete(system.url("/tables/t1"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("delete");
    let (status, body) = read(delete).await;
    assert_eq!((status, body), (200, json!({"id": "t1"})));
    let (status, _) = read(add(json!({"id": "t1", "seats": 4})).await.expect("add")).await;
    assert_eq!(status, 409, "a removed table's id is never reused");
    assert_eq!(system.stream_messages("TABLES").await, 2);
    system.stop().await;
}

#[tokio::test]
async fn invalid_table_bodies_answer_400_naming_each_field_and_write_nothing() {
    let system = System::start().await;
    let cases: [(&str, &[&str]); 6] = [
        (r#"{"id":"t1","seats":4"#, &["body"]),
        (r#"{"id":"bad id","seats":4}"#, &["id"]),
        (r#"{"id":"t1","seats":0}"#, &["seats"]),
        (r#"{"id":"t1","seats":51}"#, &["seats"]),
        (r#"{"seats":"four"}"#, &["id", "seats"]),
        (r#"[1,2]"#, &["body"]),
    ];
    for (raw, fields) in cases {
        let response = system
            .http
            .post(system.url("/tables"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("POST");
        let content_type = response.headers().get("content-type").cloned();
        let (status, body) = read(response).await;
        assert_eq!(status, 400, "{raw}: {body}");
        assert_eq!(
            content_type.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let named: Vec<&str> = body["errors"]
            .as_array()
            .expect("errors[]")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(named, fields, "{raw}");
    }
    assert_eq!(system.stream_messages("TABLES").await, 0);
    system.stop().await;
}

#[tokio::test]
async fn removing_an_unknown_table_is_404_and_a_locked_one_is_409() {
    let system = System::start().await;
    let delete = |id: &'static str| {
        system
            .http
            .delete(system.url(&format!("/tables/{id}")))
            .bearer_auth(ADMIN)
            .send()
    };
    let (status, body) = read(delete("ghost").await.expect("delete")).await;
    assert_eq!(status, 404, "{body}");

    system.add_table("t1", 4).await;
    let (status, booking) = system.book("t1", &Slot::dinner(2), Some(2)).await;
    assert_eq!(status, 201, "{booking}");
    let (status, body) = read(delete("t1").await.expect("delete")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        system_tests::types(&system.table_events("t1").await),
        ["table-added", "table-lock-placed"]
    );
    system.stop().await;
}

#[tokio::test]
async fn table_commands_answer_503_while_no_table_manager_runs() {
    let mut system = System::start().await;
    system.stop_table_manager().await;
    let response = system
        .http
        .post(system.url("/tables"))
        .bearer_auth(ADMIN)
        .json(&json!({"id": "t1", "seats": 4}))
        .send()
        .await
        .expect("POST");
    let (status, body) = read(response).await;
    assert_eq!(status, 503, "{body}");
    assert!(!body.to_string().to_lowercase().contains("nats"), "{body}");
    system.stop().await;
}
