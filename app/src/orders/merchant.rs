//! The store's side of an order: the board, accept (with a prep estimate that moves the
//! customer's ETA) or reject (refund + restock), pick list tick-off, ready, hand-over by code,
//! answers to cancel requests, and the system's auto-reject of orders nobody accepted.
//! Every function finds the order through [`lock_store_order`]: staff of another store get
//! "not found", exactly like someone guessing ids.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::board::{
    Board, BoardCard, BoardColumn, BoardLane, MerchantOrder, OrderFilter, PackingLabel, PickGroup,
    PickLine, StageTime, StoreAlert, StoreOrderRow, StoreToday, csv_field, handover_payload,
    mask_name,
};
use super::checkout::{random_digits, totals_from_fen};
use super::lifecycle::{self, LockedOrder, lock_order, transition};
use super::model::{ActorKind, Fulfilment, OrderAction, OrderStatus};
use crate::error::AppError;
use crate::money::Money;
use crate::page::{Page, PageReq};

/// How many cards one board column shows (the oldest first); the rest are counted.
const LANE_LIMIT: usize = 50;

/// The order, locked, if `user_id` works at its store; anyone else gets 404.
pub async fn lock_store_order(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    user_id: Uuid,
) -> Result<LockedOrder, AppError> {
    let order = lock_order(tx, order_id).await?.ok_or(AppError::NotFound)?;
    let member = sqlx::query_scalar!(
        r#"select exists (select 1 from store_members where store_id = $1 and user_id = $2) as "member!""#,
        order.store_id,
        user_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if member {
        Ok(order)
    } else {
        Err(AppError::NotFound)
    }
}

/// The store's live board: open orders by column, today's hand-overs, open warnings.
pub async fn board(pool: &PgPool, store_id: Uuid) -> Result<Board, AppError> {
    let store = sqlx::query!(
        "select name, prep_time_min, accept_timeout_min, accepting_orders from stores where id = $1",
        store_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let rows = sqlx::query!(
        r#"select o.id, o.number, o.status, o.fulfilment, o.total_fen,
                  (select coalesce(sum(quantity), 0) from order_items i where i.order_id = o.id) as "items!",
                  (select count(*) from order_items i where i.order_id = o.id) as "lines!",
                  (select count(*) from order_items i where i.order_id = o.id and i.picked_at is not null) as "picked!",
                  to_char(coalesce(o.paid_at, o.created_at) at time zone s.time_zone, 'HH24:MI') as "paid_local!",
                  floor(extract(epoch from now() - coalesce(o.paid_at, o.created_at)) / 60)::bigint as "age_min!",
                  case when o.status = 'placed' then
                      floor(extract(epoch from o.release_at + make_interval(mins => s.accept_timeout_min) - now()) / 60)::bigint
                  end as accept_within_min,
                  to_char(o.scheduled_for at time zone s.time_zone, 'MM-DD HH24:MI') as scheduled_local,
                  to_char((o.accepted_at + make_interval(mins => o.prep_estimate_min)) at time zone s.time_zone,
                          'HH24:MI') as ready_by_local,
                  c.reason as "cancel_reason?",
                  (select count(*) from order_exceptions e where e.order_id = o.id and e.status = 'open') as "missing_open!",
                  case when o.status in ('placed', 'accepted', 'picking', 'ready') then
                      (select u.display_name from users u where u.id = o.courier_id) || coalesce(' · ~' ||
                       to_char(o.planned_pickup_at at time zone s.time_zone, 'HH24:MI'), '')
                  end as courier_arrival
           from orders o
           join stores s on s.id = o.store_id
           left join cancel_requests c on c.order_id = o.id and c.status = 'open'
           where o.store_id = $1
             and (o.status in ('placed', 'accepted', 'picking', 'ready')
                  or c.id is not null
                  or (o.status = 'delivery_failed' and o.updated_at > now() - interval '2 days')
                  or (o.status in ('picked_up', 'delivering', 'delivered', 'collected')
                      and o.updated_at >= date_trunc('day', now() at time zone s.time_zone) at time zone s.time_zone))
           order by coalesce(o.release_at, o.paid_at, o.created_at), o.number
           limit 2000"#,
        store_id
    )
    .fetch_all(pool)
    .await?;
    let mut lanes: Vec<BoardLane> = BoardColumn::ALL
        .into_iter()
        .map(|column| BoardLane {
            column,
            cards: vec![],
            total: 0,
        })
        .collect();
    for r in rows {
        let status = OrderStatus::parse(&r.status)?;
        let Some(column) = BoardColumn::of(status, r.cancel_reason.is_some() || r.missing_open > 0)
        else {
            continue;
        };
        let Some(lane) = lanes.iter_mut().find(|l| l.column == column) else {
            continue;
        };
        lane.total += 1;
        if lane.cards.len() < LANE_LIMIT {
            lane.cards.push(BoardCard {
                id: r.id,
                number: r.number,
                status,
                fulfilment: Fulfilment::parse(&r.fulfilment)?,
                items: r.items,
                total: Money::from_fen(r.total_fen),
                paid_local: r.paid_local,
                age_min: r.age_min,
                accept_within_min: r.accept_within_min,
                scheduled_local: r.scheduled_local,
                ready_by_local: r.ready_by_local,
                courier_arrival: r.courier_arrival,
                picked_lines: r.picked,
                lines: r.lines,
                cancel_reason: r.cancel_reason,
                missing_open: r.missing_open,
            });
        }
    }
    // Newest hand-overs first; everything else oldest (most urgent) first.
    if let Some(done) = lanes
        .iter_mut()
        .find(|l| l.column == BoardColumn::HandedOver)
    {
        done.cards.reverse();
    }
    let alerts = sqlx::query!(
        r#"select a.id, a.order_id, a.message,
                  to_char(a.created_at at time zone s.time_zone, 'HH24:MI') as "at_local!"
           from store_alerts a join stores s on s.id = a.store_id
           where a.store_id = $1 and a.dismissed_at is null
           order by a.created_at desc limit 20"#,
        store_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|a| StoreAlert {
        id: a.id,
        order_id: a.order_id,
        message: a.message,
        at_local: a.at_local,
    })
    .collect();
    Ok(Board {
        store_id,
        store_name: store.name,
        default_prep_min: store.prep_time_min,
        accept_timeout_min: store.accept_timeout_min,
        accepting_orders: store.accepting_orders,
        lanes,
        alerts,
    })
}

/// Accepts a paid order: the prep estimate replaces the store's default in the customer's ETA,
/// and the order gets the hand-over code its label carries.
pub async fn accept(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    prep_min: i32,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    transition(
        &mut tx,
        &mut order,
        OrderAction::Accept,
        ActorKind::Merchant,
        Some(user_id),
        &format!("Ready in about {prep_min} min"),
    )
    .await?;
    let code = random_digits(6)?;
    // ETA = time since payment + the store's estimate + the travel part of the quoted ETA.
    sqlx::query!(
        "update orders o set prep_estimate_min = $2, accepted_at = now(), handover_code = $3,
                eta_min = ceil(extract(epoch from now() - coalesce(o.paid_at, now())) / 60)::integer
                          + $2 + greatest(o.eta_min - s.prep_time_min, 0)
         from stores s where s.id = o.store_id and o.id = $1",
        order.id,
        prep_min,
        code
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Rejected (by the store or the system): goods back on the shelf, full refund queued.
async fn reject_locked(
    tx: &mut Transaction<'_, Postgres>,
    order: &mut LockedOrder,
    actor: ActorKind,
    actor_id: Option<Uuid>,
    reason: &str,
) -> Result<(), AppError> {
    transition(tx, order, OrderAction::Reject, actor, actor_id, reason).await?;
    lifecycle::restock_committed(tx, order.id).await?;
    crate::payments::service::queue_refund(tx, order.id, &format!("Rejected: {reason}")).await
}

pub async fn reject(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    reject_locked(
        &mut tx,
        &mut order,
        ActorKind::Merchant,
        Some(user_id),
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Paid orders nobody accepted within the store's time after they were due: rejected by the
/// system, refunded, and the store warned. Returns how many.
pub async fn auto_reject_overdue(pool: &PgPool) -> Result<usize, AppError> {
    let due = sqlx::query!(
        "select o.id from orders o join stores s on s.id = o.store_id
         where o.status = 'placed' and o.release_at + make_interval(mins => s.accept_timeout_min) < now()
         order by o.release_at limit 100"
    )
    .fetch_all(pool)
    .await?;
    let mut rejected = 0;
    for row in due {
        let mut tx = pool.begin().await?;
        let Some(mut order) = lock_order(&mut tx, row.id).await? else {
            continue;
        };
        // Re-read under the lock: accepted a moment ago → nothing to do.
        let overdue = sqlx::query!(
            r#"select o.number, s.accept_timeout_min,
                      (o.status = 'placed' and o.release_at + make_interval(mins => s.accept_timeout_min) < now()) as "overdue!"
               from orders o join stores s on s.id = o.store_id where o.id = $1"#,
            order.id
        )
        .fetch_one(&mut *tx)
        .await?;
        if !overdue.overdue {
            continue;
        }
        let minutes = overdue.accept_timeout_min;
        reject_locked(
            &mut tx,
            &mut order,
            ActorKind::System,
            None,
            &format!("The store did not accept within {minutes} min"),
        )
        .await?;
        sqlx::query!(
            "insert into store_alerts (id, store_id, order_id, kind, message)
             values ($1, $2, $3, 'auto_rejected', $4)",
            Uuid::now_v7(),
            order.store_id,
            order.id,
            format!(
                "Order {} was not accepted within {minutes} min: it was rejected automatically and the customer refunded.",
                overdue.number
            )
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        rejected += 1;
    }
    Ok(rejected)
}

/// Ticks (or unticks) one line of the pick list; the first tick starts picking.
pub async fn tick_line(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    picked: bool,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    match order.status {
        OrderStatus::Accepted if picked => {
            transition(
                &mut tx,
                &mut order,
                OrderAction::StartPicking,
                ActorKind::Merchant,
                Some(user_id),
                "",
            )
            .await?;
        }
        OrderStatus::Accepted | OrderStatus::Picking => {}
        other => {
            return Err(AppError::conflict(format!(
                "This order is {} now: its pick list is closed.",
                other.label()
            )));
        }
    }
    let updated = sqlx::query!(
        "update order_items set picked_at = case when $3 then now() end,
                                picked_by = case when $3 then $4::uuid end
         where order_id = $1 and product_id = $2",
        order.id,
        product_id,
        picked,
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// Packed and ready for the courier or the customer: every line must be ticked.
pub async fn mark_ready(pool: &PgPool, user_id: Uuid, order_id: Uuid) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    let left = sqlx::query_scalar!(
        r#"select count(*) as "n!" from order_items where order_id = $1 and picked_at is null"#,
        order.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if left > 0 && matches!(order.status, OrderStatus::Accepted | OrderStatus::Picking) {
        return Err(AppError::conflict(format!(
            "Tick every line of the pick list first ({left} left)."
        )));
    }
    let waiting = sqlx::query_scalar!(
        r#"select exists (select 1 from order_exceptions where order_id = $1 and status = 'open') as "w!""#,
        order.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if waiting {
        return Err(AppError::conflict(
            "A missing item waits for the customer's answer: the order is ready once they choose (or the time runs out).",
        ));
    }
    transition(
        &mut tx,
        &mut order,
        OrderAction::MarkReady,
        ActorKind::Merchant,
        Some(user_id),
        "",
    )
    .await?;
    sqlx::query!("update orders set ready_at = now() where id = $1", order.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn wrong_code(who: &str) -> AppError {
    AppError::validation(
        "code",
        format!("That code does not match this order. Ask {who} to check the code and try again."),
    )
}

/// Store pickup: the customer shows the code from their order page.
pub async fn collect(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    code: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    let expected = sqlx::query_scalar!("select pickup_code from orders where id = $1", order.id)
        .fetch_one(&mut *tx)
        .await?;
    if order.fulfilment != Fulfilment::Pickup || expected.as_deref() != Some(code) {
        return Err(wrong_code("the customer"));
    }
    transition(
        &mut tx,
        &mut order,
        OrderAction::Collect,
        ActorKind::Merchant,
        Some(user_id),
        "Pickup code checked",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A courier takes a ready delivery order: the code from the label (QR or typed) must match.
/// Which courier may take which order is decided by dispatch; until an order has an assigned
/// courier, the label's code is the proof of being at the counter.
pub async fn courier_pickup(
    pool: &PgPool,
    courier_id: Uuid,
    order_id: Uuid,
    code: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    courier_pickup_in(&mut tx, courier_id, order_id, code).await?;
    tx.commit().await?;
    Ok(())
}

/// [`courier_pickup`] inside the caller's transaction (the courier app's queue claims the
/// action's key in the same one).
pub async fn courier_pickup_in(
    tx: &mut Transaction<'_, Postgres>,
    courier_id: Uuid,
    order_id: Uuid,
    code: &str,
) -> Result<(), AppError> {
    let mut order = lock_order(tx, order_id).await?.ok_or(AppError::NotFound)?;
    // The state first: a code says nothing about an order that is not waiting for a courier.
    order
        .status
        .next(
            OrderAction::CourierPickup,
            ActorKind::Courier,
            order.fulfilment,
        )
        .map_err(|_| AppError::conflict("This order is not waiting for a courier."))?;
    // Only the courier dispatch gave the order to may take it (and so probe its code).
    let held = sqlx::query!(
        "select handover_code, courier_id from orders where id = $1",
        order.id
    )
    .fetch_one(&mut **tx)
    .await?;
    if held.courier_id != Some(courier_id) {
        return Err(AppError::conflict(
            "This order is not assigned to you: accept its offer first.",
        ));
    }
    let expected = held.handover_code;
    if expected.as_deref() != Some(code) {
        return Err(wrong_code("the store"));
    }
    transition(
        tx,
        &mut order,
        OrderAction::CourierPickup,
        ActorKind::Courier,
        Some(courier_id),
        "Label scanned at the store",
    )
    .await?;
    Ok(())
}

/// The store answers a customer's cancel request: approved → cancelled, restocked, refunded;
/// declined → the order goes on and the customer reads the reason.
pub async fn answer_cancel_request(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    approve: bool,
    reason: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    let request = sqlx::query_scalar!(
        "select id from cancel_requests where order_id = $1 and status = 'open' for update",
        order.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::conflict("This order has no open cancel request any more."))?;
    if approve {
        transition(
            &mut tx,
            &mut order,
            OrderAction::ApproveCancel,
            ActorKind::Merchant,
            Some(user_id),
            reason,
        )
        .await?;
        lifecycle::restock_committed(&mut tx, order.id).await?;
        crate::payments::service::queue_refund(
            &mut tx,
            order.id,
            "Cancelled at the customer's request",
        )
        .await?;
    }
    sqlx::query!(
        "update cancel_requests set status = $2, decided_by = $3, decision_reason = $4, decided_at = now()
         where id = $1",
        request,
        if approve { "approved" } else { "declined" },
        user_id,
        reason
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The store takes back the goods of a failed delivery from its courier: what can be sold
/// again goes back on the shelf (`restock`; not for cooked food), and the customer is refunded
/// the goods (the ride happened: delivery fee, surcharge and tip are not refunded). The
/// courier is free again when they have nothing else to deliver or bring back.
pub async fn receive_return(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    restock: bool,
) -> Result<Money, AppError> {
    let mut tx = pool.begin().await?;
    let order = lock_store_order(&mut tx, order_id, user_id).await?;
    let o = sqlx::query!(
        r#"select courier_id, returned_at, total_fen, delivery_fee_fen, surcharge_fen, tip_fen,
                  (select coalesce(sum(r.amount_fen), 0) from refunds r
                   where r.order_id = orders.id and r.status <> 'failed')::bigint as "refunded!",
                  (select coalesce(sum(p.amount_fen), 0) from payments p
                   where p.order_id = orders.id and p.status = 'succeeded')::bigint as "paid!"
           from orders where id = $1"#,
        order.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if order.status != OrderStatus::DeliveryFailed || o.returned_at.is_some() {
        return Err(AppError::conflict(
            "This order has no goods on their way back to the store.",
        ));
    }
    sqlx::query!(
        "update orders set returned_at = now() where id = $1",
        order.id
    )
    .execute(&mut *tx)
    .await?;
    if restock {
        lifecycle::restock_committed(&mut tx, order.id).await?;
    }
    let goods = o.total_fen - o.delivery_fee_fen - o.surcharge_fen - o.tip_fen;
    let refund = (goods - o.refunded).min(o.paid - o.refunded).max(0);
    let note = format!(
        "Goods back at the store{}; refund of {} to the customer",
        if restock { " and restocked" } else { "" },
        Money::from_fen(refund)
    );
    if refund > 0 {
        crate::payments::service::queue_partial_refund(
            &mut tx,
            order.id,
            Money::from_fen(refund),
            "Delivery failed: goods returned to the store",
        )
        .await?;
    }
    lifecycle::record_event(
        &mut tx,
        order.id,
        Some(order.status),
        order.status,
        ActorKind::Merchant,
        Some(user_id),
        &note,
    )
    .await?;
    if let Some(courier) = o.courier_id {
        crate::dispatch::tasks::free_if_done(&mut tx, courier).await?;
    }
    tx.commit().await?;
    Ok(Money::from_fen(refund))
}

/// Marks a warning as read for everyone at the store.
pub async fn dismiss_alert(pool: &PgPool, user_id: Uuid, alert_id: Uuid) -> Result<(), AppError> {
    let done = sqlx::query!(
        "update store_alerts a set dismissed_at = now(), dismissed_by = $2
         where a.id = $1 and a.dismissed_at is null
           and exists (select 1 from store_members m where m.store_id = a.store_id and m.user_id = $2)",
        alert_id,
        user_id
    )
    .execute(pool)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// One order for the store's staff: pick list by category, masked contact, no address.
pub async fn merchant_order(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
) -> Result<MerchantOrder, AppError> {
    let o = sqlx::query!(
        r#"select o.id, o.number, o.status, o.fulfilment, o.store_id, s.name as store_name,
                  o.contact_name, o.contact_phone, o.notes, o.prep_estimate_min, s.prep_time_min,
                  o.items_fen, o.packaging_fen, o.delivery_fee_fen, o.surcharge_fen, o.discount_fen,
                  o.tip_fen, o.total_fen,
                  to_char(o.scheduled_for at time zone s.time_zone, 'MM-DD HH24:MI') as scheduled_local,
                  to_char(o.paid_at at time zone s.time_zone, 'HH24:MI') as paid_local,
                  to_char((o.accepted_at + make_interval(mins => o.prep_estimate_min)) at time zone s.time_zone,
                          'HH24:MI') as ready_by_local,
                  (select c.reason from cancel_requests c where c.order_id = o.id and c.status = 'open') as cancel_reason,
                  case when o.status in ('placed', 'accepted', 'picking', 'ready') then
                      (select u.display_name from users u where u.id = o.courier_id) || coalesce(' · ~' ||
                       to_char(o.planned_pickup_at at time zone s.time_zone, 'HH24:MI'), '')
                  end as courier_arrival,
                  case when o.status = 'delivery_failed' and o.returned_at is null then
                      coalesce((select u.display_name from users u where u.id = o.courier_id), 'The courier')
                      || ' brings the goods back (' ||
                      coalesce((select a.reason from delivery_attempts a where a.order_id = o.id
                                order by a.id desc limit 1), 'failed') || ')'
                  end as awaiting_return
           from orders o
           join stores s on s.id = o.store_id
           join store_members m on m.store_id = o.store_id and m.user_id = $2
           where o.id = $1 and o.status <> 'pending_payment'"#,
        order_id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let lines = sqlx::query!(
        r#"select i.product_id, i.name, i.unit, i.quantity, i.picked_at is not null as "picked!",
                  exists (select 1 from order_exceptions e where e.order_id = i.order_id
                          and e.product_id = i.product_id and e.status = 'open') as "missing_open!",
                  c.name as category
           from order_items i
           join products p on p.id = i.product_id
           join categories c on c.id = p.category_id
           where i.order_id = $1
           order by c.position, c.name, i.name"#,
        order_id
    )
    .fetch_all(pool)
    .await?;
    let mut pick_list: Vec<PickGroup> = Vec::new();
    for l in lines {
        let line = PickLine {
            product_id: l.product_id,
            name: l.name,
            unit: l.unit,
            quantity: l.quantity,
            picked: l.picked,
            missing_open: l.missing_open,
        };
        match pick_list.last_mut() {
            Some(g) if g.category == l.category => g.lines.push(line),
            _ => pick_list.push(PickGroup {
                category: l.category,
                lines: vec![line],
            }),
        }
    }
    Ok(MerchantOrder {
        id: o.id,
        number: o.number,
        status: OrderStatus::parse(&o.status)?,
        fulfilment: Fulfilment::parse(&o.fulfilment)?,
        store_id: o.store_id,
        store_name: o.store_name,
        customer_masked: mask_name(&o.contact_name),
        phone_masked: crate::accounts::model::mask_phone(&o.contact_phone),
        notes: o.notes,
        totals: totals_from_fen(
            o.items_fen,
            o.packaging_fen,
            o.delivery_fee_fen,
            o.surcharge_fen,
            o.discount_fen,
            o.tip_fen,
            o.total_fen,
        ),
        pick_list,
        prep_estimate_min: o.prep_estimate_min,
        default_prep_min: o.prep_time_min,
        scheduled_local: o.scheduled_local,
        paid_local: o.paid_local,
        ready_by_local: o.ready_by_local,
        courier_arrival: o.courier_arrival,
        cancel_reason: o.cancel_reason,
        awaiting_return: o.awaiting_return.map(|t| t.replace('_', " ")),
        timeline: lifecycle::timeline(pool, order_id).await?,
        missing: super::missing::missing_items(pool, order_id, false).await?,
        substitutes: super::missing::substitute_options(pool, order_id).await?,
    })
}

/// The packing label: available once accepted (it carries the hand-over code).
pub async fn packing_label(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
) -> Result<PackingLabel, AppError> {
    let o = sqlx::query!(
        r#"select o.id, o.number, s.name as store_name, o.contact_name, o.contact_phone, o.fulfilment,
                  o.notes, o.handover_code,
                  to_char(o.scheduled_for at time zone s.time_zone, 'MM-DD HH24:MI') as scheduled_local,
                  (select coalesce(sum(quantity), 0) from order_items i where i.order_id = o.id) as "items!"
           from orders o
           join stores s on s.id = o.store_id
           join store_members m on m.store_id = o.store_id and m.user_id = $2
           where o.id = $1 and o.status <> 'pending_payment'"#,
        order_id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let code = o.handover_code.ok_or_else(|| {
        AppError::conflict("Accept the order first: the label carries its hand-over code.")
    })?;
    let qr = qrcode::QrCode::new(handover_payload(o.id, &code).as_bytes())
        .map_err(AppError::internal)?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build();
    Ok(PackingLabel {
        order_id: o.id,
        number: o.number,
        store_name: o.store_name,
        items: o.items,
        customer_masked: mask_name(&o.contact_name),
        phone_masked: crate::accounts::model::mask_phone(&o.contact_phone),
        fulfilment: Fulfilment::parse(&o.fulfilment)?,
        scheduled_local: o.scheduled_local,
        notes: o.notes,
        handover_code: code,
        qr_svg,
    })
}

/// The store's day so far: orders, revenue, refunds, average minutes per stage (from the
/// `order_events` timestamps) and orders past their promised time.
pub async fn today(pool: &PgPool, store_id: Uuid) -> Result<StoreToday, AppError> {
    let r = sqlx::query!(
        r#"with day as (
               select s.id, s.name, s.time_zone,
                      date_trunc('day', now() at time zone s.time_zone) at time zone s.time_zone as start
               from stores s where s.id = $1
           ), o as (
               select o.id, o.number, o.status, o.total_fen, o.paid_at, o.release_at,
                      coalesce(o.scheduled_for + interval '30 minutes',
                               o.paid_at + make_interval(mins => o.eta_min)) as promised
               from orders o join day on o.store_id = day.id
               where o.paid_at >= day.start
           ), e as (
               select ev.order_id,
                      min(ev.at) filter (where ev.to_status = 'placed') as placed,
                      min(ev.at) filter (where ev.to_status = 'accepted') as accepted,
                      min(ev.at) filter (where ev.to_status = 'ready') as ready,
                      min(ev.at) filter (where ev.to_status in ('picked_up', 'collected')) as handed,
                      min(ev.at) filter (where ev.to_status in ('delivered', 'collected')) as done
               from order_events ev where ev.order_id in (select id from o)
               group by ev.order_id
           ), late as (
               select o.number from o join e on e.order_id = o.id
               where o.status not in ('cancelled', 'rejected', 'refunded')
                 and coalesce(e.done, now()) > o.promised
               order by o.promised
           )
           select day.name as "name!",
                  to_char(now() at time zone day.time_zone, 'YYYY-MM-DD') as "date_local!",
                  (select count(*) from o) as "orders!",
                  (select coalesce(sum(total_fen), 0) from o
                   where status not in ('cancelled', 'rejected', 'refunded'))::bigint as "revenue!",
                  (select coalesce(sum(r.amount_fen), 0) from refunds r
                   where r.order_id in (select id from o) and r.status <> 'failed')::bigint as "refunded!",
                  (select count(*) from orders x where x.store_id = day.id
                   and x.status in ('placed', 'accepted', 'picking', 'ready')) as "open_now!",
                  -- a scheduled order is due at its release time, not when it was paid
                  (select avg(extract(epoch from e.accepted - greatest(e.placed, o.release_at))) / 60
                   from e join o on o.id = e.order_id)::float8 as accept_min,
                  (select count(*) from e where accepted is not null and placed is not null) as "accept_n!",
                  (select avg(extract(epoch from ready - accepted)) / 60 from e)::float8 as pick_min,
                  (select count(*) from e where ready is not null and accepted is not null) as "pick_n!",
                  (select avg(extract(epoch from handed - ready)) / 60 from e)::float8 as handover_min,
                  (select count(*) from e where handed is not null and ready is not null) as "handover_n!",
                  (select count(*) from late) as "late!",
                  array(select number from late limit 10) as "late_numbers!"
           from day"#,
        store_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let stage = |name: &str, avg: Option<f64>, n: i64| StageTime {
        stage: name.to_string(),
        avg_min: avg,
        orders: n,
    };
    Ok(StoreToday {
        store_id,
        store_name: r.name,
        date_local: r.date_local,
        orders: r.orders,
        revenue: Money::from_fen(r.revenue),
        refunded: Money::from_fen(r.refunded),
        open_now: r.open_now,
        stages: vec![
            stage("Accept 接单", r.accept_min, r.accept_n),
            stage("Pick & pack 备货", r.pick_min, r.pick_n),
            stage("Hand-over 交接", r.handover_min, r.handover_n),
        ],
        late: r.late,
        late_numbers: r.late_numbers,
    })
}

/// Rows of the store's orders matching `filter`, newest first (`limit` none: all, for CSV).
async fn find_orders(
    pool: &PgPool,
    store_id: Uuid,
    f: &OrderFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<StoreOrderRow>, i64), AppError> {
    let status = f.status.map(OrderStatus::as_str);
    let rows = sqlx::query!(
        r#"select o.id, o.number, o.status, o.fulfilment, o.total_fen, o.contact_phone,
                  (select coalesce(sum(quantity), 0) from order_items i where i.order_id = o.id) as "items!",
                  to_char(o.created_at at time zone s.time_zone, 'YYYY-MM-DD HH24:MI') as "created_local!",
                  count(*) over () as "total!"
           from orders o join stores s on s.id = o.store_id
           where o.store_id = $1 and o.status <> 'pending_payment'
             and ($2::text is null or o.status = $2)
             and ($3::date is null or o.created_at >= $3::date::timestamp at time zone s.time_zone)
             and ($4::date is null or o.created_at < ($4::date + 1)::timestamp at time zone s.time_zone)
             and ($5 = '' or o.number like '%' || $5 || '%')
             and ($6 = '' or right(o.contact_phone, 4) = $6)
           order by o.created_at desc, o.number desc
           limit $7 offset $8"#,
        store_id,
        status,
        f.from,
        f.to,
        f.number,
        f.phone_last4,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let total = rows.first().map_or(0, |r| r.total);
    let rows = rows
        .into_iter()
        .map(|r| {
            Ok(StoreOrderRow {
                id: r.id,
                number: r.number,
                status: OrderStatus::parse(&r.status)?,
                fulfilment: Fulfilment::parse(&r.fulfilment)?,
                items: r.items,
                total: Money::from_fen(r.total_fen),
                created_local: r.created_local,
                phone_masked: crate::accounts::model::mask_phone(&r.contact_phone),
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok((rows, total))
}

pub async fn search_orders(
    pool: &PgPool,
    store_id: Uuid,
    f: &OrderFilter,
    req: PageReq,
) -> Result<Page<StoreOrderRow>, AppError> {
    let (rows, total) = find_orders(pool, store_id, f, req.limit(), req.offset()).await?;
    Ok(req.wrap(rows, total))
}

/// The most rows one export holds (narrow the dates for more).
pub const CSV_LIMIT: i64 = 50_000;

/// The filtered orders as CSV (UTF-8 with a BOM, so spreadsheets read the Chinese text).
pub async fn orders_csv(
    pool: &PgPool,
    store_id: Uuid,
    f: &OrderFilter,
) -> Result<String, AppError> {
    let (rows, _) = find_orders(pool, store_id, f, CSV_LIMIT, 0).await?;
    let mut out =
        String::from("\u{feff}number,status,fulfilment,created,items,total_yuan,phone\r\n");
    for r in rows {
        let fields = [
            r.number,
            r.status.as_str().to_string(),
            r.fulfilment.as_str().to_string(),
            r.created_local,
            r.items.to_string(),
            format!("{}.{:02}", r.total.fen() / 100, r.total.fen() % 100),
            r.phone_masked,
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}
