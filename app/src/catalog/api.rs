//! Public endpoints for stores and catalog.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::{MemberStore, StoreCard, StoreStock};
use crate::error::AppError;
use crate::page::Page;

#[cfg(feature = "ssr")]
use crate::{accounts::auth, accounts::model::Role, context, page::PageReq};

/// Stores of the city, for everyone (customers, visitors).
#[server(endpoint = "list_stores")]
pub async fn list_stores(page: u32) -> Result<Page<StoreCard>, AppError> {
    // Public: browsing stores needs no account.
    let state = context::state()?;
    let req = PageReq::new(page, 12);
    let (items, total) = super::db::list_stores(&state.pool, req).await?;
    Ok(req.wrap(items, total))
}

/// The stores the calling merchant belongs to.
#[server(endpoint = "my_stores")]
pub async fn my_stores(page: u32) -> Result<Page<MemberStore>, AppError> {
    let user = auth::require_role(Role::Merchant).await?;
    let state = context::state()?;
    let req = PageReq::new(page, 12);
    let (rows, total) = super::db::member_stores(&state.pool, user.id, req).await?;
    let items = rows
        .into_iter()
        .map(|(store, member_role)| MemberStore { store, member_role })
        .collect();
    Ok(req.wrap(items, total))
}

/// Products and stock of one store, for its staff only.
#[server(endpoint = "store_stock")]
pub async fn get_store_stock(store_id: Uuid, page: u32) -> Result<StoreStock, AppError> {
    auth::require_store_member(store_id).await?;
    let state = context::state()?;
    let store = super::db::store_card(&state.pool, store_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let req = PageReq::new(page, 25);
    let (lines, total) = super::db::stock_lines(&state.pool, store_id, req).await?;
    Ok(StoreStock {
        store,
        lines: req.wrap(lines, total),
    })
}
