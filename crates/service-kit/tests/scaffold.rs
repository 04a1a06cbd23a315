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

/// A raw connection to a running service.
async fn connect(running: &service_kit::Spawned) -> tokio::net::TcpStream {
    let address = running.base_url().trim_start_matches("http://").to_owned();
    tokio::net::TcpStream::connect(address)
        .await
        .expect("connect")
}

/// Everything the server sends until it closes the connection or `within` passes.
async fn read_answer(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Err(_) => return (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into()),
            Ok(Ok(0) | Err(_)) => return Some(String::from_utf8_lossy(&answer).into()),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_disconnected() {
    use tokio::io::AsyncWriteExt as _;
    let nats = NatsServer::start().await;
    let mut config = config(&nats);
    config.common.http_header_timeout = Duration::from_millis(500);
    let running = App::<Idle>::build(config).await.expect("build").spawn();
    let mut slow = connect(&running).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("first header");
    // The rest never comes: the server closes the connection after the timeout.
    let answer = read_answer(&mut slow, Duration::from_secs(5)).await;
    assert!(
        answer.is_some_and(|a| !a.contains("200 OK")),
        "the connection stayed open or was served"
    );
    // A prompt client is served as usual.
    let mut prompt = connect(&running).await;
    prompt
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let answer = read_answer(&mut prompt, Duration::from_secs(5)).await;
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    use tokio::io::AsyncWriteExt as _;
    let nats = NatsServer::start().await;
    let mut config = config(&nats);
    config.common.http_max_connections = 1;
    let running = App::<Idle>::build(config).await.expect("build").spawn();
    let holder = connect(&running).await;
    // Let the server take the first connection before the second comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = connect(&running).await;
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    assert_eq!(
        read_answer(&mut waiting, Duration::from_millis(500)).await,
        None,
        "served beyond the cap"
    );
    drop(holder);
    let answer = read_answer(&mut waiting, Duration::from_secs(5)).await;
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    running.stop().await.expect("clean shutdown");
}
