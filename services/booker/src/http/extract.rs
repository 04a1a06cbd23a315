//! Extractors: what a handler needs from the request besides its body's fields, with the
//! rejections mapped to [`ApiError`] once, here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

use super::error::ApiError;
use super::fields::{Field, json_body};
use super::state::AppState;
use crate::edge::access::{self, AccessCode};
use crate::edge::client_address::client_address;
use crate::edge::guard::Scope;

/// The request body (at most 64 KiB); a larger one answers 413.
#[derive(Debug)]
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection: BytesRejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge
                } else {
                    ApiError::field("body", "cannot be read")
                }
            })
    }
}

impl Body {
    /// Nothing but blanks, or JSON `null`: a body that may be left out was.
    pub fn is_blank(&self) -> bool {
        let trimmed = self.0.trim_ascii();
        trimmed.is_empty() || trimmed == b"null"
    }
}

/// The query string as name/value pairs, in order (repeats kept).
#[derive(Debug)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Self(pairs))
            .map_err(|_| ApiError::field("query", "is not a valid query string"))
    }
}

impl QueryPairs {
    /// The last value given for `name`.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Proof that the request carries the admin token; 401 otherwise, 429 while the client
/// is over its limit of wrong tokens.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if is_admin(&parts.headers, state, client_of(parts, state)).await? {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Who calls a booking route: the admin, the access code of `X-Access-Code` if any, and
/// the client's address (for the guessing limits). Refuses only a client over its limit
/// of wrong admin tokens; the route decides what the caller may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub admin: bool,
    pub code: Option<AccessCode>,
    pub client: IpAddr,
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let client = client_of(parts, state);
        Ok(Self {
            admin: is_admin(&parts.headers, state, client).await?,
            code: parts
                .headers
                .get("x-access-code")
                .and_then(|value| value.to_str().ok())
                .map(AccessCode::from_input),
            client,
        })
    }
}

/// The client's address: the peer, or the last untrusted `X-Forwarded-For` hop behind a
/// trusted proxy.
fn client_of(parts: &Parts, state: &AppState) -> IpAddr {
    // Served without connection info only in router tests.
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok());
    client_address(peer, forwarded, &state.trusted_proxies)
}

/// A body that may carry the access code (`{"accessCode": "K7QX2"}`, or nothing).
#[derive(Debug, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CodeBody {
    #[schema(value_type = Option<String>, example = "K7QX2")]
    access_code: Field<String>,
}

impl Caller {
    /// The caller with the access code of `body`, if it has one (it wins over the
    /// header): cancel and erasure take the code either way.
    pub fn with_code_of(self, body: &Body) -> Result<Self, ApiError> {
        if body.is_blank() {
            return Ok(self);
        }
        let code = match json_body::<CodeBody>(&body.0)?.access_code {
            Field::Absent => None,
            Field::Invalid => return Err(ApiError::field("accessCode", "must be a string")),
            Field::Present(code) => Some(AccessCode::from_input(&code)),
        };
        Ok(Self {
            code: code.or(self.code),
            ..self
        })
    }
}

/// The `Idempotency-Key` header, checked: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get("idempotency-key")
            .map(|value| idempotency_key(value.as_bytes()))
            .transpose()
            .map(Self)
    }
}

fn idempotency_key(raw: &[u8]) -> Result<String, ApiError> {
    let valid = (1..=255).contains(&raw.len()) && raw.iter().all(|b| (0x21..=0x7e).contains(b));
    match std::str::from_utf8(raw) {
        Ok(key) if valid => Ok(key.to_owned()),
        _ => Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// Whether the request carries the admin token. A token is checked only while `client`
/// is under its limit of wrong tokens (429 otherwise), and a wrong one counts; a request
/// without a token is simply not the admin's.
async fn is_admin(headers: &HeaderMap, state: &AppState, client: IpAddr) -> Result<bool, ApiError> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
    else {
        return Ok(false);
    };
    let guard = &state.backend()?.guard;
    let matches = || access::secrets_equal(token, state.admin_token.expose());
    Ok(guard
        .attempt(&[Scope::AdminClient(client)], matches)
        .await?)
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's case does not
/// matter (RFC 9110).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_matched_whatever_its_case() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k ", " Bearer t0k"] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value:?}");
        }
        for value in ["Basic t0k", "Bearer", "Bearer  ", "Bearert0k"] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }

    #[test]
    fn an_idempotency_key_is_one_to_255_visible_ascii_characters() {
        assert!(idempotency_key(b"abc-123").is_ok());
        assert!(idempotency_key(&[b'k'; 255]).is_ok());
        assert!(idempotency_key(&[b'k'; 256]).is_err());
        assert!(idempotency_key(b"").is_err());
        assert!(idempotency_key(b"has space").is_err());
    }
}
