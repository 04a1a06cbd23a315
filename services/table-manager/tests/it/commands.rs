//! The table commands over NATS request/reply, as the gateway sends them.

use events::{
    AddTable, RemoveTable, Seats, TableCommandRefusal, TableCommandReply, TableId, names,
};
use testkit::NatsServer;

use crate::start;

async fn send(
    client: &async_nats::Client,
    subject: &'static str,
    body: Vec<u8>,
) -> TableCommandReply {
    let reply = client.request(subject, body.into()).await.expect("reply");
    serde_json::from_slice(&reply.payload).expect("typed reply")
}

fn add(id: &str, seats: u64) -> Vec<u8> {
    serde_json::to_vec(&AddTable {
        command_id: uuid::Uuid::now_v7(),
        id: TableId::parse(id).expect("id"),
        seats: Seats::new(seats).expect("seats"),
    })
    .expect("encode")
}

fn remove(id: &str) -> Vec<u8> {
    serde_json::to_vec(&RemoveTable {
        command_id: uuid::Uuid::now_v7(),
        id: TableId::parse(id).expect("id"),
    })
    .expect("encode")
}

#[tokio::test]
async fn table_commands_get_typed_replies_and_refusals_write_nothing() {
    let nats = NatsServer::start().await;
    let running = start(&nats).await;
    let client = nats.client().await;

    let done = send(&client, names::ADD_TABLE_COMMAND, add("t1", 4)).await;
    assert_eq!(
        done,
        TableCommandReply::Done {
            id: TableId::parse("t1").expect("id"),
            seats: Some(Seats::new(4).expect("seats")),
        }
    );
    let refusal = |reply: TableCommandReply| match reply {
        TableCommandReply::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let again = send(&client, names::ADD_TABLE_COMMAND, add("t1", 2)).await;
    assert_eq!(refusal(again), TableCommandRefusal::AlreadyExists);
    let unknown = send(&client, names::REMOVE_TABLE_COMMAND, remove("t2")).await;
    assert_eq!(refusal(unknown), TableCommandRefusal::NotFound);
    let garbage = send(&client, names::ADD_TABLE_COMMAND, b"{\"id\":".to_vec()).await;
    assert_eq!(refusal(garbage), TableCommandRefusal::Invalid);
    let removed = send(&client, names::REMOVE_TABLE_COMMAND, remove("t1")).await;
    assert!(
        matches!(removed, TableCommandReply::Done { .. }),
        "{removed:?}"
    );
    let twice = send(&client, names::REMOVE_TABLE_COMMAND, remove("t1")).await;
    assert_eq!(refusal(twice), TableCommandRefusal::NotFound);

    let js = async_nats::jetstream::new(client);
    let mut tables = js.get_stream("TABLES").await.expect("stream");
    assert_eq!(tables.info().await.expect("info").state.messages, 2);
    running.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn each_command_is_answered_once_by_one_of_several_replicas() {
    let nats = NatsServer::start().await;
    let (a, b) = (start(&nats).await, start(&nats).await);
    let client = nats.client().await;
    let replies = futures_util::future::join_all(
        (0..20).map(|i| send(&client, names::ADD_TABLE_COMMAND, add(&format!("t{i}"), 2))),
    )
    .await;
    assert!(
        replies
            .iter()
            .all(|r| matches!(r, TableCommandReply::Done { .. })),
        "{replies:?}"
    );
    let js = async_nats::jetstream::new(client);
    let mut tables = js.get_stream("TABLES").await.expect("stream");
    assert_eq!(tables.info().await.expect("info").state.messages, 20);
    a.stop().await.expect("clean shutdown");
    b.stop().await.expect("clean shutdown");
}
