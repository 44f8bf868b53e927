//! The live city for operations (server side).

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use super::model::{CourierDot, LIVE_CITY_CAP, LiveCity, OrderDot, PlannedRoute};
use crate::dispatch::service::OPEN;
use crate::error::AppError;
use crate::orders::model::OrderStatus;

pub async fn live_city(pool: &PgPool) -> Result<LiveCity, AppError> {
    let couriers = sqlx::query!(
        r#"select c.user_id, u.display_name, c.status, c.lat as "lat!", c.lng as "lng!",
                  (select count(*) from orders o where o.courier_id = c.user_id and o.status = any($1)) as "load!"
           from couriers c join users u on u.id = c.user_id
           where c.status <> 'offline' and c.lat is not null and c.lng is not null
           order by u.display_name, c.user_id
           limit $2"#,
        &OPEN.map(String::from),
        LIVE_CITY_CAP
    )
    .fetch_all(pool)
    .await?;
    let orders = sqlx::query!(
        r#"select o.id, o.number, o.status, o.courier_id, u.display_name as "courier_name?",
                  (extract(epoch from now() - coalesce(o.paid_at, o.created_at)) / 60)::bigint as "age_min!",
                  s.name as store_name, s.lat as store_lat, s.lng as store_lng,
                  o.dest_lat as "dest_lat!", o.dest_lng as "dest_lng!",
                  o.planned_pickup_at, o.planned_dropoff_at
           from orders o
           join stores s on s.id = o.store_id
           left join users u on u.id = o.courier_id
           where o.fulfilment = 'delivery' and o.status = any($1)
             and o.dest_lat is not null and o.dest_lng is not null
           order by coalesce(o.paid_at, o.created_at), o.id
           limit $2"#,
        &OPEN.map(String::from),
        LIVE_CITY_CAP
    )
    .fetch_all(pool)
    .await?;
    // Each courier's stops in plan order: the pickup until the order is on board, then the
    // drop-off.
    let at: HashMap<Uuid, [f64; 2]> = couriers
        .iter()
        .map(|c| (c.user_id, [c.lat, c.lng]))
        .collect();
    let mut stops: HashMap<Uuid, Vec<TimedPoint>> = HashMap::new();
    let mut dots = Vec::with_capacity(orders.len());
    for o in orders {
        let status = OrderStatus::parse(&o.status)?;
        if let Some(courier) = o.courier_id {
            let list = stops.entry(courier).or_default();
            if !matches!(status, OrderStatus::PickedUp | OrderStatus::Delivering) {
                list.push((o.planned_pickup_at, [o.store_lat, o.store_lng]));
            }
            list.push((o.planned_dropoff_at, [o.dest_lat, o.dest_lng]));
        }
        dots.push(OrderDot {
            id: o.id,
            number: o.number,
            status,
            age_min: o.age_min,
            store_name: o.store_name,
            store: [o.store_lat, o.store_lng],
            dest: [o.dest_lat, o.dest_lng],
            courier_id: o.courier_id,
            courier_name: o.courier_name,
        });
    }
    let routes = stops
        .into_iter()
        .filter_map(|(courier, mut list)| {
            let start = *at.get(&courier)?;
            list.sort_by_key(|(t, _)| (t.is_none(), *t));
            let mut points = vec![start];
            points.extend(list.into_iter().map(|(_, p)| p));
            Some(PlannedRoute {
                courier_id: courier,
                points,
            })
        })
        .collect();
    Ok(LiveCity {
        couriers: couriers
            .into_iter()
            .map(|c| CourierDot {
                id: c.user_id,
                name: c.display_name,
                status: c.status,
                lat: c.lat,
                lng: c.lng,
                load: c.load,
            })
            .collect(),
        orders: dots,
        routes,
        zones: crate::dispatch::service::zones(pool).await?,
    })
}

/// A stop's planned time (if planned) and place.
type TimedPoint = (Option<chrono::DateTime<chrono::Utc>>, [f64; 2]);
