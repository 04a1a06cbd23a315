//! Soak: two bookers, two table-managers and a projector, each its own OS process, under
//! a mixed load, while one process (a service instance or a nats-server) is SIGKILLed
//! every few seconds and started again; on one server, then on a 3-node cluster with
//! replicated streams. Afterwards, once quiet: no double booking, locks exactly for the
//! confirmed bookings, every booking final, no `timeout` rejection, no dead letter, and
//! the read side agreeing.
//!
//! The services are this test binary itself, run again with `SOAK_ROLE` set (so they are
//! always the code under test). `SOAK_SECONDS` (default 120) sets the chaos time per
//! topology, `SOAK_TOPOLOGIES` (default `single,cluster,storm`) which ones run; `storm` is
//! the restart storm ([`storm`]).
//!
//! A test without the libtest harness: it prints what it did and exits non-zero on a
//! violation.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod check;
mod load;
mod services;
mod storm;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use services::{Nats, Services};

const ROLE: &str = "SOAK_ROLE";

fn main() -> ExitCode {
    if let Ok(role) = std::env::var(ROLE) {
        return match role.as_str() {
            "booker" => service_kit::main::<booker::Booker>(),
            "table-manager" => service_kit::main::<table_manager::TableManager>(),
            "projector" => service_kit::main::<projector::Projector>(),
            "notifier" => service_kit::main::<notifier::Notifier>(),
            other => {
                eprintln!("unknown role {other}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seconds = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let topologies =
        std::env::var("SOAK_TOPOLOGIES").unwrap_or_else(|_| "single,cluster,storm".to_owned());
    let mut failed = false;
    for topology in topologies.split(',').filter(|t| !t.is_empty()) {
        let violations = runtime.block_on(soak(topology, Duration::from_secs(seconds)));
        if violations.is_empty() {
            println!("soak {topology}: every invariant holds");
        } else {
            failed = true;
            println!("soak {topology}: {} violations", violations.len());
            for violation in violations.iter().take(50) {
                println!("  {violation}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn soak(topology: &str, chaos: Duration) -> Vec<String> {
    if topology == "storm" {
        return storm::run().await;
    }
    let nats = match topology {
        "single" => Nats::single().await,
        "cluster" => Nats::cluster(3).await,
        other => return vec![format!("unknown topology {other}")],
    };
    let mut services = Services::start(&nats).await;
    services.add_tables(load::TABLES).await;
    services.add_combinations(&load::COMBINATIONS).await;

    let stop = Arc::new(AtomicBool::new(false));
    let loader = tokio::spawn(load::run(services.bookers(), 8, stop.clone()));
    let mut random = load::Random::new(0x5eed_0000 ^ chaos.as_secs());
    let mut nats = nats;
    let started = Instant::now();
    let mut kills: std::collections::BTreeMap<String, u32> = Default::default();
    while started.elapsed() < chaos {
        tokio::time::sleep(Duration::from_millis(2000 + random.below(2000))).await;
        let victims = services.names().len() + nats.nodes();
        let victim = random.below(victims as u64) as usize;
        let down = Duration::from_millis(300 + random.below(1200));
        let name = if victim < services.names().len() {
            let name = services.names()[victim].clone();
            services.kill(victim);
            tokio::time::sleep(down).await;
            services.restart(victim);
            name
        } else {
            let node = victim - services.names().len();
            nats.kill(node);
            tokio::time::sleep(down).await;
            nats.start_again(node).await;
            format!("nats-server {node}")
        };
        *kills.entry(name).or_default() += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let counts = loader.await.expect("load");
    println!(
        "soak {topology}: {:.0} s of chaos, kills {kills:?}; requests answered {}, failed {}, \
         cancellations {}, changes asked {}",
        started.elapsed().as_secs_f64(),
        counts.answered.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        counts.cancelled.load(Ordering::Relaxed),
        counts.changes.load(Ordering::Relaxed),
    );

    services.ensure_running();
    services.wait_until_ready().await;
    let js = nats.jetstream().await;
    let folded = quiet_fold(&js).await;
    println!(
        "soak {topology}: {} bookings ({} of joined tables, {} places lost to a race and \
         replaced; {} changes made, {} refused), {:?}",
        folded.bookings.len(),
        folded.joined,
        folded.reassigned,
        folded.changed,
        folded.change_rejected,
        folded.outcomes()
    );
    let acks = counts.acks();
    println!(
        "soak {topology}: acknowledged {} bookings (201) and {} cancels (200), each checked \
         against the streams",
        acks.booked.len(),
        acks.cancelled.len()
    );
    let violations = verdict(&mut services, &js, &folded, &acks).await;
    services.stop();
    violations
}

/// Every check once quiet: the invariants, each promise made to a client, the read side,
/// no process ended on its own; with the event trails of the bookings a violation names.
async fn verdict(
    services: &mut Services,
    js: &async_nats::jetstream::Context,
    folded: &check::Folded,
    acks: &load::Acks,
) -> Vec<String> {
    let mut violations = folded.violations(dead_letters(js).await);
    violations.extend(folded.broken_promises(acks));
    violations.extend(services.read_side_violations(folded).await);
    violations.extend(services.exited());
    if !violations.is_empty() {
        services.print_log_tails();
        for line in folded.explain(&violations) {
            println!("{line}");
        }
    }
    violations
}

/// The streams folded once the system is quiet: every booking final (bounded by the
/// booking timeout), late lock removals landed.
async fn quiet_fold(js: &async_nats::jetstream::Context) -> check::Folded {
    let deadline = Instant::now() + Duration::from_secs(90);
    let folded = loop {
        let folded = check::fold(js).await;
        if folded.pending() == 0 || Instant::now() > deadline {
            break folded;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Let late lock removals land too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    if folded.pending() == 0 {
        check::fold(js).await
    } else {
        folded
    }
}

/// Messages in the dead-letter stream (retried while the cluster settles).
async fn dead_letters(js: &async_nats::jetstream::Context) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut stream) = js.get_stream("DEAD_LETTERS").await
            && let Ok(info) = stream.info().await
        {
            return info.state.messages;
        }
        assert!(Instant::now() < deadline, "cannot read DEAD_LETTERS");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
