//! Public endpoints for couriers.

use leptos::prelude::*;

use super::model::CourierProfile;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::{accounts::auth, accounts::model::Role, context};

/// The calling courier's own profile.
#[server(endpoint = "courier_profile")]
pub async fn get_courier_profile() -> Result<CourierProfile, AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    let row = sqlx::query!(
        "select c.user_id, u.display_name, c.vehicle, c.capacity, c.speed_kmh, c.status
         from couriers c join users u on u.id = c.user_id
         where c.user_id = $1",
        user.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(CourierProfile {
        user_id: row.user_id,
        display_name: row.display_name,
        vehicle: row.vehicle,
        capacity: row.capacity,
        speed_kmh: row.speed_kmh,
        status: row.status,
    })
}

#[cfg(feature = "ssr")]
fn dispatch_config(state: &crate::state::AppState) -> super::service::DispatchConfig {
    super::service::DispatchConfig {
        offer_ttl: state.settings.offer_ttl,
        ..Default::default()
    }
}

/// Starts a shift at the given position; dispatch may send offers from now on.
#[server(endpoint = "courier_go_online")]
pub async fn courier_go_online(lat: f64, lng: f64, shift_hours: u32) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    let (lat, lng) =
        super::model::valid_position(lat, lng).map_err(|m| AppError::validation("position", m))?;
    if !(1..=super::model::MAX_SHIFT_HOURS).contains(&shift_hours) {
        return Err(AppError::validation(
            "shift_hours",
            format!(
                "A shift lasts 1 to {} hours.",
                super::model::MAX_SHIFT_HOURS
            ),
        ));
    }
    super::service::go_online(&state.pool, user.id, lat, lng, shift_hours).await
}

/// Ends the shift. Refused while the courier still carries orders.
#[server(endpoint = "courier_go_offline")]
pub async fn courier_go_offline() -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    super::service::go_offline(&state.pool, user.id).await
}

/// The courier's current position (from the browser's Geolocation).
#[server(endpoint = "courier_position")]
pub async fn report_position(lat: f64, lng: f64) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    let (lat, lng) =
        super::model::valid_position(lat, lng).map_err(|m| AppError::validation("position", m))?;
    super::service::record_position(&state.pool, user.id, lat, lng).await
}

/// Offers waiting for this courier's answer.
#[server(endpoint = "courier_offers")]
pub async fn my_offers() -> Result<Vec<super::model::OfferView>, AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    super::service::offers_for(&state.pool, user.id).await
}

/// Accept or decline an offer before it expires.
#[server(endpoint = "courier_answer_offer")]
pub async fn answer_offer(offer_id: uuid::Uuid, accept: bool) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    super::service::answer_offer(
        &state.pool,
        user.id,
        offer_id,
        accept,
        &dispatch_config(&state),
    )
    .await
}

/// Operations move an order to a courier by hand; the planner never moves it again.
#[server(endpoint = "ops_reassign_order")]
pub async fn reassign_order(order_id: uuid::Uuid, courier_id: uuid::Uuid) -> Result<(), AppError> {
    let user = auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    super::service::reassign(&state.pool, user.id, order_id, courier_id).await
}

/// The courier's stops in the plan's order.
#[server(endpoint = "courier_tasks")]
pub async fn my_tasks() -> Result<Vec<super::model::TaskStop>, AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    super::tasks::tasks_for(&state.pool, user.id).await
}

/// The courier leaves for the customer with this order on board.
#[server(endpoint = "courier_start_delivering")]
pub async fn start_delivering(order_id: uuid::Uuid) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    super::tasks::start_delivering(&state.pool, user.id, order_id).await
}

/// Delivered, proven by the customer's 4-digit PIN.
#[server(endpoint = "courier_deliver")]
pub async fn deliver(order_id: uuid::Uuid, pin: String) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let pin = pin.trim();
    if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::validation(
            "pin",
            "Enter the customer's 4-digit delivery PIN.",
        ));
    }
    // A 4-digit PIN is guessable: each address gets a limited number of tries.
    auth::throttle_anonymous()?;
    let state = context::state()?;
    super::tasks::deliver(&state.pool, user.id, order_id, pin).await
}
