//! The notifier (API.md "Email (notifier service)"): against a real SMTP server of the test
//! kit, each booking's confirmation (with the access code) is sent once, through notifier
//! kills and an SMTP outage; changes and cancellations are told; a reminder comes before
//! the slot, and none for a booking erased or cancelled; a permanent refusal is recorded,
//! counted and dead-lettered.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use system_tests::{ADMIN, NotifierSettings, Slot, System};
use testkit::{ReceivedMail, SmtpMode, SmtpServer};

const WAIT: Duration = Duration::from_secs(30);

async fn system_with(smtp: &SmtpServer, reminder_before: Duration) -> System {
    // Each service as its NATS user of deploy/nats/users.conf: the notifier's permissions
    // are enough for all it does.
    let system = System::builder()
        .nats_users()
        .notifier(NotifierSettings {
            smtp_url: smtp.url(),
            reminder_before,
        })
        .start()
        .await;
    for table in ["t1", "t2", "t3", "t4", "t5", "t6"] {
        system.add_table(table, 4).await;
    }
    system
}

/// Books `table` in `slot` for `name`, expecting it confirmed.
async fn book(system: &System, table: &str, slot: &Slot, name: &str) -> Value {
    let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
    let body = json!({"tableId": table, "timeSlot": slot.json(), "people": 2,
        "customer": {"name": name, "email": email}});
    let (status, booking) = system.post_json("/bookings?wait=5", &body).await;
    assert_eq!(status, 201, "{booking}");
    booking
}

/// The emails received, by booking id, each as (subject, mail).
fn by_booking(received: &[ReceivedMail]) -> BTreeMap<String, Vec<(String, ReceivedMail)>> {
    let mut grouped: BTreeMap<String, Vec<(String, ReceivedMail)>> = BTreeMap::new();
    for mail in received {
        let id = mail.header("X-Booking-Id").unwrap_or_default();
        let subject = mail.header("Subject").unwrap_or_default();
        grouped.entry(id).or_default().push((subject, mail.clone()));
    }
    grouped
}

fn confirmations(received: &[ReceivedMail]) -> usize {
    received
        .iter()
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.starts_with("Your table on"))
        })
        .count()
}

#[tokio::test]
#[allow(clippy::print_stdout)] // the email as received, shown with --nocapture
async fn each_booking_s_confirmation_with_its_code_is_sent_once_through_notifier_kills_and_an_smtp_outage()
 {
    let smtp = SmtpServer::start().await;
    let mut system = system_with(&smtp, Duration::from_secs(3600)).await;
    let slot = Slot::dinner(3);
    let mut bookings = Vec::new();
    for (table, name) in [("t1", "Ada Lovelace"), ("t2", "Grace Hopper")] {
        bookings.push(book(&system, table, &slot, name).await);
    }
    let received = smtp.wait_for(WAIT, |r| confirmations(r) == 2).await;
    let ada = received
        .iter()
        .find(|m| m.to == ["ada.lovelace@example.com"])
        .expect("Ada's email");
    // As received (shown with --nocapture).
    println!("--- a confirmation as received ---\n{}", ada.data);
    let code = bookings[0]["accessCode"].as_str().expect("code");
    assert!(ada.data.contains(code), "the access code is in the email");
    assert_eq!(
        ada.header("X-Booking-Id").as_deref(),
        bookings[0]["id"].as_str()
    );
    let message_id = ada.header("Message-ID").expect("Message-ID");
    assert!(message_id.starts_with("<confirmation."), "{message_id}");
    assert!(ada.data.contains("text/plain") && ada.data.contains("text/html"));
    assert!(ada.data.contains("19:00"), "the slot in local time");

    // The mail server goes down: the emails wait, the notifier is killed meanwhile.
    smtp.set_mode(SmtpMode::Unavailable);
    let tried = smtp.connections();
    for (table, name) in [("t3", "Alan Turing"), ("t4", "Edsger Dijkstra")] {
        bookings.push(book(&system, table, &slot, name).await);
    }
    // Both were tried (and turned away) before anything is checked.
    let deadline = tokio::time::Instant::now() + WAIT;
    while smtp.connections() < tried + 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the emails were never tried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        confirmations(&smtp.received()),
        2,
        "nothing while it is down"
    );
    assert!(smtp.connections() > 2, "the notifier keeps trying");
    system.take_notifier().expect("notifier").kill();
    system.start_notifier().await;
    smtp.set_mode(SmtpMode::Accept);
    smtp.wait_for(WAIT, |r| confirmations(r) == 4).await;

    // Restarted again: every event is redelivered or replayed, no email twice.
    system.stop_notifier().await;
    system.start_notifier().await;
    system
        .wait_until_consumed(&[("BOOKINGS", "notifier")])
        .await;
    let received = smtp.received();
    assert_eq!(confirmations(&received), 4);
    for (id, mails) in by_booking(&received) {
        assert_eq!(
            mails.len(),
            1,
            "booking {id}: {:?}",
            mails.iter().map(|m| &m.0).collect::<Vec<_>>()
        );
    }
    let log = system.nats.log();
    let violations = crate::permissions::violations(&log);
    assert!(violations.is_empty(), "{violations:#?}");
    system.stop().await;
}

#[tokio::test]
async fn a_booking_made_before_the_notifier_first_runs_still_gets_its_confirmation() {
    // The stack starts in any order: the booker takes bookings before the notifier has
    // ever run (its durable consumers do not exist yet).
    let smtp = SmtpServer::start().await;
    let mut system = System::builder()
        .notifier_started_later(NotifierSettings {
            smtp_url: smtp.url(),
            reminder_before: Duration::from_secs(3600),
        })
        .start()
        .await;
    system.add_table("t1", 4).await;
    let booking = book(&system, "t1", &Slot::dinner(3), "Ada Lovelace").await;
    system.start_notifier().await;
    let received = smtp.wait_for(WAIT, |r| confirmations(r) == 1).await;
    let code = booking["accessCode"].as_str().expect("code");
    assert!(received[0].data.contains(code), "the access code is in it");
    system
        .wait_until_consumed(&[("BOOKINGS", "notifier")])
        .await;
    assert_eq!(confirmations(&smtp.received()), 1, "sent once");
    system.stop().await;
}

#[tokio::test]
async fn a_change_and_a_cancellation_are_told_and_a_refused_email_is_dead_lettered_not_retried() {
    let smtp = SmtpServer::start().await;
    let mut system = system_with(&smtp, Duration::from_secs(3600)).await;
    let (dinner, lunch) = (Slot::dinner(4), Slot::lunch(4));
    let booking = book(&system, "t1", &dinner, "Ada Lovelace").await;
    smtp.wait_for(WAIT, |r| confirmations(r) == 1).await;

    let (status, changed) = system
        .change(&booking, &json!({"timeSlot": lunch.json()}), 5)
        .await;
    assert_eq!(status, 200, "{changed}");
    let received = smtp
        .wait_for(WAIT, |r| {
            r.iter()
                .any(|m| m.header("Subject").is_some_and(|s| s.contains("changed")))
        })
        .await;
    let change = received
        .iter()
        .find(|m| m.header("Subject").is_some_and(|s| s.contains("changed")))
        .expect("the change");
    assert!(
        change.data.contains("19:00") && change.data.contains("12:00"),
        "both times"
    );
    assert!(
        !change
            .data
            .contains(booking["accessCode"].as_str().expect("code")),
        "the code only in the confirmation"
    );
    system.cancel_ok(&booking).await;
    smtp.wait_for(WAIT, |r| {
        r.iter()
            .any(|m| m.header("Subject").is_some_and(|s| s.contains("cancelled")))
    })
    .await;

    // A permanent refusal: recorded, counted, dead-lettered; not sent once the server
    // takes mail again.
    smtp.set_mode(SmtpMode::Refuse);
    let refused = book(&system, "t2", &dinner, "Grace Hopper").await;
    let metrics = system.notifier_metrics.clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = reqwest::get(&metrics)
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if text.contains("notifier_emails_total{kind=\"confirmation\",outcome=\"refused\"} 1") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never counted: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ops = async_nats::jetstream::new(system.nats.client().await);
    let mut dead_letters = ops.get_stream("DEAD_LETTERS").await.expect("stream");
    let state = dead_letters.info().await.expect("info").state.clone();
    assert!(state.messages >= 1);
    // The server's 550 echoed the guest's address; the dead letter says why without it.
    let mut reasons = Vec::new();
    for sequence in state.first_sequence..=state.last_sequence {
        let Ok(stored) = dead_letters.get_raw_message(sequence).await else {
            continue;
        };
        let headers = format!("{:?}", stored.headers);
        let payload = String::from_utf8_lossy(&stored.payload).into_owned();
        for text in [&headers, &payload] {
            assert!(
                !text.contains("grace.hopper@example.com"),
                "a dead letter holds the guest's address: {text}"
            );
        }
        reasons.push(headers);
    }
    assert!(
        reasons.iter().any(|r| r.contains("SMTP 550")),
        "the refusal's code is kept: {reasons:?}"
    );
    smtp.set_mode(SmtpMode::Accept);
    system.stop_notifier().await;
    system.start_notifier().await;
    system
        .wait_until_consumed(&[("BOOKINGS", "notifier")])
        .await;
    let id = refused["id"].as_str().expect("id").to_owned();
    assert!(
        !by_booking(&smtp.received()).contains_key(&id),
        "the refused email is not sent again"
    );
    system.stop().await;
}

#[tokio::test]
async fn a_reminder_comes_before_the_slot_and_none_for_a_booking_erased_cancelled_or_moved() {
    let smtp = SmtpServer::start().await;
    let slot = Slot::lunch(1);
    let from: jiff::Timestamp = slot.from.parse().expect("from");
    // The notifier is stopped while the bookings are made, however long that takes; it
    // then starts with reminders due a few seconds from then.
    let mut system = system_with(&smtp, Duration::from_secs(3600)).await;
    system.stop_notifier().await;
    let kept = book(&system, "t1", &slot, "Ada Lovelace").await;
    let erased = book(&system, "t2", &slot, "Grace Hopper").await;
    let cancelled = book(&system, "t3", &slot, "Alan Turing").await;
    // Moved to dinner: its lunch reminder goes with it (dinner's comes hours later).
    let moved = book(&system, "t4", &slot, "Edsger Dijkstra").await;
    let dinner = Slot::dinner(1);
    let (status, answer) = system
        .change(&moved, &json!({"timeSlot": dinner.json()}), 5)
        .await;
    assert_eq!(status, 200, "{answer}");
    let auth = format!("Bearer {ADMIN}");
    let path = format!("/bookings/{}/customer", erased["id"].as_str().expect("id"));
    let response = system
        .http
        .delete(system.url(&path))
        .header("Authorization", auth)
        .send()
        .await
        .expect("erase");
    assert_eq!(response.status(), 200);
    system.cancel_ok(&cancelled).await;
    let until = Duration::try_from(from.duration_since(jiff::Timestamp::now())).expect("future");
    system.set_reminder_before(until - Duration::from_secs(4));
    system.start_notifier().await;

    let reminders = |r: &[ReceivedMail]| {
        r.iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.starts_with("See you soon"))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let early = reminders(&smtp.received());
    assert!(early.is_empty(), "not before it is due: {early:?}");
    let received = smtp.wait_for(WAIT, |r| !reminders(r).is_empty()).await;
    let sent = reminders(&received);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("X-Booking-Id").as_deref(),
        kept["id"].as_str()
    );
    // Every reminder decided (sent, or dropped for the erased, the cancelled and the
    // moved): the reminders' consumer has acknowledged every event but one, the moved
    // booking's, whose dinner reminder waits for hours.
    let last = system.last_sequence("BOOKINGS").await;
    let acked = "consumer_messages_total{consumer=\"notifier-reminders\",outcome=\"acked\"}";
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = reqwest::get(&system.notifier_metrics)
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let count: u64 = text
            .lines()
            .find_map(|line| line.strip_prefix(acked))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if count + 1 >= last {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reminders were not all decided: {count} of {last} acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        reminders(&smtp.received()).len(),
        1,
        "none for the erased or the cancelled"
    );
    system.stop().await;
}
