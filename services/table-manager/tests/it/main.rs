//! table-manager against a real nats-server: as a library (`App`) and as the real binary.

mod commands;
mod timers;

use std::time::Duration;

use service_kit::Spawned;
use testkit::NatsServer;
use testkit::process::{self, wait_for_status};

const BINARY: &str = env!("CARGO_BIN_EXE_table-manager");

/// table-manager running in-process, ready.
pub async fn start(nats: &NatsServer) -> Spawned {
    let config = table_manager::Config::parse_from([
        "table-manager",
        "--nats-url",
        &nats.url(),
        "--http-addr",
        "127.0.0.1:0",
    ]);
    let running = table_manager::App::build(config)
        .await
        .expect("build")
        .spawn();
    let ready = format!("{}/readyz", running.base_url());
    wait_for_status(&ready, 200, Duration::from_secs(20)).await;
    running
}

#[tokio::test]
async fn it_becomes_ready_once_its_consumers_exist() {
    let nats = NatsServer::start().await;
    let running = start(&nats).await;
    let js = async_nats::jetstream::new(nats.client().await);
    for (stream, consumer) in [
        ("BOOKINGS", "table-locking"),
        ("TABLES", "table-lock-timers"),
    ] {
        let stream = js.get_stream(stream).await.expect("stream");
        stream
            .consumer_info(consumer)
            .await
            .unwrap_or_else(|e| panic!("consumer {consumer}: {e}"));
    }
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_binary_reads_its_environment_stops_on_sigterm_and_waits_for_nats_unready() {
    process::check_binary(BINARY, &[("LOG_FORMAT", "json".into())]).await;
}
