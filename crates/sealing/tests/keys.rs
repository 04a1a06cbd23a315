//! The data keys against a real nats-server: one key per booking, kept on a retried
//! request, gone for good at erasure.

use events::BookingId;
use sealing::{DataKeys, SealError};
use testkit::NatsServer;

async fn keys(nats: &NatsServer) -> DataKeys {
    let client = nats.client().await;
    let js = async_nats::jetstream::new(client.clone());
    DataKeys::open(client, &js, 1).await.expect("the bucket")
}

#[tokio::test]
async fn a_retried_seal_uses_the_key_made_the_first_time() {
    let nats = NatsServer::start().await;
    let keys = keys(&nats).await;
    let id = BookingId::new();
    let first = keys.seal(id, &[b"Ada"]).await.expect("sealed");
    let retried = keys.seal(id, &[b"Ada"]).await.expect("sealed again");
    // Both open: one key for the booking, whichever attempt sealed.
    for sealed in [&first[0], &retried[0]] {
        let opened = keys.open_sealed(id, sealed).await.expect("opens");
        assert_eq!(opened.as_deref(), Some(&b"Ada"[..]));
    }
    // Another booking's key opens neither.
    let other = BookingId::new();
    keys.seal(other, &[b"Bob"]).await.expect("sealed");
    assert!(matches!(
        keys.open_sealed(other, &first[0]).await,
        Err(SealError::Corrupt(_))
    ));
}

#[tokio::test]
async fn given_an_erased_key_then_nothing_of_the_booking_opens_and_it_cannot_be_sealed_again() {
    let nats = NatsServer::start().await;
    let keys = keys(&nats).await;
    let id = BookingId::new();
    let sealed = keys
        .seal(id, &[b"Ada Lovelace", b"ada@example.com"])
        .await
        .expect("sealed");
    keys.erase(id).await.expect("erased");
    for value in &sealed {
        assert_eq!(keys.open_sealed(id, value).await.expect("no error"), None);
    }
    assert!(
        matches!(keys.seal(id, &[b"Ada"]).await, Err(SealError::Corrupt(_))),
        "an erased booking gets no new key"
    );
    // The key is gone from the store itself, not only hidden by a delete marker.
    let js = async_nats::jetstream::new(nats.client().await);
    let mut stream = js.get_stream("KV_customer_keys").await.expect("stream");
    let info = stream.info().await.expect("info");
    let raw = js
        .get_stream("KV_customer_keys")
        .await
        .expect("stream")
        .get_last_raw_message_by_subject(&format!("$KV.customer_keys.{id}"))
        .await;
    if let Ok(message) = raw {
        assert!(
            message.payload.is_empty(),
            "a key is still stored for {id} ({} messages in the bucket)",
            info.state.messages
        );
    }
    // Erasing again is no error.
    keys.erase(id).await.expect("erased twice");
}

#[tokio::test]
async fn a_booking_without_a_key_opens_nothing() {
    let nats = NatsServer::start().await;
    let keys = keys(&nats).await;
    let id = BookingId::new();
    let sealed = keys
        .seal(BookingId::new(), &[b"Ada"])
        .await
        .expect("sealed");
    assert_eq!(
        keys.open_sealed(id, &sealed[0]).await.expect("no error"),
        None
    );
}
