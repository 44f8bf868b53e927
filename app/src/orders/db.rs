//! SQL for carts. No business rules here.

use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::model::{CartLine, CartView};
use crate::catalog::model::StockState;
use crate::money::Money;

pub struct ProductForCart {
    pub store_id: Uuid,
    pub listed: bool,
    pub available: i32,
}

/// The product and what is left of it, with its stock row locked while the cart changes.
pub async fn product_for_cart(
    tx: &mut Transaction<'_, Postgres>,
    product_id: Uuid,
) -> Result<Option<ProductForCart>, sqlx::Error> {
    sqlx::query_as!(
        ProductForCart,
        r#"select p.store_id, p.listed, coalesce(s.on_hand - s.reserved, 0) as "available!"
           from products p
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.id = $1
           for update of p"#,
        product_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The customer's cart for this store, created when missing.
pub async fn cart_id(
    db: impl PgExecutor<'_>,
    customer_id: Uuid,
    store_id: Uuid,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into carts (id, customer_id, store_id) values ($1, $2, $3)
         on conflict (customer_id, store_id) do update set updated_at = now()
         returning id",
        Uuid::now_v7(),
        customer_id,
        store_id
    )
    .fetch_one(db)
    .await
}

pub async fn set_line(
    db: impl PgExecutor<'_>,
    cart_id: Uuid,
    product_id: Uuid,
    quantity: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into cart_items (cart_id, product_id, quantity) values ($1, $2, $3)
         on conflict (cart_id, product_id) do update set quantity = excluded.quantity",
        cart_id,
        product_id,
        quantity
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Removes a line; an emptied cart is removed too.
pub async fn remove_line(
    tx: &mut Transaction<'_, Postgres>,
    cart_id: Uuid,
    product_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from cart_items where cart_id = $1 and product_id = $2",
        cart_id,
        product_id
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "delete from carts c where c.id = $1 and not exists (select 1 from cart_items i where i.cart_id = c.id)",
        cart_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The customer's carts (one store, or all), newest first, with current prices and stock.
pub async fn carts(
    pool: &PgPool,
    customer_id: Uuid,
    store_id: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CartView>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from carts where customer_id = $1 and ($2::uuid is null or store_id = $2)"#,
        customer_id,
        store_id
    )
    .fetch_one(pool)
    .await?;
    let carts = sqlx::query!(
        r#"select c.id, c.store_id, s.name as store_name
           from carts c join stores s on s.id = c.store_id
           where c.customer_id = $1 and ($2::uuid is null or c.store_id = $2)
           order by c.updated_at desc, c.id
           limit $3 offset $4"#,
        customer_id,
        store_id,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = carts.iter().map(|c| c.id).collect();
    let lines = sqlx::query!(
        r#"select i.cart_id, i.product_id, i.quantity, p.name, p.unit, p.price_fen, p.listed,
                  coalesce(s.on_hand, 0) as "on_hand!", coalesce(s.reserved, 0) as "reserved!"
           from cart_items i
           join products p on p.id = i.product_id
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where i.cart_id = any($1)
           order by i.added_at, p.name"#,
        &ids
    )
    .fetch_all(pool)
    .await?;
    let views = carts
        .into_iter()
        .map(|c| {
            let lines: Vec<CartLine> = lines
                .iter()
                .filter(|l| l.cart_id == c.id)
                .map(|l| {
                    let price = Money::from_fen(l.price_fen);
                    CartLine {
                        product_id: l.product_id,
                        name: l.name.clone(),
                        unit: l.unit.clone(),
                        price,
                        quantity: l.quantity,
                        line_total: Money::from_fen(l.price_fen * i64::from(l.quantity)),
                        stock: StockState::from_levels(l.on_hand, l.reserved),
                        orderable: l.listed && l.on_hand - l.reserved >= l.quantity,
                    }
                })
                .collect();
            CartView {
                store_id: c.store_id,
                store_name: c.store_name,
                items: lines.iter().map(|l| l.quantity).sum(),
                subtotal: Money::from_fen(lines.iter().map(|l| l.line_total.fen()).sum()),
                lines,
            }
        })
        .collect();
    Ok((views, total))
}
