//! OpenAPI schemas of the contract's value types, for the booker's API description
//! (feature `openapi`): written from the same rules the types enforce.

use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::ids::{BookingId, CombinationId, PartySize, Seats, TableId};

/// A string with `pattern`, shown with `example`.
fn text(pattern: &str, example: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
        .into()
}

/// An integer from `min` to `max`.
fn bounded(min: u8, max: u8, example: u8, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
        .examples([example])
        .into()
}

/// The pattern of the ids staff choose (see `is_staff_name`).
const STAFF_NAME: &str = "^[A-Za-z0-9_-]{1,64}$";

impl PartialSchema for TableId {
    fn schema() -> RefOr<Schema> {
        text(STAFF_NAME, "t1", "a table's id, chosen by staff")
    }
}
impl ToSchema for TableId {}

impl PartialSchema for CombinationId {
    fn schema() -> RefOr<Schema> {
        text(STAFF_NAME, "c1", "a combination's id, chosen by staff")
    }
}
impl ToSchema for CombinationId {}

impl PartialSchema for BookingId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".to_owned())))
            .description(Some("a booking's id"))
            .examples(["0193f0b4-7c1e-7000-8000-000000000001"])
            .into()
    }
}
impl ToSchema for BookingId {}

impl PartialSchema for Seats {
    fn schema() -> RefOr<Schema> {
        bounded(Self::MIN, Self::MAX, 4, "seats at a table")
    }
}
impl ToSchema for Seats {}

impl PartialSchema for PartySize {
    fn schema() -> RefOr<Schema> {
        bounded(Self::MIN, Self::MAX, 4, "people in the party")
    }
}
impl ToSchema for PartySize {}
