//! Proof of delivery by photo: the courier may add a picture of the hand-over (beside the
//! customer's PIN) or of the door after a failed attempt. One photo per order, at most
//! [`MAX_PHOTO_BYTES`] (the app shrinks it first), PNG/JPEG/WebP recognised by their bytes.
//! Seen by the customer who ordered, the courier who took it, the store's staff and operations.

use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::model::Role;
use crate::catalog::media::ImageKind;
use crate::error::AppError;

pub const MAX_PHOTO_BYTES: usize = 1024 * 1024;

/// Stores (or replaces) the courier's photo of an order they are delivering, delivered in
/// the last day, or could not deliver.
pub async fn save_photo(
    pool: &PgPool,
    courier_id: Uuid,
    order_id: Uuid,
    bytes: &[u8],
) -> Result<(), AppError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(AppError::request(
            "The photo is larger than 1 MiB: take it again at a lower size.",
        ));
    }
    let kind = ImageKind::sniff(bytes)
        .ok_or_else(|| AppError::request("Send a JPEG, PNG or WebP photo."))?;
    let order = sqlx::query!(
        r#"select status, courier_id, coalesce(delivered_at > now() - interval '1 day', false) as "recent!"
           from orders where id = $1"#,
        order_id
    )
    .fetch_optional(pool)
    .await?
    .filter(|o| o.courier_id == Some(courier_id))
    .ok_or(AppError::NotFound)?;
    let open = match order.status.as_str() {
        "delivering" | "delivery_failed" => true,
        "delivered" => order.recent,
        _ => false,
    };
    if !open {
        return Err(AppError::conflict(
            "A photo is taken at the door: after 'On my way', or within a day of delivering.",
        ));
    }
    sqlx::query!(
        "insert into delivery_photos (order_id, courier_id, content_type, bytes) values ($1, $2, $3, $4)
         on conflict (order_id) do update set content_type = excluded.content_type,
             bytes = excluded.bytes, at = now()",
        order_id,
        courier_id,
        kind.content_type(),
        bytes
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The photo and its content type, for someone allowed to see it; anyone else gets "not
/// found" (like a photo that does not exist).
pub async fn photo_for(
    pool: &PgPool,
    user_id: Uuid,
    role: Role,
    order_id: Uuid,
) -> Result<(String, Vec<u8>), AppError> {
    let row = sqlx::query!(
        r#"select p.content_type, p.bytes, o.customer_id, o.courier_id,
                  exists (select 1 from store_members m where m.store_id = o.store_id and m.user_id = $2)
                      as "member!"
           from delivery_photos p join orders o on o.id = p.order_id
           where p.order_id = $1"#,
        order_id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let allowed = match role {
        Role::Customer => row.customer_id == user_id,
        Role::Courier => row.courier_id == Some(user_id),
        Role::Merchant => row.member,
        Role::Ops => true,
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok((row.content_type, row.bytes))
}

/// Whether the order has a delivery photo (for the pages that show it).
pub async fn has_photo(pool: &PgPool, order_id: Uuid) -> Result<bool, AppError> {
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from delivery_photos where order_id = $1) as "has!""#,
        order_id
    )
    .fetch_one(pool)
    .await?)
}
