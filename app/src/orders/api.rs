//! Public endpoints for carts. Each authorizes on its first line.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::CartView;
use crate::error::AppError;
use crate::page::Page;

#[cfg(feature = "ssr")]
use crate::{accounts::auth, accounts::model::Role, context, page::PageReq};

/// Puts `quantity` of a product in the caller's cart for its store (0 removes it).
#[server(endpoint = "set_cart_quantity")]
pub async fn set_cart_quantity(product_id: Uuid, quantity: i32) -> Result<CartView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let quantity = super::model::CartQuantity::parse(quantity)?;
    let state = context::state()?;
    let store_id = super::service::set_quantity(&state.pool, user.id, product_id, quantity).await?;
    let (mut carts, _) = super::db::carts(&state.pool, user.id, Some(store_id), 1, 0).await?;
    Ok(carts.pop().unwrap_or_else(|| CartView {
        store_id,
        store_name: String::new(),
        lines: vec![],
        items: 0,
        subtotal: crate::money::Money::ZERO,
    }))
}

/// The caller's cart at one store, or `None` (also for visitors and other roles, so store
/// pages can always ask).
#[server(endpoint = "store_cart")]
pub async fn store_cart(store_id: Uuid) -> Result<Option<CartView>, AppError> {
    let Some(user) = auth::current_user()
        .await?
        .filter(|u| u.role == Role::Customer)
    else {
        return Ok(None);
    };
    let state = context::state()?;
    let (mut carts, _) = super::db::carts(&state.pool, user.id, Some(store_id), 1, 0).await?;
    Ok(carts.pop())
}

/// All of the caller's carts, most recently changed first.
#[server(endpoint = "my_carts")]
pub async fn my_carts(page: u32) -> Result<Page<CartView>, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    let req = PageReq::new(page, 10);
    let (carts, total) =
        super::db::carts(&state.pool, user.id, None, req.limit(), req.offset()).await?;
    Ok(req.wrap(carts, total))
}

/// Prices the caller's cart at a store for delivery to one of their addresses or pickup,
/// now or in a slot, with an optional tip. The quote is kept for 10 minutes.
#[server(endpoint = "get_quote")]
pub async fn get_quote(
    store_id: Uuid,
    fulfilment: String,
    address_id: Option<Uuid>,
    slot: Option<chrono::DateTime<chrono::Utc>>,
    tip_fen: i64,
) -> Result<super::model::QuoteView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let fulfilment = super::model::Fulfilment::parse(&fulfilment)?;
    let tip = super::model::parse_tip(tip_fen)?;
    let state = context::state()?;
    super::checkout::quote(
        &state.pool,
        user.id,
        super::checkout::QuoteRequest {
            store_id,
            fulfilment,
            address_id,
            slot,
            tip,
        },
    )
    .await
}

/// Delivery/pickup slots at a store for today and tomorrow, full ones marked.
#[server(endpoint = "delivery_slots")]
pub async fn delivery_slots(store_id: Uuid) -> Result<Vec<super::model::Slot>, AppError> {
    auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::checkout::slots(&state.pool, store_id).await
}

/// Turns a quote into an order awaiting payment. The same `idempotency_key` again returns
/// the same order; with a different quote or notes it is refused.
#[server(endpoint = "place_order")]
pub async fn place_order(
    quote_id: Uuid,
    idempotency_key: String,
    notes: String,
) -> Result<super::model::PlacedOrder, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let key = super::checkout::IdempotencyKey::parse(&idempotency_key)?;
    let notes = super::model::parse_notes(&notes)?;
    let state = context::state()?;
    super::checkout::place_order(
        &state.pool,
        user.id,
        quote_id,
        &key,
        &notes,
        state.settings.payment_ttl,
    )
    .await
}

/// One of the caller's orders.
#[server(endpoint = "get_order")]
pub async fn get_order(order_id: Uuid) -> Result<super::model::OrderView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::lifecycle::order_view(&state.pool, user.id, order_id).await
}

/// The caller's orders, newest first.
#[server(endpoint = "my_orders")]
pub async fn my_orders(page: u32) -> Result<Page<super::model::OrderSummary>, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::lifecycle::my_orders(&state.pool, user.id, PageReq::new(page, 10)).await
}

#[cfg(feature = "ssr")]
fn parse_reason(reason: &str) -> Result<String, AppError> {
    let r = super::model::parse_notes(reason)?;
    Ok(if r.is_empty() {
        "No reason given".to_string()
    } else {
        r
    })
}

/// Cancels before the store accepts (full refund once paid).
#[server(endpoint = "cancel_order")]
pub async fn cancel_order(
    order_id: Uuid,
    reason: String,
) -> Result<super::model::OrderView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let reason = parse_reason(&reason)?;
    let state = context::state()?;
    super::lifecycle::cancel_by_customer(&state.pool, user.id, order_id, &reason).await?;
    kick_outbox(&state);
    super::lifecycle::order_view(&state.pool, user.id, order_id).await
}

/// After the store accepted: asks the store to cancel.
#[server(endpoint = "request_cancel")]
pub async fn request_cancel(
    order_id: Uuid,
    reason: String,
) -> Result<super::model::OrderView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let reason = parse_reason(&reason)?;
    let state = context::state()?;
    super::lifecycle::request_cancel(&state.pool, user.id, order_id, &reason).await?;
    super::lifecycle::order_view(&state.pool, user.id, order_id).await
}

/// Puts an earlier order's products back in the cart; returns the store to continue at.
#[server(endpoint = "reorder")]
pub async fn reorder(order_id: Uuid) -> Result<Uuid, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    let (store_id, added) = super::lifecycle::reorder(&state.pool, user.id, order_id).await?;
    if added == 0 {
        return Err(AppError::conflict(
            "None of these products can be ordered right now.",
        ));
    }
    Ok(store_id)
}

/// The read-only view behind a shareable tracking link (the token is the credential).
#[server(endpoint = "track_order")]
pub async fn track_order(token: String) -> Result<super::model::TrackingView, AppError> {
    if token.len() != 22
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::NotFound);
    }
    let state = context::state()?;
    super::lifecycle::tracking(&state.pool, &token).await
}

/// Changes the delivery address and/or notes of one of the caller's orders (until picked up).
#[server(endpoint = "change_order_details")]
pub async fn change_order_details(
    order_id: Uuid,
    address_id: Option<Uuid>,
    notes: String,
) -> Result<super::model::OrderView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let notes = super::model::parse_notes(&notes)?;
    let state = context::state()?;
    super::lifecycle::change_details(&state.pool, user.id, order_id, address_id, &notes).await?;
    kick_outbox(&state);
    super::lifecycle::order_view(&state.pool, user.id, order_id).await
}

/// Lowers one line of a paid order the store has not accepted yet (0 removes it); the
/// difference is refunded.
#[server(endpoint = "reduce_order_line")]
pub async fn reduce_order_line(
    order_id: Uuid,
    product_id: Uuid,
    quantity: i32,
) -> Result<super::model::OrderView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::lifecycle::reduce_line(&state.pool, user.id, order_id, product_id, quantity).await?;
    kick_outbox(&state);
    super::lifecycle::order_view(&state.pool, user.id, order_id).await
}

/// Refunds go out through the outbox; deliver it now rather than at the next tick.
#[cfg(feature = "ssr")]
fn kick_outbox(state: &crate::state::AppState) {
    let (pool, payments) = (state.pool.clone(), state.payments.clone());
    tokio::spawn(async move {
        if let Err(e) = crate::payments::service::deliver_outbox(&pool, &payments).await {
            tracing::warn!("delivering the outbox failed: {e}");
        }
    });
}

/// Adds goods to a paid order the store has not accepted yet: holds the stock and returns
/// the page to pay the difference on.
#[server(endpoint = "add_to_order")]
pub async fn add_to_order(
    order_id: Uuid,
    product_id: Uuid,
    quantity: i32,
) -> Result<String, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let quantity = super::model::CartQuantity::parse(quantity)?;
    let state = context::state()?;
    let addition = super::additions::add_to_order(
        &state.pool,
        user.id,
        order_id,
        product_id,
        quantity,
        state.settings.payment_ttl,
    )
    .await?;
    crate::payments::service::start_addition_payment(
        &state.pool,
        &state.payments,
        user.id,
        addition,
    )
    .await
}

/// Pays (again) for goods added to an order.
#[server(endpoint = "pay_addition")]
pub async fn pay_addition(addition_id: Uuid) -> Result<String, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    crate::payments::service::start_addition_payment(
        &state.pool,
        &state.payments,
        user.id,
        addition_id,
    )
    .await
}

/// Drops goods added to an order that were not paid for; their stock goes back on sale.
#[server(endpoint = "drop_addition")]
pub async fn drop_addition(addition_id: Uuid) -> Result<(), AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::additions::drop_addition(&state.pool, Some(user.id), addition_id).await?;
    Ok(())
}
