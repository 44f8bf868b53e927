//! The customer's map of an order: the store, the door and, only while the courier carries
//! the order, the courier's position.

use sqlx::PgPool;
use uuid::Uuid;

use super::model::{CourierOnMap, MapPoint, OrderTracking};
use crate::error::AppError;

/// The order's map for its customer (anyone else: not found).
pub async fn order_tracking(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
) -> Result<OrderTracking, AppError> {
    let r = sqlx::query!(
        r#"select o.status, o.fulfilment, o.dest_lat, o.dest_lng,
                  s.name as store_name, s.lat as store_lat, s.lng as store_lng,
                  u.display_name as "courier_name?", c.lat as "courier_lat?", c.lng as "courier_lng?"
           from orders o
           join stores s on s.id = o.store_id
           left join couriers c on c.user_id = o.courier_id
           left join users u on u.id = o.courier_id
           where o.id = $1 and o.customer_id = $2"#,
        order_id,
        customer_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let carried = carried(&r.status);
    let courier = match (carried, r.courier_name, r.courier_lat, r.courier_lng) {
        (true, Some(name), Some(lat), Some(lng)) => Some(CourierOnMap {
            name,
            at: MapPoint { lat, lng },
        }),
        _ => None,
    };
    let destination = match (r.fulfilment.as_str(), r.dest_lat, r.dest_lng) {
        ("delivery", Some(lat), Some(lng)) => Some(MapPoint { lat, lng }),
        _ => None,
    };
    Ok(OrderTracking {
        store_name: r.store_name,
        store: MapPoint {
            lat: r.store_lat,
            lng: r.store_lng,
        },
        destination,
        courier,
    })
}

/// The statuses in which the customer may see the courier.
fn carried(status: &str) -> bool {
    matches!(status, "picked_up" | "delivering")
}

/// The courier whose position the order's customer may follow right now, if any; not found
/// when the order is not theirs.
pub async fn visible_courier(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
) -> Result<Option<Uuid>, AppError> {
    let r = sqlx::query!(
        "select status, courier_id from orders where id = $1 and customer_id = $2",
        order_id,
        customer_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(r.courier_id.filter(|_| carried(&r.status)))
}

/// Couriers who accepted one of the store's orders and have not picked it up yet, with where
/// they are and when the plan has them at the counter. Nobody else's position is shown.
pub async fn heading_to_store(
    pool: &PgPool,
    store_id: Uuid,
) -> Result<super::model::StoreCouriers, AppError> {
    let store = sqlx::query!("select lat, lng from stores where id = $1", store_id)
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = sqlx::query!(
        r#"select c.user_id, u.display_name, c.lat as "lat!", c.lng as "lng!",
                  to_char(min(o.planned_pickup_at) at time zone s.time_zone, 'HH24:MI') as eta_local,
                  array_agg(o.number order by o.planned_pickup_at nulls last, o.number) as "orders!"
           from orders o
           join stores s on s.id = o.store_id
           join couriers c on c.user_id = o.courier_id
           join users u on u.id = c.user_id
           where o.store_id = $1 and o.fulfilment = 'delivery'
             and o.status in ('placed', 'accepted', 'picking', 'ready')
             and c.lat is not null and c.lng is not null
           group by c.user_id, u.display_name, c.lat, c.lng, s.time_zone
           order by min(o.planned_pickup_at) nulls last, u.display_name
           limit 50"#,
        store_id
    )
    .fetch_all(pool)
    .await?;
    Ok(super::model::StoreCouriers {
        store: MapPoint {
            lat: store.lat,
            lng: store.lng,
        },
        couriers: rows
            .into_iter()
            .map(|r| super::model::HeadingCourier {
                id: r.user_id,
                name: r.display_name,
                at: MapPoint {
                    lat: r.lat,
                    lng: r.lng,
                },
                eta_local: r.eta_local,
                orders: r.orders,
            })
            .collect(),
    })
}
