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
