//! Goods added to a paid order before the store accepts it. The extra stock is held at once,
//! the difference is paid as a separate top-up payment, and only then merged into the order;
//! a top-up that is not paid in time (or arrives after the store accepted) is dropped, its
//! stock released and any money refunded.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::lifecycle::{LockedOrder, enqueue, lock_order, lock_own_order, record_event};
use super::model::{ActorKind, CartQuantity, OrderStatus};
use crate::error::AppError;
use crate::money::Money;

/// Holds `quantity` more of a product of the order's store for the order, priced now, and
/// returns the addition to pay for.
pub async fn add_to_order(
    pool: &PgPool,
    customer_id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    quantity: CartQuantity,
    ttl: Duration,
) -> Result<Uuid, AppError> {
    let quantity = quantity.get();
    if quantity == 0 {
        return Err(AppError::validation("quantity", "Add at least one."));
    }
    let mut tx = pool.begin().await?;
    let order = lock_own_order(&mut tx, order_id, customer_id).await?;
    match order.status {
        OrderStatus::Placed => {}
        OrderStatus::PendingPayment => {
            return Err(AppError::conflict(
                "Pay for the order first, or cancel it and order again: your cart is kept.",
            ));
        }
        s => {
            return Err(AppError::conflict(format!(
                "This order is {} now: add goods with a new order.",
                s.label()
            )));
        }
    }
    let p = sqlx::query!(
        r#"select p.name, p.unit, p.price_fen, p.listed, o.items_fen, o.discount_fen,
                  s.discount_threshold_fen, s.discount_fen as rule_off
           from products p join orders o on o.store_id = p.store_id join stores s on s.id = o.store_id
           where p.id = $1 and o.id = $2"#,
        product_id,
        order.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .filter(|p| p.listed)
    .ok_or_else(|| AppError::validation("quantity", "This store does not sell that product now."))?;
    let held = sqlx::query!(
        "update stock_levels set reserved = reserved + $3
         where store_id = $1 and product_id = $2 and on_hand - reserved >= $3",
        order.store_id,
        product_id,
        quantity
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if held == 0 {
        return Err(AppError::validation(
            "quantity",
            format!("Not enough {} left to add {quantity}.", p.name),
        ));
    }
    let added = p.price_fen * i64::from(quantity);
    let items = p.items_fen + added;
    let discount = match (p.discount_threshold_fen, p.rule_off) {
        (Some(threshold), Some(off)) if items >= threshold => off,
        _ => 0,
    };
    let delta = (discount - p.discount_fen).max(0);
    let amount = added - delta;
    if amount <= 0 {
        // Crossing the spend-and-save threshold can make an addition free; keep it simple and
        // honest: such additions are refused rather than merged without a payment trail.
        return Err(AppError::validation(
            "quantity",
            "Add a little more: this addition would cost nothing after the discount.",
        ));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        "insert into order_additions (id, order_id, product_id, name, unit, unit_price_fen, quantity,
                                      discount_delta_fen, amount_fen, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))
         on conflict do nothing",
        id,
        order.id,
        product_id,
        p.name,
        p.unit,
        p.price_fen,
        quantity,
        delta,
        amount,
        ttl.as_secs() as f64
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AppError::conflict(
            "Pay for (or drop) the goods you added before adding more.",
        ));
    }
    tx.commit().await?;
    Ok(id)
}

struct Addition {
    order_id: Uuid,
    product_id: Uuid,
    name: String,
    unit: String,
    unit_price_fen: i64,
    quantity: i32,
    discount_delta_fen: i64,
    amount_fen: i64,
    status: String,
}

async fn lock_addition(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> Result<Option<Addition>, AppError> {
    Ok(sqlx::query_as!(
        Addition,
        "select order_id, product_id, name, unit, unit_price_fen, quantity, discount_delta_fen,
                amount_fen, status
         from order_additions where id = $1 for update",
        id
    )
    .fetch_optional(&mut **tx)
    .await?)
}

/// Gives the held stock back and marks the addition dropped (the caller holds the order lock).
async fn release(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    id: Uuid,
    a: &Addition,
) -> Result<(), AppError> {
    sqlx::query!(
        "update stock_levels set reserved = reserved - $3 where store_id = $1 and product_id = $2",
        store_id,
        a.product_id,
        a.quantity
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update order_additions set status = 'dropped' where id = $1",
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The addition's top-up was paid: merge it into the order (stock sold, line and totals
/// grown). Returns false when the order or the addition moved on, so the money must go back.
pub async fn merge_paid(
    tx: &mut Transaction<'_, Postgres>,
    order: &LockedOrder,
    id: Uuid,
) -> Result<bool, AppError> {
    let Some(a) = lock_addition(tx, id).await? else {
        return Ok(false);
    };
    // The payment must belong to the order this addition was made for.
    if a.status != "awaiting_payment" || a.order_id != order.id {
        return Ok(false);
    }
    if order.status != OrderStatus::Placed {
        release(tx, order.store_id, id, &a).await?;
        return Ok(false);
    }
    sqlx::query!(
        "update stock_levels set on_hand = on_hand - $3, reserved = reserved - $3
         where store_id = $1 and product_id = $2",
        order.store_id,
        a.product_id,
        a.quantity
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into order_items (order_id, product_id, name, unit, unit_price_fen, quantity)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (order_id, product_id) do update set quantity = order_items.quantity + excluded.quantity",
        order.id,
        a.product_id,
        a.name,
        a.unit,
        a.unit_price_fen,
        a.quantity
    )
    .execute(&mut **tx)
    .await?;
    super::lifecycle::commit_added(tx, order.id, order.store_id, a.product_id, a.quantity).await?;
    sqlx::query!(
        "update orders set items_fen = items_fen + $2, discount_fen = discount_fen + $3,
                total_fen = total_fen + $4, updated_at = now()
         where id = $1",
        order.id,
        a.unit_price_fen * i64::from(a.quantity),
        a.discount_delta_fen,
        a.amount_fen
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update order_additions set status = 'paid' where id = $1",
        id
    )
    .execute(&mut **tx)
    .await?;
    record_event(
        tx,
        order.id,
        Some(order.status),
        order.status,
        ActorKind::Provider,
        None,
        &format!(
            "Added {} × {} (paid {})",
            a.quantity,
            a.name,
            Money::from_fen(a.amount_fen)
        ),
    )
    .await?;
    enqueue(
        tx,
        "order.items_changed",
        serde_json::json!({ "order_id": order.id }),
    )
    .await?;
    Ok(true)
}

/// Drops an unpaid addition (the customer changed their mind, or its time ran out).
pub async fn drop_addition(
    pool: &PgPool,
    customer_id: Option<Uuid>,
    id: Uuid,
) -> Result<bool, AppError> {
    let order_id = sqlx::query_scalar!("select order_id from order_additions where id = $1", id)
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = pool.begin().await?;
    let order = lock_order(&mut tx, order_id)
        .await?
        .filter(|o| customer_id.is_none_or(|c| c == o.customer_id))
        .ok_or(AppError::NotFound)?;
    let Some(a) = lock_addition(&mut tx, id).await? else {
        return Ok(false);
    };
    if a.status != "awaiting_payment" {
        return Ok(false);
    }
    release(&mut tx, order.store_id, id, &a).await?;
    tx.commit().await?;
    Ok(true)
}
