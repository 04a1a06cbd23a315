//! The scaffold against a real nats-server, with a service of its own: what every service
//! gets from it (the event streams, readiness, graceful stop) is tested here once.

use std::time::Duration;

use prometheus_client::registry::Registry;
use service_kit::{App, Config, Info, Service, Started, Workers};
use testkit::NatsServer;
use testkit::process::wait_for_status;

/// A service with no work of its own.
#[derive(Debug)]
struct Idle;

#[derive(Debug, Clone, clap::Args)]
struct NoSettings {}

impl Service for Idle {
    const INFO: Info = Info::new("idle", 18099, "A service that only exists");
    type Settings = NoSettings;

    fn new(_config: &Config<Self>, _registry: &mut Registry) -> Self {
        Self
    }

    async fn start(&self, nats: Started) -> anyhow::Result<Workers> {
        let mut workers = Workers::new();
        let stop = nats.shutdown.clone();
        workers.spawn(async move {
            stop.cancelled().await;
            Ok(())
        });
        Ok(workers)
    }
}

fn config(nats: &NatsServer) -> Config<Idle> {
    Config::parse_from([
        "idle",
        "--nats-url",
        &nats.url(),
        "--http-addr",
        "127.0.0.1:0",
    ])
}

#[tokio::test]
async fn a_service_becomes_ready_once_nats_is_connected_and_the_event_streams_exist() {
    let nats = NatsServer::start().await;
    let running = App::<Idle>::build(config(&nats))
        .await
        .expect("build")
        .spawn();
    wait_for_status(
        &format!("{}/readyz", running.base_url()),
        200,
        Duration::from_secs(20),
    )
    .await;

    let js = async_nats::jetstream::new(nats.client().await);
    for name in ["TABLES", "BOOKINGS", "DEAD_LETTERS"] {
        let mut stream = js.get_stream(name).await.expect("stream created at start");
        let info = stream.info().await.expect("info");
        assert!(info.config.deny_delete || name == "DEAD_LETTERS", "{name}");
        assert!(info.config.allow_direct, "{name}");
    }
    let metrics = reqwest::get(format!("{}/metrics", running.base_url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("nats_connected 1"), "{metrics}");
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_service_whose_worker_ends_on_its_own_stops_with_an_error() {
    #[derive(Debug)]
    struct Quitter;

    impl Service for Quitter {
        const INFO: Info = Info::new("quitter", 18098, "A service whose worker gives up");
        type Settings = NoSettings;

        fn new(_config: &Config<Self>, _registry: &mut Registry) -> Self {
            Self
        }

        async fn start(&self, _nats: Started) -> anyhow::Result<Workers> {
            let mut workers = Workers::new();
            workers.spawn(async { anyhow::bail!("gave up") });
            Ok(workers)
        }
    }

    let nats = NatsServer::start().await;
    let config = Config::parse_from([
        "quitter",
        "--nats-url",
        &nats.url(),
        "--http-addr",
        "127.0.0.1:0",
    ]);
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        service_kit::run::<Quitter>(config, tokio_util::sync::CancellationToken::new()),
    )
    .await
    .expect("the service stops by itself");
    let error = outcome.expect_err("a failure");
    assert!(format!("{error:#}").contains("gave up"), "{error:#}");
}
