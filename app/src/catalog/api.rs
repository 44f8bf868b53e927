//! Public endpoints for stores and catalog.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::{MemberStore, NearbyStore, SearchResults, StoreCard, StoreMenu, StoreStock};
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

/// A store's shelf for customers: its categories, and its listed products in one category
/// (or all) matching an optional search. Anyone may browse.
#[server(endpoint = "store_menu")]
pub async fn get_store_menu(
    store_id: Uuid,
    category_id: Option<Uuid>,
    q: String,
    page: u32,
) -> Result<StoreMenu, AppError> {
    // Public: browsing a store needs no account.
    let q = super::model::parse_search(&q)?;
    let state = context::state()?;
    let store = super::db::store_card(&state.pool, store_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let categories = super::db::category_tabs(&state.pool, store_id).await?;
    if let Some(c) = category_id
        && !categories.iter().any(|tab| tab.id == c)
    {
        return Err(AppError::NotFound);
    }
    let pattern = q.as_deref().map(super::db::contains_pattern);
    let filter = super::db::ProductFilter {
        store_id: Some(store_id),
        category_id,
        pattern: pattern.as_deref(),
    };
    let req = PageReq::new(page, 24);
    let (rows, total) = super::db::product_cards(&state.pool, &filter, req).await?;
    let products = req.wrap(rows.into_iter().map(|(card, _)| card).collect(), total);
    Ok(StoreMenu {
        store,
        categories,
        products,
    })
}

/// Search across the city: stores by name or kind, products by name (with their store).
#[server(endpoint = "search")]
pub async fn search(q: String, page: u32) -> Result<SearchResults, AppError> {
    // Public: searching needs no account.
    let Some(q) = super::model::parse_search(&q)? else {
        return Err(AppError::validation(
            "q",
            "Type what you are looking for, e.g. milk or 花.",
        ));
    };
    let state = context::state()?;
    let pattern = super::db::contains_pattern(&q);
    let stores = super::db::search_stores(&state.pool, &pattern, 6).await?;
    let filter = super::db::ProductFilter {
        store_id: None,
        category_id: None,
        pattern: Some(&pattern),
    };
    let req = PageReq::new(page, 24);
    let (products, total) = super::db::product_cards(&state.pool, &filter, req).await?;
    Ok(SearchResults {
        stores,
        products: req.wrap(products, total),
    })
}

/// Stores seen from a delivery point, nearest first: distance, whether they deliver there,
/// delivery fee and ETA. Stores out of range are listed as such, not hidden. Anyone may ask.
#[server(endpoint = "nearby_stores")]
pub async fn nearby_stores(
    lat: f64,
    lng: f64,
    kind: String,
    page: u32,
) -> Result<Page<NearbyStore>, AppError> {
    // Public: looking around needs no account.
    let here = crate::geo::GeoPoint::new(lat, lng)?;
    let kind = match kind.trim() {
        "" => None,
        k if super::model::KINDS.iter().any(|(id, _)| *id == k) => Some(k.to_string()),
        _ => {
            return Err(AppError::validation(
                "kind",
                "Choose one of the store kinds shown.",
            ));
        }
    };
    let state = context::state()?;
    let req = PageReq::new(page, 12);
    let (ids, total) =
        super::db::nearby_store_ids(&state.pool, here.lat, here.lng, kind.as_deref(), req).await?;
    let just_ids: Vec<Uuid> = ids.iter().map(|(id, _)| *id).collect();
    let mut cards = super::db::store_cards_by_id(&state.pool, &just_ids).await?;
    let items = ids
        .into_iter()
        .filter_map(|(id, distance)| {
            let at = cards.iter().position(|c| c.id == id)?;
            let store = cards.swap_remove(at);
            Some(NearbyStore {
                in_range: distance <= f64::from(store.delivery_radius_m),
                distance_m: distance.round() as i32,
                delivery_fee: crate::delivery::delivery_fee(distance),
                eta_min: crate::delivery::eta_minutes(store.prep_time_min, distance, 1.0),
                store,
            })
        })
        .collect();
    Ok(req.wrap(items, total))
}
