//! The operations endpoints every service serves: `/healthz`, `/readyz`, `/metrics`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use async_nats::Client;
use async_nats::connection::State;
use axum::Router;
use axum::extract::State as AxumState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Shared view of the service's health, for the endpoints and the service itself.
#[derive(Debug, Clone)]
pub struct Ops {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    started: AtomicBool,
    stopping: AtomicBool,
    client: OnceLock<Client>,
    registry: Registry,
    nats_connected: Gauge,
    ready: Gauge,
}

impl Ops {
    /// Takes the finished registry; adds the service's own health gauges to it.
    pub fn new(mut registry: Registry) -> Self {
        let nats_connected = Gauge::default();
        let ready = Gauge::default();
        registry.register(
            "nats_connected",
            "1 while the NATS connection is up",
            nats_connected.clone(),
        );
        registry.register(
            "service_ready",
            "1 while /readyz answers 200",
            ready.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                started: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                client: OnceLock::new(),
                registry,
                nats_connected,
                ready,
            }),
        }
    }

    /// The NATS connection is established.
    pub fn set_client(&self, client: Client) {
        let _ = self.inner.client.set(client);
    }

    /// Streams and consumers exist: the service can do its work.
    pub fn set_started(&self) {
        self.inner.started.store(true, Ordering::SeqCst);
    }

    /// Shutdown has begun: stop taking new work.
    pub fn set_stopping(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    fn nats_connected(&self) -> bool {
        self.inner
            .client
            .get()
            .is_some_and(|c| c.connection_state() == State::Connected)
    }

    /// Why the service is not ready, or `None` when it is.
    pub fn not_ready_reason(&self) -> Option<&'static str> {
        if self.inner.stopping.load(Ordering::SeqCst) {
            Some("shutting down")
        } else if !self.nats_connected() {
            Some("not connected to NATS")
        } else if !self.inner.started.load(Ordering::SeqCst) {
            Some("streams and consumers not set up yet")
        } else {
            None
        }
    }

    /// `/healthz`, `/readyz` and `/metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(self.clone())
    }
}

async fn healthz() -> Response {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

async fn readyz(AxumState(ops): AxumState<Ops>) -> Response {
    match ops.not_ready_reason() {
        None => json(StatusCode::OK, serde_json::json!({ "status": "ready" })),
        Some(reason) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "not ready", "reason": reason }),
        ),
    }
}

async fn metrics(AxumState(ops): AxumState<Ops>) -> Response {
    ops.inner
        .nats_connected
        .set(i64::from(ops.nats_connected()));
    ops.inner
        .ready
        .set(i64::from(ops.not_ready_reason().is_none()));
    let mut body = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut body, &ops.inner.registry) {
        tracing::error!(%error, "cannot encode metrics");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}
