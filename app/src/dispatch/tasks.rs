//! The courier's accepted work: the stops in planned order, leaving the store, and proof of
//! delivery at the door (the customer's PIN).

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::model::{StopKind, TaskStop};
use crate::error::AppError;
use crate::orders::lifecycle::{self, LockedOrder};
use crate::orders::model::{ActorKind, OrderAction, OrderStatus};

use super::service::OPEN;

/// Drop-off coordinates shown before the courier carries the order: about 100 m.
fn blur(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The courier's stops (a pickup until the order is picked up, then its drop-off), in the
/// order of the current plan. Until the courier carries an order, its drop-off is an area:
/// no exact address, contact or point.
pub async fn tasks_for(pool: &PgPool, courier_id: Uuid) -> Result<Vec<TaskStop>, AppError> {
    let rows = sqlx::query!(
        r#"select o.id, o.number, o.status, o.planned_pickup_at, o.planned_dropoff_at,
                  s.name as store_name, s.address as store_address, s.lat as store_lat, s.lng as store_lng,
                  o.address_detail as "address_detail!", o.contact_name, o.contact_phone,
                  o.dest_lat as "dest_lat!", o.dest_lng as "dest_lng!"
           from orders o join stores s on s.id = o.store_id
           where o.courier_id = $1 and o.fulfilment = 'delivery' and o.status = any($2)
           order by o.id"#,
        courier_id,
        &OPEN.map(String::from)
    )
    .fetch_all(pool)
    .await?;
    let mut stops = Vec::with_capacity(rows.len() * 2);
    for r in rows {
        let status = OrderStatus::parse(&r.status)?;
        let carried = matches!(status, OrderStatus::PickedUp | OrderStatus::Delivering);
        if !carried {
            stops.push(TaskStop {
                order_id: r.id,
                number: r.number.clone(),
                kind: StopKind::Pickup,
                status,
                place: r.store_name,
                address: r.store_address,
                contact: None,
                lat: r.store_lat,
                lng: r.store_lng,
                planned_at: r.planned_pickup_at,
            });
        }
        let (address, contact, lat, lng) = if carried {
            (
                r.address_detail,
                Some(format!("{} {}", r.contact_name, r.contact_phone)),
                r.dest_lat,
                r.dest_lng,
            )
        } else {
            (
                "Shown once you carry the order 取货后显示".to_string(),
                None,
                blur(r.dest_lat),
                blur(r.dest_lng),
            )
        };
        stops.push(TaskStop {
            order_id: r.id,
            number: r.number,
            kind: StopKind::Dropoff,
            status,
            place: "Customer 顾客".to_string(),
            address,
            contact,
            lat,
            lng,
            planned_at: r.planned_dropoff_at,
        });
    }
    // The plan's times give the order; a stop the plan has not timed yet goes last, and a
    // pickup always before its own drop-off.
    stops.sort_by_key(|s| {
        (
            s.planned_at.is_none(),
            s.planned_at,
            s.kind == StopKind::Dropoff,
        )
    });
    Ok(stops)
}

/// The order, locked, if dispatch gave it to this courier; otherwise "not found".
async fn lock_assigned(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
    order_id: Uuid,
) -> Result<LockedOrder, AppError> {
    let order = lifecycle::lock_order(tx, order_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let assigned = sqlx::query_scalar!("select courier_id from orders where id = $1", order.id)
        .fetch_one(&mut **tx)
        .await?;
    if assigned != Some(courier_id) {
        return Err(AppError::NotFound);
    }
    Ok(order)
}

/// The courier leaves for this order's drop-off (with it on board).
pub async fn start_delivering(
    pool: &PgPool,
    courier_id: Uuid,
    order_id: Uuid,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    start_delivering_in(&mut tx, courier_id, order_id).await?;
    tx.commit().await?;
    Ok(())
}

/// [`start_delivering`] inside the caller's transaction.
pub async fn start_delivering_in(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
    order_id: Uuid,
) -> Result<(), AppError> {
    let mut order = lock_assigned(tx, courier_id, order_id).await?;
    if order.status == OrderStatus::Delivering {
        return Ok(());
    }
    lifecycle::transition(
        tx,
        &mut order,
        OrderAction::StartDelivering,
        ActorKind::Courier,
        Some(courier_id),
        "On the way to the customer",
    )
    .await?;
    Ok(())
}

/// Proof of delivery: the PIN the customer reads from their order page. The courier becomes
/// free again when this was their last open order.
pub async fn deliver(
    pool: &PgPool,
    courier_id: Uuid,
    order_id: Uuid,
    pin: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    deliver_in(&mut tx, courier_id, order_id, pin).await?;
    tx.commit().await?;
    Ok(())
}

/// [`deliver`] inside the caller's transaction.
pub async fn deliver_in(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
    order_id: Uuid,
    pin: &str,
) -> Result<(), AppError> {
    let mut order = lock_assigned(tx, courier_id, order_id).await?;
    // The state first: a PIN says nothing about an order that is not on its way.
    order
        .status
        .next(OrderAction::Deliver, ActorKind::Courier, order.fulfilment)?;
    let expected = sqlx::query_scalar!("select delivery_pin from orders where id = $1", order.id)
        .fetch_one(&mut **tx)
        .await?;
    if expected.as_deref() != Some(pin) {
        return Err(AppError::validation(
            "pin",
            "That PIN does not match. Ask the customer for the 4-digit PIN on their order page.",
        ));
    }
    lifecycle::transition(
        tx,
        &mut order,
        OrderAction::Deliver,
        ActorKind::Courier,
        Some(courier_id),
        "Delivery PIN checked",
    )
    .await?;
    sqlx::query!(
        "update orders set delivered_at = now() where id = $1",
        order.id
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update couriers set status = 'online'
         where user_id = $1 and status = 'busy'
           and not exists (select 1 from orders where courier_id = $1 and status = any($2))",
        courier_id,
        &OPEN.map(String::from)
    )
    .execute(&mut **tx)
    .await?;
    lifecycle::enqueue(
        tx,
        "order.delivered",
        serde_json::json!({ "order_id": order.id }),
    )
    .await
}

/// The courier's day so far (since `since`, the device's local midnight): orders delivered,
/// distance ridden (from the positions sent) and what those deliveries earned (an offer's
/// earnings split evenly over its orders).
pub async fn today(
    pool: &PgPool,
    courier_id: Uuid,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<super::model::CourierToday, AppError> {
    let row = sqlx::query!(
        r#"with done as (
               select o.id from orders o
               where o.courier_id = $1 and o.delivered_at >= $2
           ),
           track as (
               select lat, lng, lag(lat) over w as plat, lag(lng) over w as plng
               from courier_positions where courier_id = $1 and at >= $2
               window w as (order by at)
           )
           select (select count(*) from done) as "delivered!",
                  (select coalesce(sum(f.earnings_fen
                                       / (select count(*) from offer_orders x where x.offer_id = f.id)), 0)
                   from done d join offer_orders oo on oo.order_id = d.id
                   join offers f on f.id = oo.offer_id and f.status = 'accepted' and f.courier_id = $1
                  )::bigint as "earnings_fen!",
                  (select coalesce(sum(2 * 6371000 * asin(sqrt(
                              power(sin(radians(lat - plat) / 2), 2)
                              + cos(radians(plat)) * cos(radians(lat)) * power(sin(radians(lng - plng) / 2), 2)))), 0)
                   from track where plat is not null) as "distance_m!""#,
        courier_id,
        since
    )
    .fetch_one(pool)
    .await?;
    Ok(super::model::CourierToday {
        delivered: row.delivered,
        earnings_fen: row.earnings_fen,
        distance_m: row.distance_m.round() as i64,
    })
}
