//! An order's life after checkout: every state change goes through [`transition`] (the state
//! machine decides, the SQL update is guarded by the expected status, an `order_events` row is
//! written), and the stock an order holds follows its state.

use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::checkout::totals_from_fen;
use super::model::{
    ActorKind, Fulfilment, OrderAction, OrderStatus, OrderSummary, OrderView, PaymentState,
    PricedLine, TimelineEntry, TrackingView,
};
use crate::error::AppError;
use crate::money::Money;
use crate::page::{Page, PageReq};

pub async fn record_event(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: ActorKind,
    actor_id: Option<Uuid>,
    reason: &str,
) -> Result<(), AppError> {
    sqlx::query!(
        "insert into order_events (order_id, from_status, to_status, actor_kind, actor_id, reason)
         values ($1, $2, $3, $4, $5, $6)",
        order_id,
        from.map(OrderStatus::as_str),
        to.as_str(),
        actor.as_str(),
        actor_id,
        reason
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A side effect to deliver after commit (refunds, channel webhooks), written in the same
/// transaction as the change that causes it.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    topic: &str,
    payload: Value,
) -> Result<(), AppError> {
    sqlx::query!(
        "insert into outbox (topic, payload) values ($1, $2)",
        topic,
        payload
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct LockedOrder {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub store_id: Uuid,
    pub status: OrderStatus,
    pub fulfilment: Fulfilment,
    pub total: Money,
    pub expired: bool,
}

/// The order row, locked until the transaction ends.
pub async fn lock_order(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> Result<Option<LockedOrder>, AppError> {
    let Some(r) = sqlx::query!(
        r#"select id, customer_id, store_id, status, fulfilment, total_fen,
                  payment_expires_at < now() as "expired!"
           from orders where id = $1 for update"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(LockedOrder {
        id: r.id,
        customer_id: r.customer_id,
        store_id: r.store_id,
        status: OrderStatus::parse(&r.status)?,
        fulfilment: Fulfilment::parse(&r.fulfilment)?,
        total: Money::from_fen(r.total_fen),
        expired: r.expired,
    }))
}

/// One of the customer's orders, locked; anyone else's is "not found" (no hint it exists).
pub async fn lock_own_order(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    customer_id: Uuid,
) -> Result<LockedOrder, AppError> {
    lock_order(tx, id)
        .await?
        .filter(|o| o.customer_id == customer_id)
        .ok_or(AppError::NotFound)
}

/// Moves a locked order on by `action`, or refuses. Writes the guarded update and the event.
pub async fn transition(
    tx: &mut Transaction<'_, Postgres>,
    order: &mut LockedOrder,
    action: OrderAction,
    actor: ActorKind,
    actor_id: Option<Uuid>,
    reason: &str,
) -> Result<OrderStatus, AppError> {
    let from = order.status;
    let to = from.next(action, actor, order.fulfilment)?;
    let updated = sqlx::query!(
        "update orders set status = $3, updated_at = now() where id = $1 and status = $2",
        order.id,
        from.as_str(),
        to.as_str()
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(AppError::conflict(
            "This order changed a moment ago. Reload to see where it is.",
        ));
    }
    record_event(tx, order.id, Some(from), to, actor, actor_id, reason).await?;
    enqueue(
        tx,
        "order.status_changed",
        serde_json::json!({ "order_id": order.id, "from": from.as_str(), "to": to.as_str() }),
    )
    .await?;
    order.status = to;
    Ok(to)
}

struct Held {
    store_id: Uuid,
    product_id: Uuid,
    quantity: i32,
}

async fn reservations_in(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    state: &str,
) -> Result<Vec<Held>, AppError> {
    Ok(sqlx::query_as!(
        Held,
        "select store_id, product_id, quantity from reservations
         where order_id = $1 and state = $2 order by product_id",
        order_id,
        state
    )
    .fetch_all(&mut **tx)
    .await?)
}

async fn set_reservations(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    from: &str,
    to: &str,
) -> Result<(), AppError> {
    sqlx::query!(
        "update reservations set state = $3, updated_at = now() where order_id = $1 and state = $2",
        order_id,
        from,
        to
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stock changes made in this transaction are booked against `order_id` in the stock ledger
/// (the `stock_levels` trigger reads it; it lasts until the transaction ends).
pub async fn book_stock_to(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
) -> Result<(), AppError> {
    sqlx::query!(
        "select set_config('songda.order_id', $1, true)",
        order_id.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// Goods added to a paid order after checkout (a paid top-up, a substitute) are sold at once:
/// their reservation row is committed, or grows if the product is already committed.
pub async fn commit_added(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    store_id: Uuid,
    product_id: Uuid,
    quantity: i32,
) -> Result<(), AppError> {
    sqlx::query!(
        "insert into reservations (order_id, store_id, product_id, quantity, state, expires_at)
         values ($1, $2, $3, $4, 'committed', now())
         on conflict (order_id, product_id) do update
         set quantity = case when reservations.state = 'committed'
                             then reservations.quantity + excluded.quantity
                             else excluded.quantity end,
             state = 'committed', updated_at = now()",
        order_id,
        store_id,
        product_id,
        quantity
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An unpaid order gives its stock back.
pub async fn release_held(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
) -> Result<(), AppError> {
    for h in reservations_in(tx, order_id, "held").await? {
        sqlx::query!(
            "update stock_levels set reserved = reserved - $3 where store_id = $1 and product_id = $2",
            h.store_id,
            h.product_id,
            h.quantity
        )
        .execute(&mut **tx)
        .await?;
    }
    set_reservations(tx, order_id, "held", "released").await
}

/// A paid order's stock is sold: it leaves `on_hand` and `reserved` together.
async fn commit_held(tx: &mut Transaction<'_, Postgres>, order_id: Uuid) -> Result<(), AppError> {
    book_stock_to(tx, order_id).await?;
    for h in reservations_in(tx, order_id, "held").await? {
        sqlx::query!(
            "update stock_levels set on_hand = on_hand - $3, reserved = reserved - $3
             where store_id = $1 and product_id = $2",
            h.store_id,
            h.product_id,
            h.quantity
        )
        .execute(&mut **tx)
        .await?;
    }
    set_reservations(tx, order_id, "held", "committed").await
}

/// A paid order cancelled before it left the store puts its goods back on the shelf.
pub async fn restock_committed(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
) -> Result<(), AppError> {
    book_stock_to(tx, order_id).await?;
    for h in reservations_in(tx, order_id, "committed").await? {
        sqlx::query!(
            "update stock_levels set on_hand = on_hand + $3 where store_id = $1 and product_id = $2",
            h.store_id,
            h.product_id,
            h.quantity
        )
        .execute(&mut **tx)
        .await?;
    }
    set_reservations(tx, order_id, "committed", "restocked").await
}

/// Payment confirmed: the order is placed, its stock sold, and the cart lines it bought go.
pub async fn mark_paid(
    tx: &mut Transaction<'_, Postgres>,
    order: &mut LockedOrder,
    actor: ActorKind,
) -> Result<(), AppError> {
    transition(tx, order, OrderAction::PaymentSucceeded, actor, None, "").await?;
    commit_held(tx, order.id).await?;
    // The customer's proof-of-delivery PIN, read to the courier at the door.
    let pin = match order.fulfilment {
        Fulfilment::Delivery => Some(super::checkout::random_digits(4)?),
        Fulfilment::Pickup => None,
    };
    sqlx::query!(
        "update orders set paid_at = now(), release_at = coalesce(release_at, now()),
                           delivery_pin = coalesce(delivery_pin, $2)
         where id = $1",
        order.id,
        pin
    )
    .execute(&mut **tx)
    .await?;
    // The cart checked out may be another branch's (the chain picked this one): its lines
    // are the same items by name and unit.
    sqlx::query!(
        "delete from cart_items i using carts c, products cp
         where c.id = i.cart_id and cp.id = i.product_id and c.customer_id = $1
           and c.store_id = coalesce((select cart_store_id from orders where id = $3), $2)
           and exists (select 1 from order_items oi join products p on p.id = oi.product_id
                       where oi.order_id = $3
                         and (p.id = cp.id or (p.name = cp.name and p.unit = cp.unit)))",
        order.customer_id,
        order.store_id,
        order.id
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "delete from carts c where c.customer_id = $1
           and c.store_id = coalesce((select cart_store_id from orders where id = $3), $2)
           and not exists (select 1 from cart_items i where i.cart_id = c.id)",
        order.customer_id,
        order.store_id,
        order.id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Unpaid past its deadline: cancelled, stock released. Returns whether it expired now.
pub async fn expire_if_unpaid(pool: &PgPool, order_id: Uuid) -> Result<bool, AppError> {
    let mut tx = pool.begin().await?;
    let Some(mut order) = lock_order(&mut tx, order_id).await? else {
        return Ok(false);
    };
    if order.status != OrderStatus::PendingPayment || !order.expired {
        return Ok(false);
    }
    transition(
        &mut tx,
        &mut order,
        OrderAction::PaymentExpired,
        ActorKind::System,
        None,
        "Not paid in time: the items went back on sale.",
    )
    .await?;
    release_held(&mut tx, order.id).await?;
    sqlx::query!(
        "update payments set status = 'failed', failure_reason = 'expired', updated_at = now()
         where order_id = $1 and status = 'pending'",
        order.id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The customer cancels: unpaid → stock released; paid but not accepted → stock back on the
/// shelf and a full refund queued. Later, cancelling is a request the store answers.
pub async fn cancel_by_customer(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_own_order(&mut tx, order_id, customer_id).await?;
    let from = order.status;
    transition(
        &mut tx,
        &mut order,
        OrderAction::CustomerCancel,
        ActorKind::Customer,
        Some(customer_id),
        reason,
    )
    .await
    .map_err(|e| match e {
        AppError::Conflict { .. }
            if from
                .next(
                    OrderAction::ApproveCancel,
                    ActorKind::Merchant,
                    order.fulfilment,
                )
                .is_ok() =>
        {
            AppError::conflict(
                "The store has accepted this order: ask the store to cancel it instead.",
            )
        }
        other => other,
    })?;
    match from {
        OrderStatus::PendingPayment => release_held(&mut tx, order.id).await?,
        _ => {
            restock_committed(&mut tx, order.id).await?;
            crate::payments::service::queue_refund(&mut tx, order.id, "Cancelled by the customer")
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// After the store accepted: a request the store approves or declines.
pub async fn request_cancel(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let order = lock_own_order(&mut tx, order_id, customer_id).await?;
    if order
        .status
        .next(
            OrderAction::ApproveCancel,
            ActorKind::Merchant,
            order.fulfilment,
        )
        .is_err()
    {
        return Err(AppError::conflict(format!(
            "This order is {} now: it can no longer be cancelled by request.",
            order.status.label()
        )));
    }
    let inserted = sqlx::query!(
        "insert into cancel_requests (id, order_id, reason) values ($1, $2, $3)
         on conflict do nothing",
        Uuid::now_v7(),
        order.id,
        reason
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AppError::conflict(
            "You already asked to cancel this order: the store will answer soon.",
        ));
    }
    enqueue(
        &mut tx,
        "order.cancel_requested",
        serde_json::json!({ "order_id": order.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn timeline(pool: &PgPool, order_id: Uuid) -> Result<Vec<TimelineEntry>, AppError> {
    let rows = sqlx::query!(
        r#"select e.id, e.to_status, e.at, e.reason,
                  to_char(e.at at time zone s.time_zone, 'HH24:MI') as "at_local!"
           from order_events e
           join orders o on o.id = e.order_id
           join stores s on s.id = o.store_id
           where e.order_id = $1 order by e.id"#,
        order_id
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TimelineEntry {
                id: r.id,
                status: OrderStatus::parse(&r.to_status)?,
                at: r.at,
                at_local: r.at_local,
                reason: r.reason,
            })
        })
        .collect()
}

/// Events of an order after `after_id`, for the live feed's replay.
pub async fn events_after(
    pool: &PgPool,
    order_id: Uuid,
    after_id: i64,
) -> Result<Vec<TimelineEntry>, AppError> {
    Ok(timeline(pool, order_id)
        .await?
        .into_iter()
        .filter(|e| e.id > after_id)
        .collect())
}

/// The order as its customer sees it; anyone else gets 404.
pub async fn order_view(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
) -> Result<OrderView, AppError> {
    let o = sqlx::query!(
        r#"select o.id, o.number, o.status, o.store_id, s.name as store_name, o.fulfilment,
                  o.contact_name, o.contact_phone, o.address_detail, o.notes,
                  o.items_fen, o.packaging_fen, o.delivery_fee_fen, o.surcharge_fen, o.discount_fen,
                  o.tip_fen, o.total_fen, o.pickup_code, o.delivery_pin, o.tracking_token, o.paid_at,
                  to_char(o.scheduled_for at time zone s.time_zone, 'MM-DD HH24:MI') as scheduled_local,
                  to_char(coalesce(o.planned_dropoff_at, o.scheduled_for + interval '30 minutes',
                                   o.paid_at + make_interval(mins => o.eta_min)) at time zone s.time_zone,
                          'HH24:MI') as eta_local,
                  to_char(o.payment_expires_at at time zone s.time_zone, 'HH24:MI') as "deadline_local!",
                  to_char(o.created_at at time zone s.time_zone, 'YYYY-MM-DD HH24:MI') as "created_local!",
                  exists (select 1 from cancel_requests c where c.order_id = o.id and c.status = 'open') as "open_cancel!",
                  (select c.decision_reason from cancel_requests c where c.order_id = o.id and c.status = 'declined'
                   order by c.decided_at desc limit 1) as cancel_declined
           from orders o join stores s on s.id = o.store_id
           where o.id = $1 and o.customer_id = $2"#,
        order_id,
        customer_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let status = OrderStatus::parse(&o.status)?;
    let lines = sqlx::query!(
        "select product_id, name, unit, unit_price_fen, quantity from order_items where order_id = $1 order by name",
        order_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|l| PricedLine {
        product_id: l.product_id,
        name: l.name,
        unit: l.unit,
        unit_price: Money::from_fen(l.unit_price_fen),
        quantity: l.quantity,
    })
    .collect();
    let payment = sqlx::query!(
        "select status, failure_reason from payments where order_id = $1 order by created_at desc limit 1",
        order_id
    )
    .fetch_optional(pool)
    .await?
    .map(|p| PaymentState {
        status: p.status,
        failure: p.failure_reason,
    });
    let addition = sqlx::query!(
        r#"select a.id, a.name, a.quantity, a.amount_fen,
                  to_char(a.expires_at at time zone s.time_zone, 'HH24:MI') as "deadline!"
           from order_additions a join orders o on o.id = a.order_id join stores s on s.id = o.store_id
           where a.order_id = $1 and a.status = 'awaiting_payment' and a.expires_at > now()"#,
        order_id
    )
    .fetch_optional(pool)
    .await?
    .map(|a| super::model::PendingAddition {
        id: a.id,
        name: a.name,
        quantity: a.quantity,
        amount: Money::from_fen(a.amount_fen),
        deadline_local: a.deadline,
    });
    let on_its_way = matches!(
        status,
        OrderStatus::Placed
            | OrderStatus::Accepted
            | OrderStatus::Picking
            | OrderStatus::Ready
            | OrderStatus::PickedUp
            | OrderStatus::Delivering
    );
    let fulfilment = Fulfilment::parse(&o.fulfilment)?;
    Ok(OrderView {
        id: o.id,
        number: o.number,
        status,
        store_id: o.store_id,
        store_name: o.store_name,
        fulfilment,
        lines,
        totals: totals_from_fen(
            o.items_fen,
            o.packaging_fen,
            o.delivery_fee_fen,
            o.surcharge_fen,
            o.discount_fen,
            o.tip_fen,
            o.total_fen,
        ),
        contact_name: o.contact_name,
        contact_phone_masked: crate::accounts::model::mask_phone(&o.contact_phone),
        address_detail: o.address_detail,
        notes: o.notes,
        scheduled_for_local: o.scheduled_local,
        eta_local: o.eta_local.filter(|_| on_its_way),
        pickup_code: o.pickup_code.filter(|_| o.paid_at.is_some()),
        delivery_pin: o.delivery_pin.filter(|_| on_its_way),
        tracking_token: o.tracking_token,
        payment,
        payment_deadline_local: (status == OrderStatus::PendingPayment).then_some(o.deadline_local),
        timeline: timeline(pool, order_id).await?,
        created_local: o.created_local,
        open_cancel_request: o.open_cancel,
        cancel_declined: o.cancel_declined.filter(|_| !o.open_cancel),
        missing_items: super::missing::missing_items(pool, order_id, true).await?,
        addition,
        delivery_photo: crate::dispatch::pod::has_photo(pool, order_id).await?,
    })
}

pub async fn my_orders(
    pool: &PgPool,
    customer_id: Uuid,
    req: PageReq,
) -> Result<Page<OrderSummary>, AppError> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from orders where customer_id = $1"#,
        customer_id
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select o.id, o.number, o.status, s.name as store_name, o.total_fen,
                  (select coalesce(sum(quantity), 0) from order_items i where i.order_id = o.id) as "items!",
                  to_char(o.created_at at time zone s.time_zone, 'YYYY-MM-DD HH24:MI') as "created_local!"
           from orders o join stores s on s.id = o.store_id
           where o.customer_id = $1
           order by o.created_at desc, o.id desc
           limit $2 offset $3"#,
        customer_id,
        req.limit(),
        req.offset()
    )
    .fetch_all(pool)
    .await?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(OrderSummary {
                id: r.id,
                number: r.number,
                status: OrderStatus::parse(&r.status)?,
                store_name: r.store_name,
                items: r.items,
                total: Money::from_fen(r.total_fen),
                created_local: r.created_local,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(req.wrap(items, total))
}

/// What the shareable link shows: no phone, no address; gone once the order has arrived.
pub async fn tracking(pool: &PgPool, token: &str) -> Result<TrackingView, AppError> {
    let o = sqlx::query!(
        r#"select o.id, o.number, o.status, s.name as store_name, o.fulfilment,
                  (select coalesce(sum(quantity), 0) from order_items i where i.order_id = o.id) as "items!",
                  to_char(coalesce(o.planned_dropoff_at, o.scheduled_for + interval '30 minutes',
                                   o.paid_at + make_interval(mins => o.eta_min)) at time zone s.time_zone,
                          'HH24:MI') as eta_local
           from orders o join stores s on s.id = o.store_id
           where o.tracking_token = $1"#,
        token
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let status = OrderStatus::parse(&o.status)?;
    // Only while the order is on its way: not before payment, not after it arrived or ended.
    let shown = matches!(
        status,
        OrderStatus::Placed
            | OrderStatus::Accepted
            | OrderStatus::Picking
            | OrderStatus::Ready
            | OrderStatus::PickedUp
            | OrderStatus::Delivering
    );
    if !shown {
        return Err(AppError::NotFound);
    }
    Ok(TrackingView {
        number: o.number,
        status,
        store_name: o.store_name,
        fulfilment: Fulfilment::parse(&o.fulfilment)?,
        items: o.items,
        eta_local: o.eta_local,
        timeline: timeline(pool, o.id).await?,
    })
}

/// Puts an earlier order's products back in the cart (as many as are available now).
/// Returns the store and how many lines could be added.
pub async fn reorder(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
) -> Result<(Uuid, usize), AppError> {
    let lines = sqlx::query!(
        r#"select o.store_id, i.product_id, i.quantity
           from orders o join order_items i on i.order_id = o.id
           where o.id = $1 and o.customer_id = $2 order by i.product_id"#,
        order_id,
        customer_id
    )
    .fetch_all(pool)
    .await?;
    let store_id = lines
        .first()
        .map(|l| l.store_id)
        .ok_or(AppError::NotFound)?;
    let mut added = 0;
    for l in lines {
        let q = super::model::CartQuantity::parse(l.quantity.min(super::model::CartQuantity::MAX))?;
        // Sold-out or unlisted products are skipped; the count tells the customer.
        if super::service::set_quantity(pool, customer_id, l.product_id, q)
            .await
            .is_ok()
        {
            added += 1;
        }
    }
    Ok((store_id, added))
}

/// Statuses in which the customer may still change the address, contact and notes (until a
/// courier has the order).
fn details_editable(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::PendingPayment
            | OrderStatus::Placed
            | OrderStatus::Accepted
            | OrderStatus::Picking
            | OrderStatus::Ready
    )
}

/// Changes the delivery address (to another of the customer's addresses within the store's
/// radius) and/or the notes until the order is picked up. A cheaper delivery is refunded; a
/// dearer one is refused (cancel and order again), so nobody pays twice for one order.
pub async fn change_details(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
    address_id: Option<Uuid>,
    notes: &str,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let order = lock_own_order(&mut tx, order_id, customer_id).await?;
    if !details_editable(order.status) {
        return Err(AppError::conflict(format!(
            "This order is {} now: the address and notes can no longer change.",
            order.status.label()
        )));
    }
    let mut changes = vec![];
    if let Some(address_id) = address_id {
        if order.fulfilment != Fulfilment::Delivery {
            return Err(AppError::validation(
                "address",
                "A store pickup order has no delivery address.",
            ));
        }
        let a = sqlx::query!(
            r#"select a.contact_name, a.phone, a.detail, a.lat, a.lng, s.lat as store_lat,
                      s.lng as store_lng, s.delivery_radius_m, o.delivery_fee_fen,
                      exists (select 1 from payments p where p.order_id = o.id and p.status = 'pending') as "paying!"
               from addresses a, orders o join stores s on s.id = o.store_id
               where a.id = $1 and a.customer_id = $2 and o.id = $3"#,
            address_id,
            customer_id,
            order.id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::validation("address", "Choose one of your addresses."))?;
        let distance = routing::haversine_m(a.store_lat, a.store_lng, a.lat, a.lng);
        if distance > f64::from(a.delivery_radius_m) {
            return Err(AppError::validation(
                "address",
                format!(
                    "This address is {:.1} km from the store, which delivers within {:.1} km.",
                    distance / 1000.0,
                    f64::from(a.delivery_radius_m) / 1000.0
                ),
            ));
        }
        let old_fee = Money::from_fen(a.delivery_fee_fen);
        let new_fee = crate::delivery::delivery_fee(distance);
        if new_fee > old_fee {
            return Err(AppError::validation(
                "address",
                format!(
                    "Delivering there costs {} more than this order paid for. Cancel and order again to deliver there.",
                    Money::from_fen(new_fee.fen() - old_fee.fen())
                ),
            ));
        }
        let saving = old_fee.fen() - new_fee.fen();
        if saving > 0 && order.status == OrderStatus::PendingPayment && a.paying {
            return Err(AppError::conflict(
                "A payment for this order is in progress: finish it (or wait until it fails) before changing the address.",
            ));
        }
        sqlx::query!(
            "update orders set contact_name = $2, contact_phone = $3, address_detail = $4,
                    dest_lat = $5, dest_lng = $6, distance_m = $7,
                    delivery_fee_fen = $8, total_fen = total_fen - $9, updated_at = now()
             where id = $1",
            order.id,
            a.contact_name,
            a.phone,
            a.detail,
            a.lat,
            a.lng,
            distance.round() as i32,
            new_fee.fen(),
            saving
        )
        .execute(&mut *tx)
        .await?;
        if saving > 0 && order.status != OrderStatus::PendingPayment {
            crate::payments::service::queue_partial_refund(
                &mut tx,
                order.id,
                Money::from_fen(saving),
                "Cheaper delivery after an address change",
            )
            .await?;
        }
        changes.push(format!("Delivery address changed to {}", a.detail));
    }
    let updated = sqlx::query!(
        "update orders set notes = $2, updated_at = now() where id = $1 and notes <> $2",
        order.id,
        notes
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated > 0 {
        changes.push("Notes changed".to_string());
    }
    if changes.is_empty() {
        return Ok(());
    }
    record_event(
        &mut tx,
        order.id,
        Some(order.status),
        order.status,
        ActorKind::Customer,
        Some(customer_id),
        &changes.join("; "),
    )
    .await?;
    enqueue(
        &mut tx,
        "order.details_changed",
        serde_json::json!({ "order_id": order.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lowers the quantity of one line (0 removes it) of a paid order the store has not accepted
/// yet: the goods go back on the shelf and the difference (with the discount recomputed) is
/// refunded. Adding goods is a new order.
pub async fn reduce_line(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    quantity: i32,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let order = lock_own_order(&mut tx, order_id, customer_id).await?;
    if order.status != OrderStatus::Placed {
        return Err(AppError::conflict(match order.status {
            OrderStatus::PendingPayment => {
                "Items change after payment; before that, cancel and order again.".to_string()
            }
            s => format!(
                "This order is {} now: its items can no longer change.",
                s.label()
            ),
        }));
    }
    let line = sqlx::query!(
        "select name, quantity, unit_price_fen from order_items where order_id = $1 and product_id = $2",
        order.id,
        product_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::validation("quantity", "This product is not in the order."))?;
    if quantity < 0 || quantity >= line.quantity {
        return Err(AppError::validation(
            "quantity",
            "You can only lower a quantity here: to add goods, place another order.",
        ));
    }
    let o = sqlx::query!(
        r#"select o.items_fen, o.discount_fen, o.fulfilment, s.min_order_fen, s.discount_threshold_fen,
                  s.discount_fen as rule_off, (select count(*) from order_items i where i.order_id = o.id) as "lines!"
           from orders o join stores s on s.id = o.store_id where o.id = $1"#,
        order.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if quantity == 0 && o.lines == 1 {
        return Err(AppError::validation(
            "quantity",
            "That is the last item: cancel the order instead.",
        ));
    }
    let removed = line.quantity - quantity;
    let items = o.items_fen - line.unit_price_fen * i64::from(removed);
    if o.fulfilment == Fulfilment::Delivery.as_str() && items < o.min_order_fen {
        return Err(AppError::validation(
            "quantity",
            format!(
                "The store delivers orders from {}: keep more items, or cancel the order.",
                Money::from_fen(o.min_order_fen)
            ),
        ));
    }
    let discount = match (o.discount_threshold_fen, o.rule_off) {
        (Some(threshold), Some(off)) if items >= threshold => off,
        _ => 0,
    };
    let refund = (o.items_fen - items) - (o.discount_fen - discount);
    if quantity == 0 {
        sqlx::query!(
            "delete from order_items where order_id = $1 and product_id = $2",
            order.id,
            product_id
        )
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query!(
            "update order_items set quantity = $3 where order_id = $1 and product_id = $2",
            order.id,
            product_id,
            quantity
        )
        .execute(&mut *tx)
        .await?;
    }
    book_stock_to(&mut tx, order.id).await?;
    sqlx::query!(
        "update stock_levels set on_hand = on_hand + $3 where store_id = $1 and product_id = $2",
        order.store_id,
        product_id,
        removed
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update reservations set quantity = quantity - $3, updated_at = now()
         where order_id = $1 and product_id = $2 and state = 'committed' and quantity > $3",
        order.id,
        product_id,
        removed
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update reservations set state = 'restocked', updated_at = now()
         where order_id = $1 and product_id = $2 and state = 'committed' and $3 = 0",
        order.id,
        product_id,
        quantity
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update orders set items_fen = $2, discount_fen = $3, total_fen = total_fen - $4, updated_at = now()
         where id = $1",
        order.id,
        items,
        discount,
        refund
    )
    .execute(&mut *tx)
    .await?;
    if refund > 0 {
        crate::payments::service::queue_partial_refund(
            &mut tx,
            order.id,
            Money::from_fen(refund),
            &format!("{} × {} removed", removed, line.name),
        )
        .await?;
    }
    record_event(
        &mut tx,
        order.id,
        Some(order.status),
        order.status,
        ActorKind::Customer,
        Some(customer_id),
        &format!("Removed {removed} × {}", line.name),
    )
    .await?;
    enqueue(
        &mut tx,
        "order.items_changed",
        serde_json::json!({ "order_id": order.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
