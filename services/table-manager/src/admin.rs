//! The staff's table commands, answered over NATS request/reply in a queue group, so any
//! replica may answer and each request is answered once.

use std::sync::Arc;

use anyhow::Context as _;
use async_nats::{Client, Message};
use domain::{TableCommand, TableRejection};
use events::{
    AddCombination, AddTable, CorrelationId, RemoveCombination, RemoveTable, Step,
    TableCommandRefusal, TableCommandReply, names,
};
use eventstore::{AppendContext, EventLog, ExecuteError};
use futures_util::StreamExt as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::combinations::{CombinationRequest, Floor};
use crate::tables::table_of;

/// Requests handled at once; more wait in the subscription.
const MAX_IN_FLIGHT: usize = 256;

/// Serves table commands until `shutdown`, then finishes the requests in hand.
pub async fn serve(
    client: Client,
    floor: Arc<Floor>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut subscriptions = Vec::new();
    for subject in [
        names::ADD_TABLE_COMMAND,
        names::REMOVE_TABLE_COMMAND,
        names::ADD_COMBINATION_COMMAND,
        names::REMOVE_COMBINATION_COMMAND,
    ] {
        let subscription = client
            .queue_subscribe(subject, names::TABLE_COMMANDS_QUEUE.into())
            .await
            .with_context(|| format!("cannot subscribe to {subject}"))?;
        subscriptions.push(subscription);
    }
    let mut requests = futures_util::stream::select_all(subscriptions);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            request = requests.next(), if in_flight.len() < MAX_IN_FLIGHT => {
                let Some(request) = request else {
                    anyhow::bail!("the table command subscriptions ended");
                };
                let (client, floor) = (client.clone(), floor.clone());
                in_flight.spawn(async move { answer(&client, &floor, request).await });
            }
        }
    }
    // Dropping the subscriptions unsubscribes; requests in hand still get their answer.
    drop(requests);
    while in_flight.join_next().await.is_some() {}
    Ok(())
}

async fn answer(client: &Client, floor: &Floor, request: Message) {
    let Some(reply_to) = request.reply.clone() else {
        tracing::warn!(subject = %request.subject, "table command without a reply subject; ignored");
        return;
    };
    let reply = handle(floor, &request).await;
    match serde_json::to_vec(&reply) {
        Ok(body) => {
            if let Err(error) = client.publish(reply_to, body.into()).await {
                tracing::warn!(%error, "cannot send the reply to a table command");
            }
        }
        Err(error) => tracing::error!(%error, "cannot encode the reply to a table command"),
    }
}

#[tracing::instrument(skip_all, fields(subject = %request.subject))]
async fn handle(floor: &Floor, request: &Message) -> TableCommandReply {
    let payload = &request.payload;
    let decoded = match request.subject.as_str() {
        names::ADD_TABLE_COMMAND => serde_json::from_slice::<AddTable>(payload).map(|c| {
            let command = TableCommand::Add {
                id: c.id,
                seats: c.seats,
            };
            Request::Table(c.command_id, command)
        }),
        names::REMOVE_TABLE_COMMAND => serde_json::from_slice::<RemoveTable>(payload).map(|c| {
            let now = jiff::Timestamp::now();
            Request::Table(c.command_id, TableCommand::Remove { id: c.id, now })
        }),
        names::ADD_COMBINATION_COMMAND => serde_json::from_slice::<AddCombination>(payload)
            .map(|c| Request::Combination(CombinationRequest::Add(c))),
        _ => serde_json::from_slice::<RemoveCombination>(payload)
            .map(|c| Request::Combination(CombinationRequest::Remove(c))),
    };
    match decoded {
        Ok(Request::Table(command_id, command)) => execute(floor, command_id, &command).await,
        Ok(Request::Combination(request)) => floor.joins.execute(&floor.tables, &request).await,
        Err(error) => TableCommandReply::Refused {
            reason: TableCommandRefusal::Invalid,
            detail: format!("undecodable table command: {error}"),
        },
    }
}

/// A staff command, decoded.
enum Request {
    Table(uuid::Uuid, TableCommand),
    Combination(CombinationRequest),
}

/// Runs one staff command on its table; the reply for the gateway. The command's own id
/// makes a retried request idempotent and is the correlation id of what it records.
pub async fn execute<L: EventLog>(
    floor: &Floor<L>,
    command_id: uuid::Uuid,
    command: &TableCommand,
) -> TableCommandReply {
    let correlation = CorrelationId::from_uuid(command_id);
    let context = AppendContext::for_request(Step::TableCommand, command_id, correlation);
    if let TableCommand::Remove { id, .. } = command {
        match floor.joins.containing(id).await {
            Ok(None) => {}
            Ok(Some(combination)) => {
                return TableCommandReply::Refused {
                    reason: TableCommandRefusal::InCombination,
                    detail: format!("table {id} is part of combination {combination}"),
                };
            }
            Err(error) => return failed(&error),
        }
    }
    match floor.tables.execute(command, &context).await {
        Ok(executed) => {
            let id = table_of(command).clone();
            let seats = matches!(command, TableCommand::Add { .. })
                .then_some(executed.state.seats)
                .flatten();
            TableCommandReply::Done { id, seats }
        }
        Err(ExecuteError::Rejected(rejection)) => {
            let reason = match rejection {
                TableRejection::AlreadyExists(_) => TableCommandRefusal::AlreadyExists,
                TableRejection::NotFound(_) => TableCommandRefusal::NotFound,
                TableRejection::Locked { .. } => TableCommandRefusal::Locked,
            };
            TableCommandReply::Refused {
                reason,
                detail: rejection.to_string(),
            }
        }
        Err(error) => failed(&error),
    }
}

fn failed(error: &dyn std::fmt::Display) -> TableCommandReply {
    tracing::error!(error = %error, "table command failed");
    TableCommandReply::Failed {
        detail: "the event store is unavailable".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use events::{BookingId, Seats, TableEvent};
    use eventstore::InMemory;

    use crate::tables::Tables;
    use eventstore::testing::Scenario;

    use super::*;
    use events::fixtures::*;

    fn add(seats: u64) -> TableCommand {
        TableCommand::Add {
            id: t1(),
            seats: Seats::new(seats).expect("seats"),
        }
    }

    fn remove_at(now: &str) -> TableCommand {
        TableCommand::Remove {
            id: t1(),
            now: ts(now),
        }
    }

    async fn run(scenario: &mut Scenario, command: &TableCommand) -> TableCommandReply {
        scenario.mark();
        let floor = Floor::new(Arc::new(Tables::<InMemory>::new(scenario.log())));
        execute(&floor, uuid::Uuid::now_v7(), command).await
    }

    fn refusal(reply: &TableCommandReply) -> Option<TableCommandRefusal> {
        match reply {
            TableCommandReply::Refused { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    #[tokio::test]
    async fn given_no_table_when_staff_add_it_then_it_is_added_and_the_reply_has_its_seats() {
        let mut scenario = Scenario::new();
        let reply = run(&mut scenario, &add(4)).await;
        assert_eq!(
            reply,
            TableCommandReply::Done {
                id: t1(),
                seats: Some(Seats::new(4).expect("seats"))
            }
        );
        assert_eq!(scenario.then::<TableEvent>(), vec![added(4)]);
    }

    #[tokio::test]
    async fn given_a_table_when_staff_add_its_id_again_then_it_is_refused_and_nothing_is_appended()
    {
        let mut scenario = Scenario::new().given(&t1(), [added(4)]);
        let reply = run(&mut scenario, &add(2)).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::AlreadyExists));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_the_same_request_when_it_is_retried_then_the_table_is_added_once() {
        let mut scenario = Scenario::new();
        scenario.mark();
        let floor = Floor::new(Arc::new(Tables::<InMemory>::new(scenario.log())));
        let request = uuid::Uuid::now_v7();
        let first = execute(&floor, request, &add(4)).await;
        // The retry reaches another replica, whose cache does not know the table.
        let other = Floor::new(Arc::new(Tables::<InMemory>::new(scenario.log())));
        let retry = execute(&other, request, &add(4)).await;
        assert!(matches!(first, TableCommandReply::Done { .. }), "{first:?}");
        assert!(
            !matches!(retry, TableCommandReply::Failed { .. }),
            "{retry:?}"
        );
        assert_eq!(scenario.then::<TableEvent>(), vec![added(4)]);
    }

    #[tokio::test]
    async fn given_a_lock_for_a_coming_slot_when_staff_remove_the_table_then_it_is_refused_as_locked()
     {
        let mut scenario = Scenario::new().given(&t1(), [added(4), placed(BookingId::new())]);
        let reply = run(&mut scenario, &remove_at("2026-12-24T12:00:00Z")).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::Locked));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_only_an_ended_lock_when_staff_remove_the_table_then_it_is_removed() {
        let mut scenario = Scenario::new().given(&t1(), [added(4), placed(BookingId::new())]);
        let reply = run(&mut scenario, &remove_at("2026-12-24T21:00:00Z")).await;
        assert_eq!(
            reply,
            TableCommandReply::Done {
                id: t1(),
                seats: None
            }
        );
        assert_eq!(scenario.then::<TableEvent>(), vec![removed()]);
    }

    #[tokio::test]
    async fn given_no_table_when_staff_remove_it_then_it_is_not_found() {
        let mut scenario = Scenario::new();
        let reply = run(&mut scenario, &remove_at("2026-12-24T12:00:00Z")).await;
        assert_eq!(refusal(&reply), Some(TableCommandRefusal::NotFound));
        assert_eq!(scenario.then::<TableEvent>(), vec![]);
    }

    #[tokio::test]
    async fn given_the_store_unavailable_when_staff_add_a_table_then_the_reply_says_it_failed() {
        let mut scenario = Scenario::new();
        scenario.log().set_unavailable(true);
        let reply = run(&mut scenario, &add(4)).await;
        assert!(
            matches!(reply, TableCommandReply::Failed { .. }),
            "{reply:?}"
        );
    }
}
