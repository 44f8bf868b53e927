//! The courier's accepted work: the stops in planned order, leaving the store, and proof of
//! delivery at the door (the customer's PIN).

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::model::{FailReason, FollowUp, Restriction, StopKind, TaskStop, check_follow_up};
use crate::error::AppError;
use crate::orders::lifecycle::{self, LockedOrder};
use crate::orders::model::{ActorKind, OrderAction, OrderStatus};

use super::service::OPEN;

/// Drop-off coordinates shown before the courier carries the order: about 100 m.
fn blur(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The courier's stops (a pickup until the order is picked up, then its drop-off; the store
/// again when a failed delivery's goods go back), in the order of the current plan. Until the
/// courier carries an order, its drop-off is an area: no exact address, contact or point.
pub async fn tasks_for(pool: &PgPool, courier_id: Uuid) -> Result<Vec<TaskStop>, AppError> {
    let rows = sqlx::query!(
        r#"select o.id, o.number, o.status, o.planned_pickup_at, o.planned_dropoff_at,
                  s.name as store_name, s.address as store_address, s.lat as store_lat, s.lng as store_lng,
                  o.address_detail as "address_detail!", o.contact_name, o.contact_phone,
                  o.dest_lat as "dest_lat!", o.dest_lng as "dest_lng!",
                  array(select distinct p.restricted from order_items i join products p on p.id = i.product_id
                        where i.order_id = o.id and p.restricted is not null) as "restricted!: Vec<String>",
                  array(select a.reason from delivery_attempts a where a.order_id = o.id order by a.id)
                      as "attempts!: Vec<String>"
           from orders o join stores s on s.id = o.store_id
           where o.courier_id = $1 and o.fulfilment = 'delivery'
             and (o.status = any($2) or (o.status = 'delivery_failed' and o.returned_at is null))
           order by o.id"#,
        courier_id,
        &OPEN.map(String::from)
    )
    .fetch_all(pool)
    .await?;
    let mut stops = Vec::with_capacity(rows.len() * 2);
    for r in rows {
        let status = OrderStatus::parse(&r.status)?;
        let restricted: Vec<Restriction> = r
            .restricted
            .iter()
            .filter_map(|x| Restriction::parse(x))
            .collect();
        let attempts: Vec<FailReason> = r
            .attempts
            .iter()
            .filter_map(|x| FailReason::parse(x))
            .collect();
        let store_stop = |kind| TaskStop {
            order_id: r.id,
            number: r.number.clone(),
            kind,
            status,
            place: r.store_name.clone(),
            address: r.store_address.clone(),
            contact: None,
            lat: r.store_lat,
            lng: r.store_lng,
            planned_at: r.planned_pickup_at,
            restricted: restricted.clone(),
            attempts: attempts.clone(),
        };
        if status == OrderStatus::DeliveryFailed {
            // Back to the store, now: it has no planned time, and goes first.
            stops.push(TaskStop {
                planned_at: None,
                ..store_stop(StopKind::Return)
            });
            continue;
        }
        let carried = matches!(status, OrderStatus::PickedUp | OrderStatus::Delivering);
        if !carried {
            stops.push(store_stop(StopKind::Pickup));
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
            restricted,
            attempts,
        });
    }
    // The plan's times give the order; returns go first, a stop the plan has not timed yet
    // goes last, and a pickup always before its own drop-off.
    stops.sort_by_key(|s| {
        (
            s.kind != StopKind::Return,
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

/// Proof of delivery: the PIN the customer reads from their order page, and for restricted
/// goods the courier's word that they checked the recipient's ID. The courier becomes free
/// again when this was their last open order.
pub async fn deliver(
    pool: &PgPool,
    courier_id: Uuid,
    order_id: Uuid,
    pin: &str,
    id_checked: bool,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    deliver_in(&mut tx, courier_id, order_id, pin, id_checked).await?;
    tx.commit().await?;
    Ok(())
}

/// [`deliver`] inside the caller's transaction.
pub async fn deliver_in(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
    order_id: Uuid,
    pin: &str,
    id_checked: bool,
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
    let restricted = restrictions(tx, order.id).await?;
    if !restricted.is_empty() && !id_checked {
        return Err(AppError::validation(
            "id_checked",
            "This order holds restricted goods: check the recipient's ID and tick the box before handing it over.",
        ));
    }
    let reason = if restricted.is_empty() {
        "Delivery PIN checked".to_string()
    } else {
        let what: Vec<&str> = restricted.iter().map(|r| r.as_str()).collect();
        format!("Delivery PIN checked; ID checked ({})", what.join(", "))
    };
    lifecycle::transition(
        tx,
        &mut order,
        OrderAction::Deliver,
        ActorKind::Courier,
        Some(courier_id),
        &reason,
    )
    .await?;
    sqlx::query!(
        "update orders set delivered_at = now(),
                id_checked_at = case when $2 then now() end
         where id = $1",
        order.id,
        !restricted.is_empty()
    )
    .execute(&mut **tx)
    .await?;
    free_if_done(tx, courier_id).await?;
    lifecycle::enqueue(
        tx,
        "order.delivered",
        serde_json::json!({ "order_id": order.id }),
    )
    .await
}

/// The restricted goods in an order.
async fn restrictions(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
) -> Result<Vec<Restriction>, AppError> {
    let rows = sqlx::query_scalar!(
        r#"select distinct p.restricted as "restricted!" from order_items i
           join products p on p.id = i.product_id
           where i.order_id = $1 and p.restricted is not null"#,
        order_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().filter_map(|r| Restriction::parse(r)).collect())
}

/// A busy courier with nothing left to deliver or bring back is free for new offers.
pub(crate) async fn free_if_done(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
) -> Result<(), AppError> {
    sqlx::query!(
        "update couriers set status = 'online'
         where user_id = $1 and status = 'busy'
           and not exists (select 1 from orders where courier_id = $1 and status = any($2))
           and not exists (select 1 from orders where courier_id = $1
                           and status = 'delivery_failed' and returned_at is null)",
        courier_id,
        &OPEN.map(String::from)
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The courier could not hand the order over. `Retry`: they keep it and try again (the
/// customer sees why on their timeline); `Return`: the delivery fails and the goods go back
/// to the store, which confirms receipt. A refusal, or the last try, always goes back.
pub async fn fail_delivery_in(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
    order_id: Uuid,
    reason: FailReason,
    follow_up: FollowUp,
) -> Result<(), AppError> {
    let mut order = lock_assigned(tx, courier_id, order_id).await?;
    if order.status != OrderStatus::Delivering {
        return Err(AppError::conflict(format!(
            "This order is {} now: a failed attempt is reported at the door, after 'On my way'.",
            order.status.label()
        )));
    }
    let earlier = sqlx::query_scalar!(
        r#"select count(*) as "n!" from delivery_attempts where order_id = $1"#,
        order.id
    )
    .fetch_one(&mut **tx)
    .await?;
    check_follow_up(earlier as usize, reason, follow_up)
        .map_err(|m| AppError::validation("follow_up", m))?;
    sqlx::query!(
        "insert into delivery_attempts (order_id, courier_id, reason, follow_up) values ($1, $2, $3, $4)",
        order.id,
        courier_id,
        reason.as_str(),
        follow_up.as_str()
    )
    .execute(&mut **tx)
    .await?;
    match follow_up {
        FollowUp::Retry => {
            let note = format!(
                "Attempt {} failed ({}): the courier will try again. Please answer your phone.",
                earlier + 1,
                reason.label()
            );
            lifecycle::record_event(
                tx,
                order.id,
                Some(order.status),
                order.status,
                ActorKind::Courier,
                Some(courier_id),
                &note,
            )
            .await
        }
        FollowUp::Return => {
            let note = format!(
                "Delivery failed ({}): the goods go back to the store, which refunds them.",
                reason.label()
            );
            lifecycle::transition(
                tx,
                &mut order,
                OrderAction::FailDelivery,
                ActorKind::Courier,
                Some(courier_id),
                &note,
            )
            .await?;
            lifecycle::enqueue(
                tx,
                "order.delivery_failed",
                serde_json::json!({ "order_id": order.id, "reason": reason.as_str() }),
            )
            .await
        }
    }
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
