//! The staff's table commands, sent to table-manager over NATS request/reply (any replica
//! answers, once), with a typed reply.

use std::time::Duration;

use async_nats::Client;
use async_nats::client::RequestErrorKind;
use events::{AddCombination, AddTable, RemoveCombination, RemoveTable, TableCommandReply, names};
use serde::Serialize;

/// How long the gateway waits for table-manager to answer a table command.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A table command got no usable reply. Nothing is known to be written except for
/// [`CommandError::TimedOut`], where the command may have been run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("no table-manager is running")]
    NoTableManager,
    #[error("table-manager did not answer within {TIMEOUT:?}")]
    TimedOut,
    #[error("the table command could not be sent: {0}")]
    Request(#[source] async_nats::RequestError),
    #[error("cannot encode the table command: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("undecodable reply from table-manager: {0}")]
    Undecodable(#[source] serde_json::Error),
}

/// Sends table commands to table-manager.
#[derive(Debug, Clone)]
pub struct TableCommands {
    client: Client,
}

impl TableCommands {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub async fn add(&self, command: &AddTable) -> Result<TableCommandReply, CommandError> {
        self.send(names::ADD_TABLE_COMMAND, command).await
    }

    pub async fn remove(&self, command: &RemoveTable) -> Result<TableCommandReply, CommandError> {
        self.send(names::REMOVE_TABLE_COMMAND, command).await
    }

    pub async fn add_combination(
        &self,
        command: &AddCombination,
    ) -> Result<TableCommandReply, CommandError> {
        self.send(names::ADD_COMBINATION_COMMAND, command).await
    }

    pub async fn remove_combination(
        &self,
        command: &RemoveCombination,
    ) -> Result<TableCommandReply, CommandError> {
        self.send(names::REMOVE_COMBINATION_COMMAND, command).await
    }

    async fn send<C: Serialize>(
        &self,
        subject: &'static str,
        command: &C,
    ) -> Result<TableCommandReply, CommandError> {
        let payload = serde_json::to_vec(command).map_err(CommandError::Encode)?;
        let request = self.client.request(subject, payload.into());
        let reply = match tokio::time::timeout(TIMEOUT, request).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) if error.kind() == RequestErrorKind::NoResponders => {
                return Err(CommandError::NoTableManager);
            }
            Ok(Err(error)) if error.kind() == RequestErrorKind::TimedOut => {
                return Err(CommandError::TimedOut);
            }
            Ok(Err(error)) => return Err(CommandError::Request(error)),
            Err(_) => return Err(CommandError::TimedOut),
        };
        serde_json::from_slice(&reply.payload).map_err(CommandError::Undecodable)
    }
}
