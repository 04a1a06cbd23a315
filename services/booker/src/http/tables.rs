//! `/tables`: staff add and remove tables (admin token); anyone lists them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use events::read_model::{Key, TablesView};
use events::{AddTable, RemoveTable, Seats, TableCommandRefusal, TableCommandReply, TableId};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Admin, Body};
use super::fields::{Errors, Field, TABLE_ID_RULE, Whole, json_body, table_id};
use super::representation::{RemovedTableBody, TableBody, TablesBody};
use super::state::AppState;
use crate::adapters::table_commands::CommandError;

pub(super) const SEATS_RULE: &str = "must be an integer from 1 to 50";

/// The body of `POST /tables`.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NewTableRequest {
    #[schema(value_type = events::TableId, required = true)]
    pub id: Field<String>,
    #[schema(value_type = events::Seats, required = true)]
    pub seats: Field<Whole>,
}

/// A valid `POST /tables` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTable {
    pub id: TableId,
    pub seats: Seats,
}

impl NewTableRequest {
    pub fn parse(self) -> Result<NewTable, ApiError> {
        let mut errors = Errors::default();
        let id = table_id(&mut errors, "id", self.id);
        let seats = errors.required(
            "seats",
            self.seats,
            "is required",
            SEATS_RULE,
            |Whole(n)| Seats::new(n).map_err(|_| SEATS_RULE.to_owned()),
        );
        errors.finish(|| {
            Some(NewTable {
                id: id?,
                seats: seats?,
            })
        })
    }
}

/// `POST /tables`.
#[utoipa::path(
    post,
    path = "/tables",
    tag = "tables",
    summary = "Add a table",
    request_body = NewTableRequest,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "the table", body = crate::http::representation::TableBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 409, description = "the id is already used (also by a removed table)", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn add(
    State(state): State<Arc<AppState>>,
    _: Admin,
    Body(body): Body,
) -> Result<(StatusCode, Json<TableBody>), ApiError> {
    let table = json_body::<NewTableRequest>(&body)?.parse()?;
    let backend = state.backend()?;
    let command = AddTable {
        command_id: uuid::Uuid::now_v7(),
        id: table.id,
        seats: table.seats,
    };
    match backend.tables.add(&command).await.map_err(unanswered)? {
        TableCommandReply::Done { id, seats } => Ok((
            StatusCode::CREATED,
            Json(TableBody {
                id,
                seats: seats.unwrap_or(command.seats).get(),
            }),
        )),
        reply => Err(refused(reply, "no such table")),
    }
}

/// `DELETE /tables/{id}`.
#[utoipa::path(
    delete,
    path = "/tables/{id}",
    tag = "tables",
    summary = "Remove a table",
    params(
        ("id" = events::TableId, Path, description = "the table's id"),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "removed", body = crate::http::representation::RemovedTableBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 404, description = "unknown or removed table", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "a lock is held for a slot that has not ended, or a combination contains the table", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn remove(
    State(state): State<Arc<AppState>>,
    _: Admin,
    Path(raw_id): Path<String>,
) -> Result<Json<RemovedTableBody>, ApiError> {
    let id = TableId::parse(&raw_id).map_err(|_| ApiError::field("id", TABLE_ID_RULE))?;
    let backend = state.backend()?;
    let command = RemoveTable {
        command_id: uuid::Uuid::now_v7(),
        id,
    };
    match backend.tables.remove(&command).await.map_err(unanswered)? {
        TableCommandReply::Done { id, .. } => Ok(Json(RemovedTableBody { id })),
        reply => Err(refused(reply, "no such table")),
    }
}

/// `GET /tables`: the tables not removed, sorted by id.
#[utoipa::path(
    get,
    path = "/tables",
    tag = "tables",
    summary = "The tables, sorted by id",
    responses(
        (status = 200, description = "removed tables left out", body = crate::http::representation::TablesBody),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<TablesBody>, ApiError> {
    let tables: TablesView = state.reads()?.get(&Key::Tables).await?.unwrap_or_default();
    let tables = tables
        .tables
        .into_iter()
        .filter(|(_, table)| !table.removed)
        .map(|(id, table)| TableBody {
            id,
            seats: table.seats,
        })
        .collect();
    Ok(Json(TablesBody { tables }))
}

/// The answer to a table command that got no reply.
pub(super) fn unanswered(error: CommandError) -> ApiError {
    match error {
        CommandError::NoTableManager | CommandError::TimedOut | CommandError::Request(_) => {
            ApiError::unavailable(error)
        }
        CommandError::Encode(_) | CommandError::Undecodable(_) => ApiError::internal(error),
    }
}

/// The answer to a table command that was not done; `not_found` says what was not found.
pub(super) fn refused(reply: TableCommandReply, not_found: &'static str) -> ApiError {
    match reply {
        TableCommandReply::Refused { reason, detail } => match reason {
            TableCommandRefusal::AlreadyExists
            | TableCommandRefusal::Locked
            | TableCommandRefusal::InCombination => ApiError::conflict(detail),
            TableCommandRefusal::NotFound => ApiError::NotFound(not_found),
            TableCommandRefusal::Invalid => ApiError::internal(anyhow::anyhow!(
                "table-manager could not decode a table command: {detail}"
            )),
        },
        TableCommandReply::Failed { detail } => ApiError::unavailable(anyhow::anyhow!(
            "table-manager could not run a table command: {detail}"
        )),
        TableCommandReply::Done { .. } | TableCommandReply::CombinationDone { .. } => {
            ApiError::internal(anyhow::anyhow!("a success reply taken for a refusal"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::fields;

    fn parse(body: &[u8]) -> Result<NewTable, ApiError> {
        json_body::<NewTableRequest>(body)?.parse()
    }

    #[test]
    fn given_a_table_body_then_id_and_seats_are_checked() {
        assert!(parse(br#"{"id":"t-1_A","seats":50}"#).is_ok());
        let error = parse(br#"{"id":"a.b","seats":51}"#).expect_err("invalid");
        assert_eq!(fields(error), ["id", "seats"]);
        let error = parse(br#"{"seats":"4"}"#).expect_err("invalid");
        assert_eq!(fields(error), ["id", "seats"]);
        let error = parse(br#"{"id":4,"seats":null}"#).expect_err("invalid");
        assert_eq!(fields(error), ["id", "seats"]);
    }
}
