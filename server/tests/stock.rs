//! No oversell, whatever the concurrency: many checkouts at once on the real database,
//! through the same service functions every channel uses.

use std::time::Duration;

use app::error::AppError;
use app::orders::checkout::{self, IdempotencyKey};
use app::orders::lifecycle;
use app::orders::model::ActorKind;
use sqlx::PgPool;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(900);

async fn pharmacy(pool: &PgPool) -> Uuid {
    server::seed::seed_demo_city(pool).await.unwrap();
    sqlx::query_scalar("select id from stores where slug = 'kangjian-pharmacy-lujiazui'")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn products(pool: &PgPool, store: Uuid, n: i64, on_hand: i32) -> Vec<Uuid> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from products where store_id = $1 and listed order by id limit $2",
    )
    .bind(store)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap();
    sqlx::query("update stock_levels set on_hand = $2, reserved = 0 where product_id = any($1)")
        .bind(&ids)
        .bind(on_hand)
        .execute(pool)
        .await
        .unwrap();
    ids
}

async fn customers_with_carts(
    pool: &PgPool,
    store: Uuid,
    n: usize,
    lines: impl Fn(usize) -> Vec<(Uuid, i32)>,
) -> Vec<Uuid> {
    server::loadgen::customers_with_carts(pool, store, n, lines)
        .await
        .unwrap()
}

async fn quotes(pool: &PgPool, store: Uuid, customers: &[Uuid]) -> Vec<Uuid> {
    server::loadgen::pickup_quotes(pool, store, customers)
        .await
        .unwrap()
}

/// Every customer checks out at the same moment.
async fn checkout_all(
    pool: &PgPool,
    customers: &[Uuid],
    quotes: &[Uuid],
) -> Vec<Result<Uuid, AppError>> {
    let tasks: Vec<_> = customers
        .iter()
        .zip(quotes)
        .enumerate()
        .map(|(i, (c, q))| {
            let (pool, c, q) = (pool.clone(), *c, *q);
            tokio::spawn(async move {
                let key = IdempotencyKey::parse(&format!("load-key-{i:04}")).unwrap();
                checkout::place_order(&pool, c, q, &key, "", TTL)
                    .await
                    .map(|p| p.order_id)
            })
        })
        .collect();
    let all = async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("checkouts deadlocked or stalled")
}

async fn levels(pool: &PgPool, product: Uuid) -> (i32, i32) {
    sqlx::query_as("select on_hand, reserved from stock_levels where product_id = $1")
        .bind(product)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn held(pool: &PgPool, product: Uuid, state: &str) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(quantity), 0) from reservations where product_id = $1 and state = $2",
    )
    .bind(product)
    .bind(state)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn pay(pool: &PgPool, order_id: Uuid) {
    let mut tx = pool.begin().await.unwrap();
    let mut order = lifecycle::lock_order(&mut tx, order_id)
        .await
        .unwrap()
        .unwrap();
    lifecycle::mark_paid(&mut tx, &mut order, ActorKind::Provider)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn is_sold_out(e: &AppError) -> bool {
    matches!(e, AppError::Validation { field, message } if field == "cart"
        && (message.starts_with("Sold out") || message.starts_with("Only")))
}

#[sqlx::test(migrations = "../migrations")]
async fn two_hundred_checkouts_for_fifty_units_make_exactly_fifty_orders(pool: PgPool) {
    let store = pharmacy(&pool).await;
    let product = products(&pool, store, 1, 50).await[0];
    let customers = customers_with_carts(&pool, store, 200, |_| vec![(product, 1)]).await;
    let quotes = quotes(&pool, store, &customers).await;
    let results = checkout_all(&pool, &customers, &quotes).await;

    let placed: Vec<Uuid> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(placed.len(), 50);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(is_sold_out(e), "{e:?}");
    }
    assert_eq!(levels(&pool, product).await, (50, 50));

    // Pay 20 and cancel 10 of the unpaid: reserved + sold + released = 50, never negative.
    for id in &placed[..20] {
        pay(&pool, *id).await;
    }
    for (id, customer) in placed[20..30].iter().map(|id| {
        let i = results
            .iter()
            .position(|r| r.as_ref().ok() == Some(id))
            .unwrap();
        (*id, customers[i])
    }) {
        lifecycle::cancel_by_customer(&pool, customer, id, "test")
            .await
            .unwrap();
    }
    let (on_hand, reserved) = levels(&pool, product).await;
    let sold = held(&pool, product, "committed").await;
    let released = held(&pool, product, "released").await;
    assert_eq!((on_hand, reserved, sold, released), (30, 20, 20, 10));
    assert_eq!(i64::from(reserved) + sold + released, 50);
    assert_eq!(i64::from(reserved), held(&pool, product, "held").await);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_last_unit_goes_to_exactly_one_of_two_hundred(pool: PgPool) {
    let store = pharmacy(&pool).await;
    let product = products(&pool, store, 1, 1).await[0];
    let customers = customers_with_carts(&pool, store, 200, |_| vec![(product, 1)]).await;
    let quotes = quotes(&pool, store, &customers).await;
    let results = checkout_all(&pool, &customers, &quotes).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(is_sold_out(e), "{e:?}");
        assert!(e.to_string().contains("Sold out"), "{e}");
    }
    assert_eq!(levels(&pool, product).await, (1, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn one_product_on_two_lines_counts_once_against_stock(pool: PgPool) {
    let store = pharmacy(&pool).await;
    let product = products(&pool, store, 1, 5).await[0];
    let customer = customers_with_carts(&pool, store, 1, |_| vec![(product, 3)]).await[0];
    let quote = quotes(&pool, store, &[customer]).await[0];
    // A channel (or a tampered quote) sends the same product twice: 3 + 3 > 5.
    sqlx::query("update quotes set lines = lines || lines where id = $1")
        .bind(quote)
        .execute(&pool)
        .await
        .unwrap();
    let key = IdempotencyKey::parse("two-lines-key").unwrap();
    let err = checkout::place_order(&pool, customer, quote, &key, "", TTL)
        .await
        .unwrap_err();
    assert!(is_sold_out(&err), "{err:?}");
    assert_eq!(levels(&pool, product).await, (5, 0), "nothing held");
}

#[sqlx::test(migrations = "../migrations")]
async fn carts_listing_products_in_opposite_orders_never_deadlock(pool: PgPool) {
    let store = pharmacy(&pool).await;
    let ids = products(&pool, store, 2, 1000).await;
    let (a, b) = (ids[0], ids[1]);
    let customers = customers_with_carts(&pool, store, 200, |i| {
        if i.is_multiple_of(2) {
            vec![(a, 1), (b, 1)]
        } else {
            vec![(b, 1), (a, 1)]
        }
    })
    .await;
    let quotes = quotes(&pool, store, &customers).await;
    let results = checkout_all(&pool, &customers, &quotes).await;
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(levels(&pool, a).await, (1000, 200));
    assert_eq!(levels(&pool, b).await, (1000, 200));
}

#[sqlx::test(migrations = "../migrations")]
async fn mixed_carts_payments_and_cancellations_keep_stock_exact(pool: PgPool) {
    let store = pharmacy(&pool).await;
    let ids = products(&pool, store, 3, 30).await;
    // A deterministic mix: each customer wants 1–2 of a rotating subset of the three.
    let lines = |i: usize| -> Vec<(Uuid, i32)> {
        (0..3)
            .filter(|k| !(i + k).is_multiple_of(3) || i.is_multiple_of(5))
            .map(|k| (ids[(i + k) % 3], 1 + (i % 2) as i32))
            .collect()
    };
    let customers = customers_with_carts(&pool, store, 120, lines).await;
    let quotes = quotes(&pool, store, &customers).await;
    let results = checkout_all(&pool, &customers, &quotes).await;
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(is_sold_out(e), "{e:?}");
    }
    let placed: Vec<(usize, Uuid)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|id| (i, *id)))
        .collect();
    assert!(placed.len() > 10, "some orders succeed: {}", placed.len());
    // Pay every other one and cancel every third, concurrently.
    let tasks: Vec<_> = placed
        .iter()
        .map(|(i, id)| {
            let (pool, id, i, customer) = (pool.clone(), *id, *i, customers[*i]);
            tokio::spawn(async move {
                if i.is_multiple_of(2) {
                    pay(&pool, id).await;
                }
                if i.is_multiple_of(3) {
                    lifecycle::cancel_by_customer(&pool, customer, id, "test")
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for p in ids {
        let (on_hand, reserved) = levels(&pool, p).await;
        let held_now = held(&pool, p, "held").await;
        let sold = held(&pool, p, "committed").await;
        assert_eq!(
            i64::from(reserved),
            held_now,
            "reserved = what unpaid orders hold"
        );
        assert_eq!(
            i64::from(on_hand),
            30 - sold,
            "on hand = start − sold (cancelled paid orders restock)"
        );
        assert!(reserved <= on_hand && on_hand >= 0);
    }
}
