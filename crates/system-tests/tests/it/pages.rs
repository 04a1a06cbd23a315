//! The pages for people (API.md "People-facing pages"): served from the binary, with the
//! restaurant's time zone, loading nothing from elsewhere. What they do in a browser is
//! tested with Chromium by scripts/people-tests.

use system_tests::System;

#[tokio::test]
async fn the_guest_and_staff_pages_and_their_assets_come_from_the_booker_alone() {
    let system = System::start().await;
    for (path, title) in [("/", "Book a table"), ("/staff", "Restaurant staff")] {
        let response = system
            .http
            .get(system.url(path))
            .send()
            .await
            .expect("GET page");
        assert_eq!(response.status(), 200, "{path}");
        let policy = response
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        let html = response.text().await.expect("html");
        assert!(html.contains(&format!("<title>{title}</title>")), "{html}");
        assert!(html.contains("Europe/Paris"), "the time zone is filled in");
        assert!(!html.contains("{{"), "no placeholder left");
        for external in ["http://", "https://", "//cdn"] {
            assert!(!html.contains(external), "{path} loads {external}");
        }
    }
    for asset in ["style.css", "common.js", "guest.js", "staff.js"] {
        let response = system
            .http
            .get(system.url(&format!("/assets/{asset}")))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(response.status(), 200, "{asset}");
        let body = response.text().await.expect("asset");
        assert!(!body.contains("https://"), "{asset} loads from elsewhere");
    }
    let (status, _) = system.get("/assets/nothing.js", &[]).await;
    assert_eq!(status, 404);
    system.stop().await;
}

#[tokio::test]
async fn the_day_sheet_and_the_read_side_need_the_admin_token() {
    let system = System::start().await;
    let (status, _) = system.get("/bookings?date=2026-12-24", &[]).await;
    assert_eq!(status, 401);
    let (status, _) = system.get("/read-side", &[]).await;
    assert_eq!(status, 401);
    let auth = format!("Bearer {}", system_tests::ADMIN);
    let headers = [("Authorization", auth.as_str())];
    let (status, problem) = system.get("/bookings?date=someday", &headers).await;
    assert_eq!(
        (status, system_tests::fields(&problem)),
        (400, vec!["date".to_owned()])
    );
    let (status, read_side) = system
        .wait_for_get("/read-side", &headers, |status, _| status == 200)
        .await;
    assert_eq!(status, 200);
    let streams = read_side["streams"].as_array().expect("streams");
    assert_eq!(streams.len(), 2, "{read_side}");

    // A booking shows in its day's sheet, in its slot, with its customer.
    system.add_table("t1", 4).await;
    let slot = system_tests::Slot::dinner(3);
    let body = serde_json::json!({"tableId": "t1", "timeSlot": slot.json(), "people": 3,
        "customer": {"name": "Grace Hopper", "email": "grace@example.com"}});
    let (status, booking) = system.post_json("/bookings", &body).await;
    assert_eq!(status, 201, "{booking}");
    let zone = jiff::tz::TimeZone::get("Europe/Paris").expect("zone");
    let from: jiff::Timestamp = slot.from.parse().expect("from");
    let day = from.to_zoned_datetime(zone).date();
    let (_, sheet) = system
        .wait_for_get(
            &format!("/bookings?date={day}"),
            &headers,
            |status, body| status == 200 && body.to_string().contains("Grace Hopper"),
        )
        .await;
    let slots = sheet["slots"].as_array().expect("slots");
    assert_eq!(slots.len(), 2, "lunch and dinner: {sheet}");
    let dinner = &slots[1]["bookings"];
    assert_eq!(dinner[0]["id"], booking["id"]);
    assert_eq!(dinner[0]["people"], 3);
    assert_eq!(dinner[0]["customer"]["name"], "Grace Hopper");
    assert_eq!(slots[0]["bookings"], serde_json::json!([]));
    system.stop().await;
}
