//! projector against a real nats-server: as a library (`App`) and as the real binary.

use std::time::Duration;

use testkit::NatsServer;
use testkit::process::{self, wait_for_status};

const BINARY: &str = env!("CARGO_BIN_EXE_projector");

#[tokio::test]
async fn it_becomes_ready_once_a_generation_of_the_read_models_is_current() {
    let nats = NatsServer::start().await;
    let config = projector::Config::parse_from([
        "projector",
        "--nats-url",
        &nats.url(),
        "--http-addr",
        "127.0.0.1:0",
    ]);
    let running = projector::App::build(config).await.expect("build").spawn();
    let ready = format!("{}/readyz", running.base_url());
    wait_for_status(&ready, 200, Duration::from_secs(20)).await;

    let js = async_nats::jetstream::new(nats.client().await);
    let control = js
        .get_key_value("read_models")
        .await
        .expect("control bucket");
    let current = control
        .get("current")
        .await
        .expect("read")
        .expect("a current generation");
    let current: events::read_model::Current = serde_json::from_slice(&current).expect("json");
    js.get_key_value(events::read_model::generation_bucket(current.generation))
        .await
        .expect("the current generation's bucket");
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_binary_reads_its_environment_serves_readyz_and_stops_on_sigterm() {
    let nats = NatsServer::start().await;
    process::check_binary_lifecycle(BINARY, &nats.url(), &[("SLOTS", "18:00-20:00".into())]).await;
}

#[tokio::test]
async fn the_binary_waits_for_nats_without_being_ready() {
    process::check_binary_waits_for_nats(BINARY, &[]).await;
}
