//! A booking's customer as those who may see it are shown it.

use domain::Booking;
use events::{BookingId, Customer};

use super::error::ApiError;
use super::state::AppState;

/// The customer of a booking, for those who may see it: unsealed with the booking's key,
/// in clear for a booking of an earlier release; `None` once erased.
pub async fn customer_of(
    state: &AppState,
    id: BookingId,
    sealed: Option<&str>,
    clear: Option<&Customer>,
) -> Result<Option<Customer>, ApiError> {
    match sealed {
        Some(sealed) => Ok(state.backend()?.customers.open_sealed(id, sealed).await?),
        None => Ok(clear.cloned()),
    }
}

/// The customer of a booking of the write side.
pub async fn customer_of_booking(
    state: &AppState,
    booking: &Booking,
) -> Result<Option<Customer>, ApiError> {
    let Some(request) = &booking.request else {
        return Ok(None);
    };
    let sealed = request.sealed_customer.as_deref();
    customer_of(state, request.id, sealed, request.customer.as_ref()).await
}
