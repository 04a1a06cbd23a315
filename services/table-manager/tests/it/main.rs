//! table-manager against a real nats-server: as a library (`App`) and as the real binary.

mod commands;
mod timers;

use std::time::Duration;

use testkit::NatsServer;
use testkit::process::{self, wait_for_status};
use tokio_util::sync::CancellationToken;

const BINARY: &str = env!("CARGO_BIN_EXE_table-manager");

/// table-manager running in-process, and how to stop it.
#[derive(Debug)]
pub struct Running {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn start(nats: &NatsServer) -> Self {
        let config = table_manager::Config::parse_from([
            "table-manager",
            "--nats-url",
            &nats.url(),
            "--http-addr",
            "127.0.0.1:0",
        ]);
        let app = table_manager::App::build(config).await.expect("build");
        let ready = format!("http://{}/readyz", app.local_addr());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        wait_for_status(&ready, 200, Duration::from_secs(20)).await;
        Self { shutdown, task }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("join").expect("clean shutdown");
    }
}

#[tokio::test]
async fn it_becomes_ready_once_nats_is_connected_and_the_streams_exist() {
    let nats = NatsServer::start().await;
    let running = Running::start(&nats).await;
    let js = async_nats::jetstream::new(nats.client().await);
    for stream in ["TABLES", "BOOKINGS", "DEAD_LETTERS"] {
        js.get_stream(stream)
            .await
            .expect("stream created at start");
    }
    running.stop().await;
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
