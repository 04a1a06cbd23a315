//! Request bodies as serde types whose fields are [`Field`]s: the body deserializes
//! whatever each field holds, and each request type's `parse` turns it into domain values
//! while [`Errors`] collects every bad field, so one 400 names them all.

use events::TableId;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::error::{ApiError, FieldError};

/// One field of a JSON body as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field<T> {
    /// Not there, or `null`.
    #[default]
    Absent,
    /// There, but not of the expected JSON type.
    Invalid,
    Present(T),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.is_null() {
            return Ok(Self::Absent);
        }
        Ok(serde_json::from_value(value).map_or(Self::Invalid, Self::Present))
    }
}

/// As a client would send it again (the API description shows request defaults so):
/// absent and invalid are `null`.
impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Present(value) => value.serialize(serializer),
            Self::Absent | Self::Invalid => serializer.serialize_none(),
        }
    }
}

/// A whole number as JSON Schema counts one: `4` and `4.0` alike (a client's `4.5` or
/// `-1` is the wrong type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Whole(pub u64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        if let Some(whole) = number.as_u64() {
            return Ok(Self(whole));
        }
        match number.as_f64() {
            // Exactly representable as an integer, so the cast is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(float) if float.fract() == 0.0 && (0.0..=9.0e15).contains(&float) => {
                Ok(Self(float as u64))
            }
            _ => Err(serde::de::Error::custom("not a whole number")),
        }
    }
}

/// A nested JSON object (serde would also take an array for a struct; a client's array
/// is the wrong type, not a struct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Object<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            object @ Value::Object(_) => serde_json::from_value(object)
                .map(Self)
                .map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected a JSON object")),
        }
    }
}

/// Collects the errors of one request, so that all bad fields are named at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value of a field that must be there: `None` (with its error) when it is absent
    /// (`missing`), of the wrong type (`wrong_type`) or refused by `parse` (its message).
    pub fn required<T, U>(
        &mut self,
        name: &str,
        field: Field<T>,
        missing: &str,
        wrong_type: &str,
        parse: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        match field {
            Field::Absent => {
                self.add(name, missing);
                None
            }
            field => self.optional(name, field, wrong_type, parse).flatten(),
        }
    }

    /// The value of a field that may be left out: `Some(None)` when absent, `None` (with
    /// its error) when invalid.
    pub fn optional<T, U>(
        &mut self,
        name: &str,
        field: Field<T>,
        wrong_type: &str,
        parse: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<Option<U>> {
        match field {
            Field::Absent => Some(None),
            Field::Invalid => {
                self.add(name, wrong_type);
                None
            }
            Field::Present(raw) => match parse(raw) {
                Ok(value) => Some(Some(value)),
                Err(message) => {
                    self.add(name, message);
                    None
                }
            },
        }
    }

    /// The parsed request when no field was bad; else a 400 naming each bad field.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        match (self.0.is_empty(), value()) {
            (true, Some(value)) => Ok(value),
            // Every `None` above comes with an error; an empty list would be a bug here.
            (true, None) => Err(ApiError::field("body", "is invalid")),
            (false, _) => Err(ApiError::BadRequest(self.0)),
        }
    }
}

/// The body as a JSON object, deserialized into `T` (whose fields are [`Field`]s, so any
/// object deserializes).
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let not_json =
        |e: serde_json::Error| ApiError::field("body", &format!("is not valid JSON ({e})"));
    // An object is read straight into `T`; anything else is told apart for the message
    // (serde would take an array for a struct).
    if body.trim_ascii_start().starts_with(b"{") {
        return serde_json::from_slice(body).map_err(not_json);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(_) => Err(ApiError::field("body", "must be a JSON object")),
        Err(e) => Err(not_json(e)),
    }
}

pub const TABLE_ID_RULE: &str = "must match ^[A-Za-z0-9_-]{1,64}$";

/// A required table id field.
pub fn table_id(errors: &mut Errors, name: &str, field: Field<String>) -> Option<TableId> {
    errors.required(name, field, "is required", "must be a string", |raw| {
        TableId::parse(&raw).map_err(|_| TABLE_ID_RULE.to_owned())
    })
}

/// A trimmed text of 1 to `max` characters without control characters.
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        Err("must not be blank".to_owned())
    } else if trimmed.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if trimmed.chars().any(char::is_control) {
        Err("must not contain control characters".to_owned())
    } else {
        Ok(trimmed.to_owned())
    }
}
