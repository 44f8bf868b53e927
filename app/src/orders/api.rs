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
