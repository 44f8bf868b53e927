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
