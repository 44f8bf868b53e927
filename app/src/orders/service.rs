//! Cart rules: only listed products, never more than is available, one cart per store.

use sqlx::PgPool;
use uuid::Uuid;

use super::db;
use super::model::CartQuantity;
use crate::error::AppError;

/// Sets how many of `product_id` the customer's cart holds (0 removes it). Returns the store.
pub async fn set_quantity(
    pool: &PgPool,
    customer_id: Uuid,
    product_id: Uuid,
    quantity: CartQuantity,
) -> Result<Uuid, AppError> {
    let mut tx = pool.begin().await?;
    let product = db::product_for_cart(&mut tx, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cart_id = db::cart_id(&mut *tx, customer_id, product.store_id).await?;
    if quantity.get() == 0 {
        db::remove_line(&mut tx, cart_id, product_id).await?;
    } else {
        if !product.listed {
            return Err(AppError::validation(
                "quantity",
                "This product is no longer sold by the store.",
            ));
        }
        if quantity.get() > product.available {
            let message = match product.available {
                n if n <= 0 => "Sold out: this product cannot be added right now.".to_string(),
                n => format!("Only {n} left: choose {n} or fewer."),
            };
            return Err(AppError::validation("quantity", message));
        }
        db::set_line(&mut *tx, cart_id, product_id, quantity.get()).await?;
    }
    tx.commit().await?;
    Ok(product.store_id)
}
