//! The booker against a real nats-server: as a library (`App`) and as the real binary,
//! and the whole write side (booker + table-manager in-process) over HTTP.

mod bookings;
mod permissions;
mod reads;
mod rebuild;
mod saga;
mod system;
mod tables;

use std::time::Duration;

use testkit::NatsServer;
use testkit::process::{self, ServiceProcess, wait_for_status};
use tokio_util::sync::CancellationToken;

const BINARY: &str = env!("CARGO_BIN_EXE_booker");

fn token() -> (&'static str, String) {
    ("ADMIN_TOKEN", "test-admin-token".to_owned())
}

/// Starts the booker in-process on a free port.
async fn spawn_app(
    nats_url: &str,
) -> (
    String,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let config = booker::Config::parse_from([
        "booker",
        "--nats-url",
        nats_url,
        "--http-addr",
        "127.0.0.1:0",
        "--admin-token",
        "test-admin-token",
    ]);
    let app = booker::App::build(config).await.expect("build");
    let base = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    (base, shutdown, task)
}

#[tokio::test]
async fn the_booker_becomes_ready_once_nats_is_connected_and_its_streams_exist() {
    let nats = NatsServer::start().await;
    let (base, shutdown, task) = spawn_app(&nats.url()).await;
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(20)).await;

    let js = async_nats::jetstream::new(nats.client().await);
    for stream in ["BOOKINGS", "DEAD_LETTERS"] {
        let mut stream = js
            .get_stream(stream)
            .await
            .expect("stream created by booker");
        let info = stream.info().await.expect("info");
        assert!(info.config.deny_delete || info.config.name == "DEAD_LETTERS");
        assert!(info.config.allow_direct);
    }

    shutdown.cancel();
    task.await.expect("join").expect("clean shutdown");
}

#[tokio::test]
async fn an_unknown_route_is_a_problem_json_404() {
    let nats = NatsServer::start().await;
    let (base, shutdown, task) = spawn_app(&nats.url()).await;
    let response = reqwest::get(format!("{base}/no/such/route"))
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], 404);
    assert_eq!(body["title"], "Not Found");
    shutdown.cancel();
    task.await.expect("join").expect("clean shutdown");
}

#[tokio::test]
async fn the_booker_binary_reads_its_environment_serves_readyz_and_stops_on_sigterm() {
    let nats = NatsServer::start().await;
    process::check_binary_lifecycle(
        BINARY,
        &nats.url(),
        &[
            token(),
            ("LOG_FORMAT", "json".into()),
            ("BOOKING_TIMEOUT", "10s".into()),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_booker_binary_waits_for_nats_without_being_ready() {
    process::check_binary_waits_for_nats(BINARY, &[token()]).await;
}

#[tokio::test]
async fn the_booker_refuses_to_start_without_an_admin_token() {
    for env in [vec![], vec![("ADMIN_TOKEN", "   ".to_owned())]] {
        let mut process = ServiceProcess::start(BINARY, &env);
        let status = process.wait_exit(Duration::from_secs(10)).await;
        assert!(!status.success(), "started without a usable ADMIN_TOKEN");
    }
}

#[tokio::test]
async fn the_booker_refuses_to_start_with_invalid_configuration() {
    for bad in [
        ("SLOTS", "14:00-12:00"),
        ("RESTAURANT_TIMEZONE", "Mars/Olympus"),
        ("BOOKING_TIMEOUT", "soon"),
        ("BOOKING_HORIZON_DAYS", "0"),
        ("HTTP_ADDR", "not-an-address"),
        ("LOG_FORMAT", "xml"),
        ("NATS_URL", "nats://a:4222,nats://b:port"),
        // a user without its password, and a password without its user
        ("NATS_USER", "booker"),
        ("NATS_PASSWORD", "secret"),
    ] {
        let env = [token(), (bad.0, bad.1.to_owned())];
        let mut process = ServiceProcess::start(BINARY, &env);
        let status = process.wait_exit(Duration::from_secs(10)).await;
        assert!(!status.success(), "started with {}={}", bad.0, bad.1);
    }
}
