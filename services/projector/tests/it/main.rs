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
    let control = projector::generations::Control::open(js, 1)
        .await
        .expect("control bucket");
    let bucket = control.current_bucket().await.expect("read the pointer");
    assert!(bucket.is_some(), "a current generation with its bucket");
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_binary_reads_its_environment_stops_on_sigterm_and_waits_for_nats_unready() {
    process::check_binary(BINARY, &[("LOG_FORMAT", "json".into())]).await;
}
