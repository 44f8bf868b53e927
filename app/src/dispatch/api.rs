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

/// Delivered, proven by the customer's 4-digit PIN (and, for restricted goods, the ID check).
#[server(endpoint = "courier_deliver")]
pub async fn deliver(
    order_id: uuid::Uuid,
    pin: String,
    #[server(default)] id_checked: bool,
) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let pin = super::model::parse_pin(&pin)?;
    // A 4-digit PIN is guessable: each address gets a limited number of tries.
    auth::throttle_anonymous()?;
    let state = context::state()?;
    super::tasks::deliver(&state.pool, user.id, order_id, &pin, id_checked).await
}

/// The courier could not hand the order over: why, and whether they try again or take it
/// back to the store.
#[server(endpoint = "courier_fail_delivery")]
pub async fn fail_delivery(
    order_id: uuid::Uuid,
    reason: String,
    follow_up: String,
) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let (reason, follow_up) = super::model::parse_failure(&reason, &follow_up)?;
    let state = context::state()?;
    let mut tx = state.pool.begin().await?;
    super::tasks::fail_delivery_in(&mut tx, user.id, order_id, reason, follow_up).await?;
    tx.commit().await?;
    Ok(())
}

/// The courier app's queued actions, applied in order, each once (see `sync`). JSON: the
/// actions are a list of tagged records.
#[server(endpoint = "courier_sync", input = leptos::server_fn::codec::Json)]
pub async fn courier_sync(
    actions: Vec<super::sync::QueuedAction>,
) -> Result<Vec<super::sync::ActionResult>, AppError> {
    let user = auth::require_role(Role::Courier).await?;
    if actions.len() > super::sync::MAX_BATCH {
        return Err(AppError::validation(
            "actions",
            format!("Send at most {} actions at a time.", super::sync::MAX_BATCH),
        ));
    }
    let state = context::state()?;
    // Codes and PINs are guessable: each one typed counts against the address's tries.
    super::sync::apply_batch(&state.pool, user.id, &actions, auth::throttle_anonymous).await
}

/// The courier's day so far; `since_ms` is the device's local midnight (at most two days back).
#[server(endpoint = "courier_today")]
pub async fn courier_today(since_ms: i64) -> Result<super::model::CourierToday, AppError> {
    let user = auth::require_role(Role::Courier).await?;
    let state = context::state()?;
    let now = chrono::Utc::now();
    let since = chrono::DateTime::from_timestamp_millis(since_ms)
        .filter(|t| *t <= now && now - *t <= chrono::TimeDelta::hours(48))
        .ok_or_else(|| {
            AppError::validation("since_ms", "Ask for a day within the last two days.")
        })?;
    super::tasks::today(&state.pool, user.id, since).await
}

/// The customer's map of their order (the courier appears only while carrying it).
#[server(endpoint = "order_tracking")]
pub async fn order_tracking(order_id: uuid::Uuid) -> Result<super::model::OrderTracking, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::tracking::order_tracking(&state.pool, user.id, order_id).await
}
