//! The booker against a real nats-server: as a library (`App`) and as the real binary.
//! The whole system over HTTP is tested in crates/system-tests.

use std::time::Duration;

use service_kit::Spawned;
use testkit::NatsServer;
use testkit::process::{self, ServiceProcess, wait_for_status};

const BINARY: &str = env!("CARGO_BIN_EXE_booker");

fn token() -> (&'static str, String) {
    ("ADMIN_TOKEN", "test-admin-token".to_owned())
}

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn key() -> (&'static str, String) {
    ("ACCESS_CODE_KEY", KEY.to_owned())
}

/// Starts the booker in-process on a free port.
async fn spawn_app(nats_url: &str) -> Spawned {
    let config = booker::Config::parse_from([
        "booker",
        "--nats-url",
        nats_url,
        "--http-addr",
        "127.0.0.1:0",
        "--admin-token",
        "test-admin-token",
        "--access-code-key",
        KEY,
    ]);
    booker::App::build(config).await.expect("build").spawn()
}

#[tokio::test]
async fn the_booker_becomes_ready_once_its_consumers_and_buckets_exist() {
    let nats = NatsServer::start().await;
    let booker = spawn_app(&nats.url()).await;
    let base = booker.base_url();
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(20)).await;

    let js = async_nats::jetstream::new(nats.client().await);
    for (stream, consumer) in [("TABLES", "booking-saga"), ("BOOKINGS", "booking-timeouts")] {
        let stream = js.get_stream(stream).await.expect("stream");
        stream
            .consumer_info(consumer)
            .await
            .unwrap_or_else(|e| panic!("consumer {consumer}: {e}"));
    }
    for bucket in ["booker_idempotency", "read_models"] {
        js.get_key_value(bucket)
            .await
            .unwrap_or_else(|e| panic!("bucket {bucket}: {e}"));
    }
    booker.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_unknown_route_is_a_problem_json_404() {
    let nats = NatsServer::start().await;
    let booker = spawn_app(&nats.url()).await;
    let response = reqwest::get(format!("{}/no/such/route", booker.base_url()))
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
    booker.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_booker_binary_reads_its_environment_serves_readyz_and_stops_on_sigterm() {
    let nats = NatsServer::start().await;
    process::check_binary_lifecycle(
        BINARY,
        &nats.url(),
        &[
            token(),
            key(),
            ("LOG_FORMAT", "json".into()),
            ("BOOKING_TIMEOUT", "10s".into()),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_booker_binary_waits_for_nats_without_being_ready() {
    process::check_binary_waits_for_nats(BINARY, &[token(), key()]).await;
}

#[tokio::test]
async fn the_booker_binary_stops_on_sigterm_in_every_state() {
    process::check_binary_stops(BINARY, &[token(), key()]).await;
}

/// A booker holding a request whose body never finishes arriving: its graceful stop
/// waits for that request.
async fn booker_holding_a_request(
    nats: &NatsServer,
    drain: &str,
) -> (ServiceProcess, tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let port = process::free_port();
    let process = ServiceProcess::start(
        BINARY,
        &[
            token(),
            key(),
            ("NATS_URL", nats.url()),
            ("HTTP_ADDR", format!("127.0.0.1:{port}")),
            ("DRAIN_TIMEOUT", drain.to_owned()),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    slow.write_all(
        b"POST /bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"tableId\":",
    )
    .await
    .expect("send the start of a request");
    // The request is in the booker's hands.
    tokio::time::sleep(Duration::from_millis(300)).await;
    (process, slow)
}

#[tokio::test]
async fn a_second_signal_ends_a_stopping_booker_at_once() {
    let nats = NatsServer::start().await;
    let (mut process, _slow) = booker_holding_a_request(&nats, "60s").await;
    process.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !process.has_exited(),
        "the first signal waits for the request in flight"
    );
    process.terminate();
    let status = process.wait_exit(Duration::from_secs(2)).await;
    assert_eq!(status.code(), Some(130), "{status}");
}

#[tokio::test]
async fn a_stop_that_overruns_its_drain_time_ends_at_the_drain_time() {
    let nats = NatsServer::start().await;
    let (mut process, _slow) = booker_holding_a_request(&nats, "3s").await;
    let asked = std::time::Instant::now();
    process.terminate();
    process.wait_exit(Duration::from_secs(4)).await;
    assert!(
        asked.elapsed() <= Duration::from_secs(3) + Duration::from_millis(300),
        "stopped after {:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn the_booker_refuses_to_start_without_an_admin_token() {
    for env in [vec![key()], vec![key(), ("ADMIN_TOKEN", "   ".to_owned())]] {
        let mut process = ServiceProcess::start(BINARY, &env);
        let status = process.wait_exit(Duration::from_secs(10)).await;
        assert!(!status.success(), "started without a usable ADMIN_TOKEN");
    }
}

#[tokio::test]
async fn the_booker_refuses_to_start_without_an_access_code_key_of_32_bytes() {
    let short = ("ACCESS_CODE_KEY", "00ff00ff".to_owned());
    for env in [vec![token()], vec![token(), short]] {
        let mut process = ServiceProcess::start(BINARY, &env);
        let status = process.wait_exit(Duration::from_secs(10)).await;
        assert!(
            !status.success(),
            "started without a usable ACCESS_CODE_KEY"
        );
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
        let env = [token(), key(), (bad.0, bad.1.to_owned())];
        let mut process = ServiceProcess::start(BINARY, &env);
        let status = process.wait_exit(Duration::from_secs(10)).await;
        assert!(!status.success(), "started with {}={}", bad.0, bad.1);
    }
}

#[tokio::test]
async fn the_booker_logs_no_customer_name_or_email_even_at_debug_level() {
    let nats = NatsServer::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("booker.log");
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("NATS_URL", nats.url()),
        ("HTTP_ADDR", format!("127.0.0.1:{port}")),
        ("RUST_LOG", "debug".to_owned()),
        token(),
        key(),
    ];
    let mut booker = ServiceProcess::start_logged(BINARY.as_ref(), &env, &log);
    wait_for_status(&format!("{base}/readyz"), 200, Duration::from_secs(30)).await;
    let (name, email) = ("Ottoline Wrenfeather", "ottoline.wrenfeather@example.net");
    let http = reqwest::Client::new();
    // A table that was never added: decided by the booker alone, customer sealed and all.
    let paris = jiff::tz::TimeZone::get("Europe/Paris").expect("zone");
    let day = jiff::Timestamp::now()
        .to_zoned_datetime(paris.clone())
        .date()
        .checked_add(jiff::Span::new().days(3))
        .expect("date");
    let schedule = domain::SlotSchedule::parse("12:00-14:00,19:00-21:00").expect("slots");
    let dinner = schedule.slots_on(day, &paris)[1];
    let slot =
        serde_json::json!({"from": dinner.from().to_string(), "to": dinner.to().to_string()});
    let booking: serde_json::Value = http
        .post(format!("{base}/bookings"))
        .json(&serde_json::json!({"tableId": "nowhere",
            "timeSlot": slot,
            "customer": {"name": name, "email": email}}))
        .send()
        .await
        .expect("book")
        .json()
        .await
        .expect("json");
    let id = booking["booking"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{booking}"));
    let erased = http
        .delete(format!("{base}/bookings/{id}/customer"))
        .bearer_auth("test-admin-token")
        .send()
        .await
        .expect("erase");
    assert_eq!(erased.status(), 200);
    let lookup = http
        .post(format!("{base}/bookings/lookup"))
        .json(&serde_json::json!({"email": email, "accessCode": "ZZZZZ"}))
        .send()
        .await
        .expect("lookup");
    // 503 without a projector (no read models yet), else 404: either way, logged.
    assert!([404, 503].contains(&lookup.status().as_u16()));
    booker.terminate();
    booker.wait_exit(Duration::from_secs(20)).await;
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("DEBUG"), "nothing logged at debug level");
    for needle in [name, email, "Wrenfeather", "ottoline"] {
        assert!(!logged.contains(needle), "{needle:?} is in the log");
    }
}
