//! Public endpoints of the merchant console's order side. Each authorizes on its first line;
//! the service then finds the order only among the caller's stores (others: 404).

use leptos::prelude::*;
use uuid::Uuid;

use super::board::{Board, MerchantOrder, PackingLabel, StoreOrderRow, StoreToday};
use crate::error::AppError;
use crate::page::Page;

#[cfg(feature = "ssr")]
use super::{board, merchant};
#[cfg(feature = "ssr")]
use crate::{accounts::auth, accounts::model::Role, context};

/// The store's live board (its staff only).
#[server(endpoint = "store_board")]
pub async fn get_store_board(store_id: Uuid) -> Result<Board, AppError> {
    auth::require_store_member(store_id).await?;
    merchant::board(&context::state()?.pool, store_id).await
}

#[server(endpoint = "merchant_order")]
pub async fn get_merchant_order(order_id: Uuid) -> Result<MerchantOrder, AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    merchant::merchant_order(&context::state()?.pool, user.id, order_id).await
}

#[server(endpoint = "packing_label")]
pub async fn get_packing_label(order_id: Uuid) -> Result<PackingLabel, AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    merchant::packing_label(&context::state()?.pool, user.id, order_id).await
}

/// Accepts with the store's estimate of how long preparing takes (it moves the customer's ETA).
#[server(endpoint = "accept_order")]
pub async fn accept_order(order_id: Uuid, prep_min: i32) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    let prep_min = board::parse_prep_minutes(prep_min)?;
    merchant::accept(&context::state()?.pool, user.id, order_id, prep_min).await
}

/// Rejects with a reason the customer reads; the refund and restock follow automatically.
#[server(endpoint = "reject_order")]
pub async fn reject_order(order_id: Uuid, reason: String) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    let reason = board::parse_reason(&reason)?;
    merchant::reject(&context::state()?.pool, user.id, order_id, &reason).await
}

#[server(endpoint = "tick_pick_line")]
pub async fn tick_pick_line(
    order_id: Uuid,
    product_id: Uuid,
    picked: bool,
) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    merchant::tick_line(
        &context::state()?.pool,
        user.id,
        order_id,
        product_id,
        picked,
    )
    .await
}

#[server(endpoint = "mark_order_ready")]
pub async fn mark_order_ready(order_id: Uuid) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    merchant::mark_ready(&context::state()?.pool, user.id, order_id).await
}

/// Store pickup: the code the customer shows.
#[server(endpoint = "collect_order")]
pub async fn collect_order(order_id: Uuid, code: String) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    let code = board::parse_code(&code)?;
    merchant::collect(&context::state()?.pool, user.id, order_id, &code).await
}

/// A courier takes the order at the counter with the label's code.
#[server(endpoint = "courier_pickup")]
pub async fn courier_pickup(order_id: Uuid, code: String) -> Result<(), AppError> {
    let user = auth::require_role(Role::Courier).await?;
    // A 6-digit code is guessable: each address gets a limited number of tries.
    auth::throttle_anonymous()?;
    let code = board::parse_code(&code)?;
    merchant::courier_pickup(&context::state()?.pool, user.id, order_id, &code).await
}

/// Approve or decline a customer's cancel request; declining needs a reason.
#[server(endpoint = "answer_cancel_request")]
pub async fn answer_cancel_request(
    order_id: Uuid,
    approve: bool,
    reason: String,
) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    let reason = if approve && reason.trim().is_empty() {
        "Approved by the store".to_string()
    } else {
        board::parse_reason(&reason)?
    };
    merchant::answer_cancel_request(&context::state()?.pool, user.id, order_id, approve, &reason)
        .await
}

/// The store has the goods of a failed delivery back (restocked or not); the customer is
/// refunded the goods. Returns the amount refunded.
#[server(endpoint = "merchant_receive_return")]
pub async fn receive_return(
    order_id: Uuid,
    #[server(default)] restock: bool,
) -> Result<String, AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    merchant::receive_return(&context::state()?.pool, user.id, order_id, restock)
        .await
        .map(|m| m.to_string())
}

#[server(endpoint = "dismiss_store_alert")]
pub async fn dismiss_store_alert(alert_id: Uuid) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    merchant::dismiss_alert(&context::state()?.pool, user.id, alert_id).await
}

/// The store's day so far (its staff only).
#[server(endpoint = "store_today")]
pub async fn get_store_today(store_id: Uuid) -> Result<StoreToday, AppError> {
    auth::require_store_member(store_id).await?;
    merchant::today(&context::state()?.pool, store_id).await
}

/// The store's orders, filtered, newest first, 25 a page.
#[server(endpoint = "store_orders")]
pub async fn search_store_orders(
    store_id: Uuid,
    status: String,
    from: String,
    to: String,
    number: String,
    phone: String,
    page: u32,
) -> Result<Page<StoreOrderRow>, AppError> {
    auth::require_store_member(store_id).await?;
    let filter = board::OrderFilter::parse(&status, &from, &to, &number, &phone)?;
    let req = crate::page::PageReq::new(page, 25);
    merchant::search_orders(&context::state()?.pool, store_id, &filter, req).await
}

/// A line (or part of it) is not on the shelf: refund it, or offer a substitute the customer
/// accepts or declines on their order page. `substitute_id` empty: no substitute.
#[server(endpoint = "report_missing_item")]
pub async fn report_missing_item(
    order_id: Uuid,
    product_id: Uuid,
    missing_qty: i32,
    substitute_id: String,
) -> Result<(), AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    let substitute = match substitute_id.trim() {
        "" => None,
        s => Some(Uuid::parse_str(s).map_err(|_| {
            AppError::validation("substitute", "Choose a substitute from the list.")
        })?),
    };
    super::missing::report_missing(
        &context::state()?.pool,
        user.id,
        order_id,
        product_id,
        missing_qty,
        substitute,
    )
    .await
}

/// The customer's answer to a missing item: take the substitute, or get a refund.
#[server(endpoint = "answer_missing_item")]
pub async fn answer_missing_item(missing_id: Uuid, take_substitute: bool) -> Result<(), AppError> {
    let user = auth::require_role(Role::Customer).await?;
    super::missing::answer(
        &context::state()?.pool,
        user.id,
        missing_id,
        take_substitute,
    )
    .await
}
