//! The restart storm: each service (booker, table-manager, projector, notifier), a process
//! of its own, stopped with SIGTERM and started again `STORM_TERMS` times (default 50)
//! under a light booking load, then `STORM_KILLS` times (default 20) with SIGKILL. Every
//! start must be ready within 2 s, every SIGTERM must end the process within its
//! `DRAIN_TIMEOUT`, and afterwards nothing is lost: every booking answered 201 confirmed
//! with its table locked, every cancel answered 200 cancelled, the invariants of the soak
//! hold and the read side agrees with the streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use testkit::SmtpServer;

use crate::load::{self, TABLES};
use crate::services::{Nats, Services};

/// A start is ready within this.
const READY_WITHIN: Duration = Duration::from_secs(2);
/// The services' `DRAIN_TIMEOUT` in the storm.
const DRAIN: Duration = Duration::from_secs(10);

fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(default)
}

/// p50 and max of `times`, in milliseconds.
fn figures(times: &mut [Duration]) -> (u128, u128) {
    times.sort();
    let at = |index: usize| times.get(index).map_or(0, Duration::as_millis);
    (at(times.len() / 2), at(times.len().saturating_sub(1)))
}

pub async fn run() -> Vec<String> {
    let terms = count("STORM_TERMS", 50);
    let kills = count("STORM_KILLS", 20);
    let smtp = SmtpServer::start().await;
    let nats = Nats::single().await;
    let roles = [
        ("booker", 1),
        ("table-manager", 1),
        ("projector", 1),
        ("notifier", 1),
    ];
    let extra = [
        ("SMTP_URL", smtp.url()),
        ("DRAIN_TIMEOUT", format!("{}s", DRAIN.as_secs())),
    ];
    let mut services = Services::start_roles(&nats, &roles, &extra).await;
    services.add_tables(TABLES).await;
    let stop = Arc::new(AtomicBool::new(false));
    let loader = tokio::spawn(load::run(services.bookers(), 2, stop.clone()));

    let mut violations = Vec::new();
    for (index, name) in services.names().into_iter().enumerate() {
        let (mut ready, mut stopped) = (Vec::new(), Vec::new());
        for round in 0..terms + kills {
            let how = if round < terms { "SIGTERM" } else { "SIGKILL" };
            if round < terms {
                match services.terminate(index, DRAIN).await {
                    Some(took) => stopped.push(took),
                    None => violations.push(format!(
                        "{name} still ran {DRAIN:?} after SIGTERM (round {round})"
                    )),
                }
            } else {
                services.kill(index);
            }
            match services.start_until_ready(index, READY_WITHIN).await {
                Some(took) => ready.push(took),
                None => {
                    violations.push(format!(
                        "{name} not ready within {READY_WITHIN:?} of its start after {how} \
                         (round {round})"
                    ));
                    services.wait_until_ready().await;
                }
            }
        }
        let (ready_p50, ready_max) = figures(&mut ready);
        let (stop_p50, stop_max) = figures(&mut stopped);
        println!(
            "storm {name}: {terms} SIGTERM + {kills} SIGKILL restarts; ready after start p50 \
             {ready_p50} ms, max {ready_max} ms; gone after SIGTERM p50 {stop_p50} ms, max \
             {stop_max} ms"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let counts = loader.await.expect("load");
    services.wait_until_ready().await;
    let js = nats.jetstream().await;
    let folded = crate::quiet_fold(&js).await;
    let acks = counts.acks();
    println!(
        "storm: {} bookings, {:?}; acknowledged {} bookings (201) and {} cancels (200), each \
         checked against the streams",
        folded.bookings.len(),
        folded.outcomes(),
        acks.booked.len(),
        acks.cancelled.len()
    );
    if acks.booked.is_empty() {
        violations.push("the load got no booking confirmed: nothing was checked".to_owned());
    }
    violations.extend(crate::verdict(&mut services, &js, &folded, &acks).await);
    services.stop();
    violations
}
