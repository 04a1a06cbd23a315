//! `/table-combinations`: staff declare which tables can be joined and how many they seat
//! together, and remove such combinations (admin token); anyone lists them.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use events::read_model::{Key, TablesView};
use events::{AddCombination, CombinationId, RemoveCombination, Seats, TableCommandReply, TableId};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Admin, Body};
use super::fields::{Errors, Field, TABLE_ID_RULE, Whole, json_body};
use super::representation::{CombinationBody, CombinationsBody, RemovedCombinationBody};
use super::state::AppState;
use super::tables::{SEATS_RULE, refused, unanswered};

const TABLES_RULE: &str = "must be 2 to 4 distinct table ids";
/// How many tables a combination joins.
const TABLES: std::ops::RangeInclusive<usize> = 2..=4;

/// The body of `POST /table-combinations`.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NewCombinationRequest {
    #[schema(value_type = events::CombinationId, required = true)]
    pub id: Field<String>,
    /// 2 to 4 distinct tables, added and not removed.
    #[schema(schema_with = distinct_tables, required = true)]
    pub tables: Field<Vec<Field<String>>>,
    #[schema(value_type = events::Seats, required = true)]
    pub seats: Field<Whole>,
}

/// `tables` in the API description: 2 to 4 distinct table ids.
fn distinct_tables() -> utoipa::openapi::schema::Array {
    use utoipa::PartialSchema as _;
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(events::TableId::schema())
        .min_items(Some(*TABLES.start()))
        .max_items(Some(*TABLES.end()))
        .unique_items(true)
        .build()
}

/// A valid `POST /table-combinations` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCombination {
    pub id: CombinationId,
    /// Sorted, distinct.
    pub tables: Vec<TableId>,
    pub seats: Seats,
}

impl NewCombinationRequest {
    pub fn parse(self) -> Result<NewCombination, ApiError> {
        let mut errors = Errors::default();
        let id = errors.required("id", self.id, "is required", "must be a string", |raw| {
            CombinationId::parse(&raw).map_err(|_| TABLE_ID_RULE.to_owned())
        });
        let tables = errors.required("tables", self.tables, "is required", TABLES_RULE, |raw| {
            table_ids(raw)
        });
        let seats = errors.required(
            "seats",
            self.seats,
            "is required",
            SEATS_RULE,
            |Whole(n)| Seats::new(n).map_err(|_| SEATS_RULE.to_owned()),
        );
        errors.finish(|| {
            Some(NewCombination {
                id: id?,
                tables: tables?,
                seats: seats?,
            })
        })
    }
}

/// 2 to 4 distinct valid table ids, sorted.
fn table_ids(raw: Vec<Field<String>>) -> Result<Vec<TableId>, String> {
    let count = raw.len();
    let mut tables = BTreeSet::new();
    for field in raw {
        let Field::Present(raw) = field else {
            return Err(TABLES_RULE.to_owned());
        };
        let id = TableId::parse(&raw).map_err(|_| {
            format!("{TABLES_RULE}; {raw:?} does not match ^[A-Za-z0-9_-]{{1,64}}$")
        })?;
        tables.insert(id);
    }
    if tables.len() != count || !TABLES.contains(&count) {
        return Err(TABLES_RULE.to_owned());
    }
    Ok(tables.into_iter().collect())
}

/// `POST /table-combinations`.
#[utoipa::path(
    post,
    path = "/table-combinations",
    tag = "tables",
    summary = "Declare tables that can be joined",
    request_body = NewCombinationRequest,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "the combination", body = crate::http::representation::CombinationBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 404, description = "a table is unknown or removed", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the id is already used", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::http::error::responses::TooLarge),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn add(
    State(state): State<Arc<AppState>>,
    _: Admin,
    Body(body): Body,
) -> Result<(StatusCode, Json<CombinationBody>), ApiError> {
    let combination = json_body::<NewCombinationRequest>(&body)?.parse()?;
    let backend = state.backend()?;
    let command = AddCombination {
        command_id: uuid::Uuid::now_v7(),
        id: combination.id,
        tables: combination.tables,
        seats: combination.seats,
    };
    let reply = backend
        .tables
        .add_combination(&command)
        .await
        .map_err(unanswered)?;
    match reply {
        TableCommandReply::CombinationDone { id, tables, seats } => Ok((
            StatusCode::CREATED,
            Json(CombinationBody {
                id,
                tables,
                seats: seats.unwrap_or(command.seats).get(),
            }),
        )),
        reply => Err(refused(
            reply,
            "a table of the combination is unknown or removed",
        )),
    }
}

/// `DELETE /table-combinations/{id}`.
#[utoipa::path(
    delete,
    path = "/table-combinations/{id}",
    tag = "tables",
    summary = "Remove a combination",
    params(
        ("id" = events::CombinationId, Path, description = "the combination's id"),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "removed", body = crate::http::representation::RemovedCombinationBody),
        (status = 400, response = crate::http::error::responses::BadRequest),
        (status = 401, response = crate::http::error::responses::Unauthorized),
        (status = 404, description = "unknown or removed combination", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "a booking holds it for a slot that has not ended", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::http::error::responses::TooManyAttempts),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn remove(
    State(state): State<Arc<AppState>>,
    _: Admin,
    Path(raw_id): Path<String>,
) -> Result<Json<RemovedCombinationBody>, ApiError> {
    let id = CombinationId::parse(&raw_id).map_err(|_| ApiError::field("id", TABLE_ID_RULE))?;
    let backend = state.backend()?;
    let command = RemoveCombination {
        command_id: uuid::Uuid::now_v7(),
        id,
    };
    let reply = backend
        .tables
        .remove_combination(&command)
        .await
        .map_err(unanswered)?;
    match reply {
        TableCommandReply::CombinationDone { id, .. } => Ok(Json(RemovedCombinationBody { id })),
        reply => Err(refused(reply, "no such combination")),
    }
}

/// `GET /table-combinations`: the combinations not removed, sorted by id.
#[utoipa::path(
    get,
    path = "/table-combinations",
    tag = "tables",
    summary = "The combinations, sorted by id",
    responses(
        (status = 200, description = "removed ones left out", body = crate::http::representation::CombinationsBody),
        (status = 503, response = crate::http::error::responses::Unavailable),
    )
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<CombinationsBody>, ApiError> {
    let tables: TablesView = state.reads()?.get(&Key::Tables).await?.unwrap_or_default();
    let combinations = tables
        .combinations
        .into_iter()
        .filter(|(_, combination)| !combination.removed)
        .map(|(id, combination)| CombinationBody {
            id,
            tables: combination.tables,
            seats: combination.seats,
        })
        .collect();
    Ok(Json(CombinationsBody { combinations }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::fields;

    fn parse(body: &[u8]) -> Result<NewCombination, ApiError> {
        json_body::<NewCombinationRequest>(body)?.parse()
    }

    #[test]
    fn given_a_combination_body_then_its_tables_come_sorted() {
        let combination = parse(br#"{"id":"c1","tables":["t9","t8"],"seats":6}"#).expect("ok");
        let ids: Vec<&str> = combination.tables.iter().map(TableId::as_str).collect();
        assert_eq!(ids, ["t8", "t9"]);
        assert_eq!(combination.seats.get(), 6);
    }

    #[test]
    fn given_a_bad_combination_body_then_each_bad_field_is_named() {
        let error = parse(br#"{"id":"c.1","tables":["t1"],"seats":0}"#).expect_err("invalid");
        assert_eq!(fields(error), ["id", "tables", "seats"]);
        for tables in [
            r#"[]"#,
            r#"["t1","t1"]"#,
            r#"["t1","t2","t3","t4","t5"]"#,
            r#"["t1",2]"#,
            r#"["t1","a b"]"#,
            r#""t1,t2""#,
            r#"["t1",null]"#,
        ] {
            let body = format!(r#"{{"id":"c1","tables":{tables},"seats":6}}"#);
            let error = parse(body.as_bytes()).expect_err(tables);
            assert_eq!(fields(error), ["tables"], "{tables}");
        }
        let error = parse(br#"{}"#).expect_err("empty");
        assert_eq!(fields(error), ["id", "tables", "seats"]);
    }
}
