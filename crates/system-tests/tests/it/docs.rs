//! The API description and its explorer (API.md "People-facing pages and the API
//! description"): `GET /openapi.json` is OpenAPI 3.1 and describes every route; `GET /docs`
//! loads nothing from the internet.

use system_tests::System;

#[tokio::test]
async fn the_api_description_is_openapi_3_1_and_its_explorer_is_served_from_the_binary() {
    let system = System::start().await;
    let (status, document) = system.get("/openapi.json", &[]).await;
    assert_eq!(status, 200);
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/bookings",
        "/bookings/{id}/change",
        "/table-combinations/{id}",
        "/booking-slots",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let problem = &document["paths"]["/bookings"]["post"]["responses"]["409"]["content"];
    assert!(
        problem.get("application/problem+json").is_some(),
        "{problem}"
    );

    let page = system
        .http
        .get(system.url("/docs"))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/docs/assets/swagger-ui-bundle.js"), "{html}");
    for external in ["http://", "https://", "//cdn"] {
        assert!(
            !html.contains(external),
            "the page loads {external}: {html}"
        );
    }
    for asset in [
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ] {
        let response = system
            .http
            .get(system.url(asset))
            .send()
            .await
            .expect("asset");
        assert_eq!(response.status(), 200, "{asset}");
    }
    system.stop().await;
}
