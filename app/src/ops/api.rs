//! Public endpoints for operations staff.

use leptos::prelude::*;

use super::model::CityOverview;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::{
    accounts::auth, accounts::model::Role, context, dispatch::model::CourierProfile, page::PageReq,
};

/// Counts for the city and the courier roster, page by page.
#[server(endpoint = "city_overview")]
pub async fn get_city_overview(page: u32) -> Result<CityOverview, AppError> {
    auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    let counts = sqlx::query!(
        r#"select (select count(*) from stores) as "stores!",
                  (select count(*) from products) as "products!",
                  (select count(*) from users where role = 'customer') as "customers!",
                  (select count(*) from couriers where status <> 'offline') as "couriers_online!",
                  (select count(*) from couriers) as "couriers!""#
    )
    .fetch_one(&state.pool)
    .await?;
    let req = PageReq::new(page, 10);
    let couriers = sqlx::query_as!(
        CourierProfile,
        "select c.user_id, u.display_name, c.vehicle, c.capacity, c.speed_kmh, c.status
         from couriers c join users u on u.id = c.user_id
         order by u.display_name, c.user_id
         limit $1 offset $2",
        req.limit(),
        req.offset()
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(CityOverview {
        stores: counts.stores,
        products: counts.products,
        customers: counts.customers,
        couriers_online: counts.couriers_online,
        couriers: req.wrap(couriers, counts.couriers),
    })
}

/// Service zones with the condition active on each (paged would be overkill: a city has a
/// handful; capped at 200).
#[server(endpoint = "ops_zones")]
pub async fn zones() -> Result<Vec<super::model::ZoneView>, AppError> {
    auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    crate::dispatch::service::zones(&state.pool).await
}

/// Draws a new service zone (`polygon`: JSON list of `[lat, lng]` points).
#[server(endpoint = "ops_create_zone")]
pub async fn create_zone(name: String, polygon: String) -> Result<uuid::Uuid, AppError> {
    let user = auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    let name = name.trim().to_string();
    if !(1..=60).contains(&name.chars().count()) {
        return Err(AppError::validation(
            "name",
            "Name the zone (up to 60 characters).",
        ));
    }
    let points =
        super::model::parse_polygon(&polygon).map_err(|m| AppError::validation("polygon", m))?;
    crate::dispatch::service::create_zone(&state.pool, user.id, &name, &points).await
}

/// Rain, storm or heavy traffic on a zone for the next `hours`: quotes add the surcharge and
/// dispatch re-plans with the slower travel at once. Replaces the zone's current condition.
#[server(endpoint = "ops_set_zone_condition")]
pub async fn set_zone_condition(
    zone_id: uuid::Uuid,
    kind: String,
    travel_multiplier: f64,
    surcharge_fen: i64,
    hours: u32,
) -> Result<(), AppError> {
    let user = auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    if !super::model::CONDITION_KINDS.contains(&kind.as_str()) {
        return Err(AppError::validation(
            "kind",
            "Choose rain, storm or heavy traffic.",
        ));
    }
    if !(1.0..=5.0).contains(&travel_multiplier) {
        return Err(AppError::validation(
            "travel_multiplier",
            "Travel takes 1 to 5 times as long.",
        ));
    }
    if !(0..=10_000).contains(&surcharge_fen) {
        return Err(AppError::validation(
            "surcharge_fen",
            "A surcharge is ¥0 to ¥100.",
        ));
    }
    if !(1..=48).contains(&hours) {
        return Err(AppError::validation(
            "hours",
            "A condition lasts 1 to 48 hours.",
        ));
    }
    crate::dispatch::service::set_zone_condition(
        &state.pool,
        user.id,
        zone_id,
        &kind,
        travel_multiplier,
        surcharge_fen,
        hours,
    )
    .await
}

/// Ends a zone condition now.
#[server(endpoint = "ops_end_zone_condition")]
pub async fn end_zone_condition(condition_id: uuid::Uuid) -> Result<(), AppError> {
    auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    crate::dispatch::service::end_zone_condition(&state.pool, condition_id).await
}

/// Why an order went where it went: every dispatch decision about it, oldest first.
#[server(endpoint = "ops_order_decisions")]
pub async fn order_decisions(
    order_id: uuid::Uuid,
) -> Result<Vec<super::model::DecisionView>, AppError> {
    auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    crate::dispatch::service::decisions(&state.pool, order_id).await
}

/// The live city: couriers on shift, open delivery orders, planned routes, zones.
#[server(endpoint = "ops_live_city")]
pub async fn live_city() -> Result<super::model::LiveCity, AppError> {
    auth::require_role(Role::Ops).await?;
    let state = context::state()?;
    super::live::live_city(&state.pool).await
}
