//! Items found missing while picking. The store reports the shortfall and may offer a
//! substitute from the same shelf; the customer chooses on their order page (substitute or
//! refund), or the store's default applies when the answer window closes. Without a substitute
//! the missing part is refunded at once. Missing goods are not restocked: they were never there.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::board::{MissingItem, SubstituteOption};
use super::lifecycle::{LockedOrder, enqueue, lock_order, lock_own_order, record_event};
use super::merchant::lock_store_order;
use super::model::{ActorKind, OrderStatus};
use crate::error::AppError;
use crate::money::Money;

/// How long the customer has to answer.
pub const ANSWER_WINDOW_MIN: i32 = 5;

/// The store reports `missing_qty` of a line missing, optionally offering a substitute.
pub async fn report_missing(
    pool: &PgPool,
    user_id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    missing_qty: i32,
    substitute: Option<Uuid>,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let mut order = lock_store_order(&mut tx, order_id, user_id).await?;
    if !matches!(order.status, OrderStatus::Accepted | OrderStatus::Picking) {
        return Err(AppError::conflict(format!(
            "This order is {} now: report missing items while picking.",
            order.status.label()
        )));
    }
    let line = sqlx::query!(
        r#"select i.name, i.quantity, (select count(*) from order_items x where x.order_id = i.order_id) as "lines!"
           from order_items i where i.order_id = $1 and i.product_id = $2"#,
        order.id,
        product_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if !(1..=line.quantity).contains(&missing_qty) {
        return Err(AppError::validation(
            "missing_qty",
            format!(
                "Between 1 and {} can be missing on this line.",
                line.quantity
            ),
        ));
    }
    if substitute.is_none() && missing_qty == line.quantity && line.lines == 1 {
        return Err(AppError::validation(
            "missing_qty",
            "Nothing would be left of this order: offer a substitute or reject the order.",
        ));
    }
    let sub_name = match substitute {
        None => None,
        Some(sub) => {
            let s = sqlx::query!(
                r#"select p.name, p.price_fen, (l.on_hand - l.reserved) as "available!"
                   from products p join stock_levels l on l.product_id = p.id and l.store_id = p.store_id
                   where p.id = $1 and p.store_id = $2 and p.listed
                     and not exists (select 1 from order_items i where i.order_id = $3 and i.product_id = p.id)
                     and not exists (select 1 from order_exceptions e where e.order_id = $3
                                     and e.status = 'open' and e.substitute_product_id = p.id)"#,
                sub,
                order.store_id,
                order.id
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                AppError::validation(
                    "substitute",
                    "Choose a substitute from this store's shelf that is not already in the order or offered for another line.",
                )
            })?;
            if s.available < missing_qty {
                return Err(AppError::validation(
                    "substitute",
                    format!(
                        "Only {} of {} in stock: choose another substitute.",
                        s.available.max(0),
                        s.name
                    ),
                ));
            }
            Some(s.name)
        }
    };
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        "insert into order_exceptions (id, order_id, product_id, missing_qty, substitute_product_id, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(mins => $6))
         on conflict do nothing",
        id,
        order.id,
        product_id,
        missing_qty,
        substitute,
        ANSWER_WINDOW_MIN
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AppError::conflict(
            "This line already waits for the customer's answer.",
        ));
    }
    let reason = match &sub_name {
        Some(s) => format!(
            "Missing {missing_qty} × {}: the store offers {s} instead. Choose on this page.",
            line.name
        ),
        None => format!("Missing {missing_qty} × {}", line.name),
    };
    record_event(
        &mut tx,
        order.id,
        Some(order.status),
        order.status,
        ActorKind::Merchant,
        Some(user_id),
        &reason,
    )
    .await?;
    if sub_name.is_none() {
        resolve(&mut tx, &mut order, id, false, "store").await?;
    }
    enqueue(
        &mut tx,
        "order.item_missing",
        serde_json::json!({ "order_id": order.id, "product_id": product_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The customer's answer: take the substitute or get the missing part refunded.
pub async fn answer(
    pool: &PgPool,
    customer_id: Uuid,
    exception_id: Uuid,
    take_substitute: bool,
) -> Result<(), AppError> {
    let order_id = sqlx::query_scalar!(
        "select order_id from order_exceptions where id = $1",
        exception_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut tx = pool.begin().await?;
    let mut order = lock_own_order(&mut tx, order_id, customer_id).await?;
    resolve(
        &mut tx,
        &mut order,
        exception_id,
        take_substitute,
        "customer",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Open exceptions past their window get the store's default. Returns how many.
pub async fn resolve_timed_out(pool: &PgPool) -> Result<usize, AppError> {
    let due = sqlx::query!(
        "select e.id, e.order_id, s.missing_default from order_exceptions e
         join orders o on o.id = e.order_id join stores s on s.id = o.store_id
         where e.status = 'open' and e.expires_at < now() and o.status in ('accepted', 'picking')
         order by e.expires_at limit 100"
    )
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for d in due {
        let mut tx = pool.begin().await?;
        let Some(mut order) = lock_order(&mut tx, d.order_id).await? else {
            continue;
        };
        match resolve(
            &mut tx,
            &mut order,
            d.id,
            d.missing_default == "substitute",
            "timeout",
        )
        .await
        {
            Ok(()) => {
                tx.commit().await?;
                done += 1;
            }
            // Answered a moment ago: nothing to do.
            Err(AppError::Conflict { .. }) => {}
            // One question that cannot be settled must not hold up the others.
            Err(e) => tracing::error!("settling missing item {} failed: {e}", d.id),
        }
    }
    Ok(done)
}

/// Applies a choice to an open exception (the order is locked by the caller).
async fn resolve(
    tx: &mut Transaction<'_, Postgres>,
    order: &mut LockedOrder,
    exception_id: Uuid,
    take_substitute: bool,
    by: &str,
) -> Result<(), AppError> {
    let e = sqlx::query!(
        r#"select e.product_id, e.missing_qty, e.substitute_product_id, e.status,
                  i.name, i.quantity, i.unit_price_fen
           from order_exceptions e
           join order_items i on i.order_id = e.order_id and i.product_id = e.product_id
           where e.id = $1 and e.order_id = $2 for update of e"#,
        exception_id,
        order.id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if e.status != "open" {
        return Err(AppError::conflict("This was answered already."));
    }
    if !matches!(order.status, OrderStatus::Accepted | OrderStatus::Picking) {
        return Err(AppError::conflict(format!(
            "This order is {} now: its items can no longer change.",
            order.status.label()
        )));
    }
    // The substitute, if wanted and still on the shelf (taken off now, like a sale).
    let mut substitute = None;
    if take_substitute && let Some(sub) = e.substitute_product_id {
        super::lifecycle::book_stock_to(tx, order.id).await?;
        let taken = sqlx::query!(
            "update stock_levels l set on_hand = l.on_hand - $3
             from products p
             where l.store_id = $1 and l.product_id = $2 and p.id = l.product_id
               and l.on_hand - l.reserved >= $3
             returning p.name, p.unit, p.price_fen",
            order.store_id,
            sub,
            e.missing_qty
        )
        .fetch_optional(&mut **tx)
        .await?;
        substitute = taken.map(|t| (sub, t.name, t.unit, t.price_fen));
    }
    // The missing part leaves the order (and its sold stock record).
    let left = e.quantity - e.missing_qty;
    if left == 0 {
        sqlx::query!(
            "delete from order_items where order_id = $1 and product_id = $2",
            order.id,
            e.product_id
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "update reservations set state = 'released', updated_at = now()
             where order_id = $1 and product_id = $2 and state = 'committed'",
            order.id,
            e.product_id
        )
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query!(
            "update order_items set quantity = $3 where order_id = $1 and product_id = $2",
            order.id,
            e.product_id,
            left
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "update reservations set quantity = $3, updated_at = now()
             where order_id = $1 and product_id = $2 and state = 'committed'",
            order.id,
            e.product_id,
            left
        )
        .execute(&mut **tx)
        .await?;
    }
    // The customer never pays more than they did for the missing item.
    let (status, reason) = match &substitute {
        Some((sub, name, unit, price)) => {
            let charged = (*price).min(e.unit_price_fen);
            sqlx::query!(
                "insert into order_items (order_id, product_id, name, unit, unit_price_fen, quantity, picked_at)
                 values ($1, $2, $3, $4, $5, $6, now())
                 on conflict (order_id, product_id) do update
                 set quantity = order_items.quantity + excluded.quantity,
                     unit_price_fen = least(order_items.unit_price_fen, excluded.unit_price_fen)",
                order.id,
                sub,
                name,
                unit,
                charged,
                e.missing_qty
            )
            .execute(&mut **tx)
            .await?;
            super::lifecycle::commit_added(tx, order.id, order.store_id, *sub, e.missing_qty)
                .await?;
            (
                "substituted",
                format!("{} × {} replaced by {name}", e.missing_qty, e.name),
            )
        }
        None => (
            "refunded",
            format!("{} × {} missing: refunded", e.missing_qty, e.name),
        ),
    };
    let refund = reprice(tx, order.id).await?;
    if refund > 0 {
        crate::payments::service::queue_partial_refund(
            tx,
            order.id,
            Money::from_fen(refund),
            &reason,
        )
        .await?;
    }
    sqlx::query!(
        "update order_exceptions set status = $2, resolved_by = $3, resolved_at = now() where id = $1",
        exception_id,
        status,
        by
    )
    .execute(&mut **tx)
    .await?;
    // The only item was missing and no substitute taken: nothing is left to deliver, so the
    // order is cancelled and everything still paid (fees, tip) refunded as well.
    let lines_left = sqlx::query_scalar!(
        r#"select count(*) as "n!" from order_items where order_id = $1"#,
        order.id
    )
    .fetch_one(&mut **tx)
    .await?;
    if lines_left == 0 {
        record_event(
            tx,
            order.id,
            Some(order.status),
            order.status,
            ActorKind::System,
            None,
            &reason,
        )
        .await?;
        super::lifecycle::transition(
            tx,
            order,
            super::model::OrderAction::ApproveCancel,
            ActorKind::Merchant,
            None,
            "Nothing left to deliver after the missing item",
        )
        .await?;
        return crate::payments::service::queue_refund(
            tx,
            order.id,
            "Nothing left to deliver after the missing item",
        )
        .await;
    }
    let actor = match by {
        "customer" => ActorKind::Customer,
        "store" => ActorKind::Merchant,
        _ => ActorKind::System,
    };
    record_event(
        tx,
        order.id,
        Some(order.status),
        order.status,
        actor,
        None,
        &reason,
    )
    .await
}

/// Recomputes the items from the lines; returns how much less the order costs now (to
/// refund). The shortfall is the store's: the spend-and-save discount the customer earned is
/// kept, and the total never goes up.
async fn reprice(tx: &mut Transaction<'_, Postgres>, order_id: Uuid) -> Result<i64, AppError> {
    let o = sqlx::query!(
        r#"select o.items_fen, o.total_fen,
                  (select coalesce(sum(i.unit_price_fen * i.quantity), 0) from order_items i
                   where i.order_id = o.id)::bigint as "items_now!"
           from orders o where o.id = $1"#,
        order_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let less = (o.items_fen - o.items_now).clamp(0, o.total_fen);
    sqlx::query!(
        "update orders set items_fen = $2, total_fen = total_fen - $3, updated_at = now() where id = $1",
        order_id,
        o.items_now,
        less
    )
    .execute(&mut **tx)
    .await?;
    Ok(less)
}

/// An order's missing items (open first), for the store's page or the customer's
/// (`open_only`: the questions still waiting, while the order can still change). A question
/// left open when the order was cancelled or rejected is moot: the whole order is refunded.
pub async fn missing_items(
    pool: &PgPool,
    order_id: Uuid,
    open_only: bool,
) -> Result<Vec<MissingItem>, AppError> {
    let rows = sqlx::query!(
        r#"select e.id, e.product_id, e.missing_qty, e.status, s.missing_default,
                  coalesce(i.name, p.name) as "name!",
                  sp.name as "sub_name?", sp.price_fen as "sub_price?",
                  to_char(e.expires_at at time zone s.time_zone, 'HH24:MI') as "deadline!"
           from order_exceptions e
           join orders o on o.id = e.order_id
           join stores s on s.id = o.store_id
           join products p on p.id = e.product_id
           left join order_items i on i.order_id = e.order_id and i.product_id = e.product_id
           left join products sp on sp.id = e.substitute_product_id
           where e.order_id = $1
             and (not $2 or (e.status = 'open' and o.status in ('accepted', 'picking')))
           order by e.status <> 'open', e.created_at"#,
        order_id,
        open_only
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MissingItem {
            id: r.id,
            product_id: r.product_id,
            name: r.name,
            missing_qty: r.missing_qty,
            substitute: r
                .sub_name
                .zip(r.sub_price)
                .map(|(n, p)| format!("{n} ({})", Money::from_fen(p))),
            status: r.status,
            deadline_local: r.deadline,
            default_choice: r.missing_default,
        })
        .collect())
}

/// Products that could stand in for the order's lines: same categories, listed, in stock,
/// not already in the order.
pub async fn substitute_options(
    pool: &PgPool,
    order_id: Uuid,
) -> Result<Vec<SubstituteOption>, AppError> {
    let rows = sqlx::query!(
        r#"select p.id, c.name as category, p.name, p.unit, p.price_fen,
                  (l.on_hand - l.reserved) as "available!"
           from products p
           join categories c on c.id = p.category_id
           join stock_levels l on l.product_id = p.id and l.store_id = p.store_id
           where p.category_id in (select q.category_id from order_items i join products q on q.id = i.product_id
                                   where i.order_id = $1)
             and p.listed and l.on_hand - l.reserved > 0
             and not exists (select 1 from order_items i where i.order_id = $1 and i.product_id = p.id)
             and not exists (select 1 from order_exceptions e where e.order_id = $1
                             and e.status = 'open' and e.substitute_product_id = p.id)
           order by c.position, p.name
           limit 200"#,
        order_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SubstituteOption {
            product_id: r.id,
            category: r.category,
            name: r.name,
            unit: r.unit,
            price: Money::from_fen(r.price_fen),
            available: r.available,
        })
        .collect())
}
