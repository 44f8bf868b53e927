//! Public endpoints of the merchant console for catalog, stock and store settings. Each
//! authorizes on its first line: a member of this store (others' staff get 404); store
//! settings only for the owner (staff get 403), except the busy switch, which staff run.
// `allow`, not `expect`: the server macro fires this lint in some feature sets and not others.
#![allow(
    clippy::too_many_arguments,
    reason = "server fns take one argument per form field"
)]

use leptos::prelude::*;
use uuid::Uuid;

use super::admin_model::{
    AdminCategory, AdminProduct, CatalogAdmin, ImportReport, ProductHistory, StoreSettings,
};
use crate::error::AppError;

#[cfg(feature = "ssr")]
use super::admin_model::{
    ExceptionInput, ItemName, Price, SettingsInput, StockAdjustment, Threshold, Unit,
};
#[cfg(feature = "ssr")]
use crate::accounts::auth::{self, MemberRole};
#[cfg(feature = "ssr")]
use crate::{context, page::PageReq};

#[cfg(feature = "ssr")]
fn require_owner(role: MemberRole) -> Result<(), AppError> {
    match role {
        MemberRole::Owner => Ok(()),
        MemberRole::Staff => Err(AppError::Forbidden),
    }
}

/// An optional id from a form ("" = none).
#[cfg(feature = "ssr")]
fn optional_id(field: &str, s: &str) -> Result<Option<Uuid>, AppError> {
    match s.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| AppError::validation(field, "Reload the page and try again.")),
    }
}

/// The catalog with stock, optionally only low-stock products or those matching `q`.
#[server(endpoint = "merchant_catalog")]
pub async fn get_catalog_admin(
    store_id: Uuid,
    page: u32,
    #[server(default)] low_only: bool,
    #[server(default)] q: String,
) -> Result<CatalogAdmin, AppError> {
    let (_, role) = auth::require_store_member(store_id).await?;
    let q = super::model::parse_search(&q)?;
    let state = context::state()?;
    let pattern = q.as_deref().map(super::db::contains_pattern);
    let filter = super::admin::CatalogFilter {
        pattern: pattern.as_deref(),
        low_only,
    };
    super::admin::catalog(
        &state.pool,
        store_id,
        role == MemberRole::Owner,
        &filter,
        PageReq::new(page, 25),
    )
    .await
}

/// How many listed products are at or below their low-stock level (the console's badge).
#[server(endpoint = "merchant_low_stock_count")]
pub async fn get_low_stock_count(store_id: Uuid) -> Result<i64, AppError> {
    auth::require_store_member(store_id).await?;
    let state = context::state()?;
    Ok(super::admin::low_stock_count(&state.pool, store_id).await?)
}

/// One product's price changes and stock ledger, newest first.
#[server(endpoint = "merchant_product_history")]
pub async fn get_product_history(
    store_id: Uuid,
    product_id: Uuid,
    page: u32,
) -> Result<ProductHistory, AppError> {
    auth::require_store_member(store_id).await?;
    let state = context::state()?;
    super::admin::product_history(&state.pool, store_id, product_id, PageReq::new(page, 20)).await
}

/// Creates a product (empty `product_id`) or edits one. A new price is kept in its history.
#[server(endpoint = "merchant_save_product")]
pub async fn save_product(
    store_id: Uuid,
    #[server(default)] product_id: String,
    name: String,
    category_id: String,
    unit: String,
    price: String,
    #[server(default)] low_stock_threshold: i32,
    #[server(default)] listed: bool,
) -> Result<AdminProduct, AppError> {
    let (user, _) = auth::require_store_member(store_id).await?;
    let product_id = optional_id("product_id", &product_id)?;
    let input = super::admin::ProductInput {
        name: ItemName::parse("name", &name)?,
        category_id: optional_id("category_id", &category_id)?
            .ok_or_else(|| AppError::validation("category_id", "Choose a category."))?,
        unit: Unit::parse(&unit)?,
        price: Price::parse_yuan(&price)?,
        threshold: Threshold::parse(low_stock_threshold)?,
        listed,
    };
    let state = context::state()?;
    super::admin::save_product(&state.pool, store_id, user.id, product_id, input).await
}

/// Lists (customers see it) or unlists (hidden from the menu, kept in the console) a product.
#[server(endpoint = "merchant_set_listed")]
pub async fn set_product_listed(
    store_id: Uuid,
    product_id: Uuid,
    #[server(default)] listed: bool,
) -> Result<AdminProduct, AppError> {
    auth::require_store_member(store_id).await?;
    let state = context::state()?;
    super::admin::set_listed(&state.pool, store_id, product_id, listed).await
}

/// Marks a product as restricted goods (`medicine`, `alcohol`, `tobacco`; empty for none):
/// couriers check the recipient's ID before handing such an order over.
#[server(endpoint = "merchant_set_restricted")]
pub async fn set_product_restricted(
    store_id: Uuid,
    product_id: Uuid,
    #[server(default)] restricted: String,
) -> Result<AdminProduct, AppError> {
    auth::require_store_member(store_id).await?;
    let restricted = match restricted.trim() {
        "" => None,
        r => Some(
            crate::dispatch::model::Restriction::parse(r).ok_or_else(|| {
                AppError::validation("restricted", "Choose medicine, alcohol, tobacco or none.")
            })?,
        ),
    };
    let state = context::state()?;
    super::admin::set_restricted(&state.pool, store_id, product_id, restricted).await
}

/// A stock change by hand: delivery adds, damage writes off, count sets what was counted.
#[server(endpoint = "merchant_adjust_stock")]
pub async fn adjust_stock(
    store_id: Uuid,
    product_id: Uuid,
    kind: String,
    quantity: i32,
    #[server(default)] note: String,
) -> Result<AdminProduct, AppError> {
    let (user, _) = auth::require_store_member(store_id).await?;
    let adj = StockAdjustment::parse(&kind, quantity)?;
    let note = super::admin_model::parse_note(&note)?;
    let state = context::state()?;
    super::admin::adjust_stock(&state.pool, store_id, user.id, product_id, adj, note).await
}

/// Creates a category (empty `category_id`, at the end of the shelf) or renames one.
#[server(endpoint = "merchant_save_category")]
pub async fn save_category(
    store_id: Uuid,
    #[server(default)] category_id: String,
    name: String,
) -> Result<AdminCategory, AppError> {
    auth::require_store_member(store_id).await?;
    let category_id = optional_id("category_id", &category_id)?;
    let name = ItemName::parse("name", &name)?;
    let state = context::state()?;
    super::admin::save_category(&state.pool, store_id, category_id, name).await
}

/// Moves a category one place up (or down) the shelf customers see.
#[server(endpoint = "merchant_move_category")]
pub async fn move_category(
    store_id: Uuid,
    category_id: Uuid,
    #[server(default)] up: bool,
) -> Result<Vec<AdminCategory>, AppError> {
    auth::require_store_member(store_id).await?;
    let state = context::state()?;
    super::admin::move_category(&state.pool, store_id, category_id, up).await
}

/// CSV import of products and stock: a dry run (`apply` false) reports per row and changes
/// nothing; applying does the same in one transaction, each row entirely or not at all.
#[server(endpoint = "merchant_import_catalog")]
pub async fn import_catalog(
    store_id: Uuid,
    csv: String,
    #[server(default)] apply: bool,
) -> Result<ImportReport, AppError> {
    let (user, _) = auth::require_store_member(store_id).await?;
    if csv.trim().is_empty() {
        return Err(AppError::validation(
            "csv",
            "Choose a CSV file (export one first to see the columns).",
        ));
    }
    let state = context::state()?;
    super::admin::import_csv(&state.pool, store_id, user.id, &csv, apply).await
}

/// Opening hours, exceptions and ordering settings; staff may read them.
#[server(endpoint = "merchant_store_settings")]
pub async fn get_store_settings(store_id: Uuid, page: u32) -> Result<StoreSettings, AppError> {
    let (_, role) = auth::require_store_member(store_id).await?;
    let state = context::state()?;
    super::admin::settings(
        &state.pool,
        store_id,
        role == MemberRole::Owner,
        PageReq::new(page, 20),
    )
    .await
}

/// The owner's settings: preparation time, radius, minimum order, packaging fee, pickup and
/// the weekly hours (`hours_1` = Monday … `hours_7` = Sunday, "" = closed).
#[server(endpoint = "merchant_save_settings")]
pub async fn save_store_settings(
    store_id: Uuid,
    prep_time_min: i32,
    delivery_radius_m: i32,
    min_order: String,
    packaging_fee: String,
    #[server(default)] pickup_enabled: bool,
    #[server(default)] accept_timeout_min: Option<i32>,
    #[server(default)] missing_default: String,
    #[server(default)] hours_1: String,
    #[server(default)] hours_2: String,
    #[server(default)] hours_3: String,
    #[server(default)] hours_4: String,
    #[server(default)] hours_5: String,
    #[server(default)] hours_6: String,
    #[server(default)] hours_7: String,
) -> Result<(), AppError> {
    let (_, role) = auth::require_store_member(store_id).await?;
    require_owner(role)?;
    let week = [
        hours_1, hours_2, hours_3, hours_4, hours_5, hours_6, hours_7,
    ];
    let input = SettingsInput::parse(
        prep_time_min,
        delivery_radius_m,
        &min_order,
        &packaging_fee,
        pickup_enabled,
        accept_timeout_min,
        &missing_default,
        &week,
    )?;
    let state = context::state()?;
    super::admin::save_settings(&state.pool, store_id, &input).await
}

/// The busy switch: stop (or resume) taking orders now. Staff may flip it during a rush.
#[server(endpoint = "merchant_set_accepting")]
pub async fn set_accepting_orders(
    store_id: Uuid,
    #[server(default)] accepting: bool,
) -> Result<(), AppError> {
    auth::require_store_member(store_id).await?;
    let state = context::state()?;
    super::admin::set_accepting_orders(&state.pool, store_id, accepting).await
}

/// A holiday or special day: closed all day (`hours` empty) or open only `hours` that date.
#[server(endpoint = "merchant_save_exception")]
pub async fn save_hour_exception(
    store_id: Uuid,
    day: String,
    #[server(default)] hours: String,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    let (_, role) = auth::require_store_member(store_id).await?;
    require_owner(role)?;
    let e = ExceptionInput::parse(&day, &hours, &note)?;
    let state = context::state()?;
    super::admin::save_exception(&state.pool, store_id, &e).await
}

#[server(endpoint = "merchant_delete_exception")]
pub async fn delete_hour_exception(store_id: Uuid, day: String) -> Result<(), AppError> {
    let (_, role) = auth::require_store_member(store_id).await?;
    require_owner(role)?;
    let e = ExceptionInput::parse(&day, "", "")?;
    let state = context::state()?;
    super::admin::delete_exception(&state.pool, store_id, e.day).await
}
