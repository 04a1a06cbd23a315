//! The staff's table commands, answered over NATS request/reply in a queue group, so any
//! replica may answer and each request is answered once.

use std::sync::Arc;

use anyhow::Context as _;
use async_nats::{Client, Message};
use domain::{TableCommand, TableRejection};
use events::{
    AddTable, CausationId, CommandId, CorrelationId, RemoveTable, TableCommandRefusal,
    TableCommandReply, names,
};
use eventstore::{AppendContext, ExecuteError};
use futures_util::StreamExt as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::tables::{Tables, table_of};

/// Requests handled at once; more wait in the subscription.
const MAX_IN_FLIGHT: usize = 256;

/// Serves table commands until `shutdown`, then finishes the requests in hand.
pub async fn serve(
    client: Client,
    tables: Arc<Tables>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let add = client
        .queue_subscribe(names::ADD_TABLE_COMMAND, names::TABLE_COMMANDS_QUEUE.into())
        .await
        .context("cannot subscribe to the add-table commands")?;
    let remove = client
        .queue_subscribe(
            names::REMOVE_TABLE_COMMAND,
            names::TABLE_COMMANDS_QUEUE.into(),
        )
        .await
        .context("cannot subscribe to the remove-table commands")?;
    let mut requests = futures_util::stream::select(add, remove);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            request = requests.next(), if in_flight.len() < MAX_IN_FLIGHT => {
                let Some(request) = request else {
                    anyhow::bail!("the table command subscriptions ended");
                };
                let (client, tables) = (client.clone(), tables.clone());
                in_flight.spawn(async move { answer(&client, &tables, request).await });
            }
        }
    }
    // Dropping the subscriptions unsubscribes; requests in hand still get their answer.
    drop(requests);
    while in_flight.join_next().await.is_some() {}
    Ok(())
}

async fn answer(client: &Client, tables: &Tables, request: Message) {
    let Some(reply_to) = request.reply.clone() else {
        tracing::warn!(subject = %request.subject, "table command without a reply subject; ignored");
        return;
    };
    let reply = handle(tables, &request).await;
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
async fn handle(tables: &Tables, request: &Message) -> TableCommandReply {
    let decoded = match request.subject.as_str() {
        names::ADD_TABLE_COMMAND => serde_json::from_slice::<AddTable>(&request.payload).map(|c| {
            (
                c.command_id,
                TableCommand::Add {
                    id: c.id,
                    seats: c.seats,
                },
            )
        }),
        _ => serde_json::from_slice::<RemoveTable>(&request.payload).map(|c| {
            let now = jiff::Timestamp::now();
            (c.command_id, TableCommand::Remove { id: c.id, now })
        }),
    };
    let (command_id, command) = match decoded {
        Ok(decoded) => decoded,
        Err(error) => {
            return TableCommandReply::Refused {
                reason: TableCommandRefusal::Invalid,
                detail: format!("undecodable table command: {error}"),
            };
        }
    };
    let context = AppendContext {
        command_id: CommandId::caused_by("table-command", events::EventId::from_uuid(command_id)),
        correlation_id: CorrelationId::from_uuid(command_id),
        causation_id: CausationId::from_uuid(command_id),
    };
    match tables.execute(&command, &context).await {
        Ok(executed) => {
            let id = table_of(&command).clone();
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
        Err(error) => {
            tracing::error!(error = %error, "table command failed");
            TableCommandReply::Failed {
                detail: "the event store is unavailable".to_owned(),
            }
        }
    }
}
