//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, generated from the
//! handlers' `#[utoipa::path]` attributes and the request and response types; `GET /docs`:
//! Swagger UI for it, its assets compiled into the binary (no CDN, no validator badge).

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::responses;
use super::{
    bookings, change, combinations, create, customers, history, lookup, slots, staff, tables,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "restaurant-booking",
        description = "Table bookings of one restaurant: tables and combinations (staff), \
            availability, bookings by table or party size, changes, cancellations, lookups, \
            histories and erasure (guests). Errors are `application/problem+json`; a 4xx \
            wrote nothing, a 503 wrote nothing and may be retried.",
    ),
    paths(
        create::create,
        bookings::get,
        bookings::cancel,
        change::change,
        history::history,
        lookup::lookup,
        customers::erase_booking_customer,
        customers::erase_customer,
        slots::list,
        tables::add,
        tables::remove,
        tables::list,
        combinations::add,
        combinations::remove,
        combinations::list,
        staff::day_sheet,
        staff::read_side,
        healthz,
        readyz,
        metrics,
    ),
    components(responses(
        responses::BadRequest,
        responses::Unauthorized,
        responses::Forbidden,
        responses::TooLarge,
        responses::TooManyAttempts,
        responses::Unavailable,
    )),
    modifiers(&Security, &Alias),
    tags(
        (name = "bookings", description = "Guests book, read, change and cancel"),
        (name = "availability", description = "Free slots for a party"),
        (name = "tables", description = "Staff manage tables and combinations"),
        (name = "personal data", description = "Erasure (right to be forgotten)"),
        (name = "staff", description = "The staff page's day sheet and the read side's state"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

/// The admin bearer token and the booking's access code.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "access_code",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Access-Code",
                "the booking's access code, shown once when it is made",
            ))),
        );
    }
}

/// `POST /booking/initiate`: `POST /bookings` under its v1 name.
struct Alias;

impl Modify for Alias {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(bookings) = openapi.paths.paths.get("/bookings").cloned() else {
            return;
        };
        let mut alias = utoipa::openapi::PathItem::default();
        if let Some(mut post) = bookings.post {
            post.operation_id = Some("initiate".to_owned());
            post.summary = Some("The same as POST /bookings (its v1 name)".to_owned());
            alias.post = Some(post);
        }
        openapi
            .paths
            .paths
            .insert("/booking/initiate".to_owned(), alias);
    }
}

/// The document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
});

/// `/openapi.json` and `/docs` (with its assets under `/docs/assets`).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let assets = swagger_ui_dist::ApiDefinition {
        uri_prefix: "/docs/assets",
        api_definition: swagger_ui_dist::OpenApiSource::Uri("/openapi.json"),
        title: Some("restaurant-booking API"),
    };
    Router::new()
        .route("/openapi.json", get(document))
        .route("/docs", get(explorer))
        .merge(swagger_ui_dist::generate_routes(assets).with_state(()))
}

async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// Swagger UI on `/openapi.json`, every asset from this server.
async fn explorer() -> Html<&'static str> {
    Html(include_str!("../../pages/docs.html"))
}

/// The body of `/healthz` and `/readyz` (service-kit's ops endpoints).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct Status {
    /// `ok`, `ready` or `not ready`.
    status: String,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `GET /healthz` (served by the scaffold on every service).
#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "The process runs",
    responses((status = 200, description = "the process runs", body = Status)))]
#[allow(dead_code)]
fn healthz() {}

/// `GET /readyz` (served by the scaffold on every service).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    summary = "NATS connected, streams and consumers there",
    responses(
        (status = 200, description = "ready", body = Status),
        (status = 503, description = "not ready yet, with the reason", body = Status),
    ))]
#[allow(dead_code)]
fn readyz() {}

/// `GET /metrics` (served by the scaffold on every service).
#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics",
    responses((status = 200, description = "OpenMetrics text", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
#[allow(dead_code)]
fn metrics() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route_of_the_router() {
        let document: serde_json::Value =
            serde_json::from_str(&DOCUMENT).expect("the document is JSON");
        assert!(
            document["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            document["openapi"]
        );
        let paths = document["paths"].as_object().expect("paths");
        for route in super::super::ROUTES {
            assert!(paths.contains_key(*route), "{route} is not described");
        }
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().expect("operations") {
                let responses = operation["responses"].as_object().expect("responses");
                for (status, response) in responses {
                    // A named response is described once, in the components.
                    let response = match response["$ref"].as_str() {
                        Some(named) => {
                            let name = named.trim_start_matches("#/components/responses/");
                            &document["components"]["responses"][name]
                        }
                        None => response,
                    };
                    assert!(
                        response["description"]
                            .as_str()
                            .is_some_and(|d| !d.is_empty()),
                        "{method} {path} {status} has no description"
                    );
                }
            }
        }
    }
}
