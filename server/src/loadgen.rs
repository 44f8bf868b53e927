//! Synthetic customers with filled carts, for the concurrency tests and the checkout
//! benchmark (and later the simulator): many buyers at one store at once.

use sqlx::PgPool;
use uuid::Uuid;

use app::money::Money;
use app::orders::checkout::{self, QuoteRequest};
use app::orders::model::Fulfilment;

/// `n` customers (accounts that cannot log in), each with a cart at `store` holding
/// `lines(i)` in that order.
pub async fn customers_with_carts(
    pool: &PgPool,
    store: Uuid,
    n: usize,
    lines: impl Fn(usize) -> Vec<(Uuid, i32)>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::now_v7();
        sqlx::query!(
            "insert into users (id, email, display_name, password_hash, role)
             values ($1, $2, $3, 'not a hash: synthetic accounts never log in', 'customer')",
            id,
            format!("load-{id}@songda.test"),
            format!("Load {i}")
        )
        .execute(pool)
        .await?;
        let cart = Uuid::now_v7();
        sqlx::query!(
            "insert into carts (id, customer_id, store_id) values ($1, $2, $3)",
            cart,
            id,
            store
        )
        .execute(pool)
        .await?;
        for (k, (product, qty)) in lines(i).into_iter().enumerate() {
            sqlx::query!(
                "insert into cart_items (cart_id, product_id, quantity, added_at)
                 values ($1, $2, $3, now() + make_interval(secs => $4))",
                cart,
                product,
                qty,
                k as f64
            )
            .execute(pool)
            .await?;
        }
        out.push(id);
    }
    Ok(out)
}

/// A store-pickup quote for each customer's cart.
pub async fn pickup_quotes(
    pool: &PgPool,
    store: Uuid,
    customers: &[Uuid],
) -> Result<Vec<Uuid>, app::error::AppError> {
    let mut out = Vec::with_capacity(customers.len());
    for c in customers {
        let q = checkout::quote(
            pool,
            *c,
            QuoteRequest {
                store_id: store,
                fulfilment: Fulfilment::Pickup,
                address_id: None,
                slot: None,
                tip: Money::ZERO,
            },
        )
        .await?;
        out.push(q.id);
    }
    Ok(out)
}
