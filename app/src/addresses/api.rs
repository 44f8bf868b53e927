//! Public endpoints for addresses. Each authorizes on its first line; customers only ever
//! see and change their own.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::{Address, Place};
use crate::error::AppError;
use crate::page::Page;

#[cfg(feature = "ssr")]
use crate::{accounts::auth, accounts::model::Role, context, geo::GeoPoint, page::PageReq};

#[cfg(feature = "ssr")]
struct AddressRow {
    id: Uuid,
    label: String,
    contact_name: String,
    phone: String,
    detail: String,
    lat: f64,
    lng: f64,
}

#[cfg(feature = "ssr")]
impl From<AddressRow> for Address {
    fn from(r: AddressRow) -> Self {
        Address {
            id: r.id,
            label: r.label,
            contact_name: r.contact_name,
            phone_masked: crate::accounts::model::mask_phone(&r.phone),
            detail: r.detail,
            point: GeoPoint {
                lat: r.lat,
                lng: r.lng,
            },
        }
    }
}

/// Saves a delivery address at a point the customer chose (their location, or the map).
#[server(endpoint = "add_address")]
pub async fn add_address(
    label: String,
    contact_name: String,
    phone: String,
    detail: String,
    lat: f64,
    lng: f64,
) -> Result<Address, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let label = super::model::parse_text("label", "a label such as Home or Office", &label, 20)?;
    let contact_name =
        super::model::parse_text("contact_name", "the contact's name", &contact_name, 40)?;
    let phone = crate::accounts::model::parse_contact_phone(&phone)?;
    let detail = super::model::parse_text("detail", "building, floor and door", &detail, 120)?;
    let point = GeoPoint::new(lat, lng)?;
    let state = context::state()?;
    let row = sqlx::query_as!(
        AddressRow,
        "insert into addresses (id, customer_id, label, contact_name, phone, detail, lat, lng)
         select $1, $2, $3, $4, $5, $6, $7, $8
         where (select count(*) from addresses where customer_id = $2) < 50
         returning id, label, contact_name, phone, detail, lat, lng",
        Uuid::now_v7(),
        user.id,
        label,
        contact_name,
        phone,
        detail,
        point.lat,
        point.lng
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| {
        AppError::validation("label", "You have 50 saved addresses: delete one first.")
    })?;
    Ok(row.into())
}

/// The caller's saved addresses, newest first.
#[server(endpoint = "my_addresses")]
pub async fn my_addresses(page: u32) -> Result<Page<Address>, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    let req = PageReq::new(page, 10);
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from addresses where customer_id = $1"#,
        user.id
    )
    .fetch_one(&state.pool)
    .await?;
    let rows = sqlx::query_as!(
        AddressRow,
        "select id, label, contact_name, phone, detail, lat, lng from addresses
         where customer_id = $1 order by created_at desc, id limit $2 offset $3",
        user.id,
        req.limit(),
        req.offset()
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(req.wrap(rows.into_iter().map(Address::from).collect(), total))
}

/// Deletes one of the caller's addresses (another customer's address is "not found").
#[server(endpoint = "delete_address")]
pub async fn delete_address(id: Uuid) -> Result<(), AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    let done = sqlx::query!(
        "delete from addresses where id = $1 and customer_id = $2",
        id,
        user.id
    )
    .execute(&state.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Finds places by text (the configured geocoder); the customer then refines on the map.
#[server(endpoint = "search_places")]
pub async fn search_places(query: String) -> Result<Vec<Place>, AppError> {
    auth::require_user().await?;
    let query = super::model::parse_text("query", "a street, building or area", &query, 60)?;
    let state = context::state()?;
    state
        .geocoder
        .search(&query, None, 8)
        .await
        .map_err(AppError::internal)
}
