//! Store selection for a chain: a delivery goes to the branch of the chain that can take the
//! whole cart and delivers soonest, the customer sees which one before paying, and is told
//! before paying when none can.

mod common;

use common::shop::*;
use common::*;
use reqwest::StatusCode;
use sqlx::PgPool;

const JINGAN: &str = "songda-mart-jingan";
const PEOPLES_SQUARE: &str = "songda-mart-peoples-square";
/// ~450 m from the Jing'an branch, ~2.3 km from People's Square: both deliver there.
const NEAR_JINGAN: (&str, &str) = ("31.2250", "121.4500");
/// ~350 m from People's Square, ~2.4 km from Jing'an.
const NEAR_PEOPLES_SQUARE: (&str, &str) = ("31.2300", "121.4700");
const MILK: &str = "Bright milk";
const WATER: &str = "Spring water";

/// Both branches open around the clock, so the tests do not depend on the time of day.
async fn open_all_day(pool: &PgPool) {
    sqlx::raw_sql(
        "delete from store_hours where store_id in (select id from stores where slug like 'songda-mart-%');
         insert into store_hours (store_id, weekday, opens, closes)
         select s.id, d, '00:00', '24:00' from stores s, generate_series(1, 7) d
         where s.slug like 'songda-mart-%'",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// A customer at `at` with 2 milk and 3 water in the Jing'an cart; `milk` and `water` are the
/// stock levels per branch (Jing'an, People's Square).
async fn chain_shopper(
    app: &TestApp,
    pool: &PgPool,
    at: (&str, &str),
    milk: (i32, i32),
    water: (i32, i32),
) -> String {
    open_all_day(pool).await;
    for name in [MILK, WATER] {
        set_stock(pool, &product_of(pool, JINGAN, name).await, 10).await;
    }
    let cookie = app.login_as("customer").await;
    add_address(app, &cookie, at).await;
    set_cart(app, &cookie, &product_of(pool, JINGAN, MILK).await, "2").await;
    set_cart(app, &cookie, &product_of(pool, JINGAN, WATER).await, "3").await;
    // Stock moves after the cart was filled (other customers, the shelf count).
    for (slug, m, w) in [(JINGAN, milk.0, water.0), (PEOPLES_SQUARE, milk.1, water.1)] {
        set_stock(pool, &product_of(pool, slug, MILK).await, m).await;
        set_stock(pool, &product_of(pool, slug, WATER).await, w).await;
    }
    cookie
}

async fn reserved_at(pool: &PgPool, slug: &str) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(l.reserved), 0)::bigint from stock_levels l join stores s on s.id = l.store_id
         where s.slug = $1",
    )
    .bind(slug)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_cart_stays_with_its_branch_when_that_branch_has_everything_and_is_nearest(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    let cookie = chain_shopper(&app, &pool, NEAR_JINGAN, (10, 10), (10, 10)).await;
    let jingan = store_id(&pool, JINGAN).await;
    let (status, q) = quote(&app, &cookie, &jingan, &[]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["store_id"], jingan.as_str());
    assert!(q["store_choice"].is_null(), "{q}");
    assert_eq!(q["lines"].as_array().unwrap().len(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_branch_out_of_an_item_hands_the_order_to_the_branch_that_has_it(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    // Jing'an has water but no milk; People's Square has both.
    let cookie = chain_shopper(&app, &pool, NEAR_JINGAN, (0, 10), (10, 10)).await;
    let jingan = store_id(&pool, JINGAN).await;
    let square = store_id(&pool, PEOPLES_SQUARE).await;

    let (status, q) = quote(&app, &cookie, &jingan, &[]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["store_id"], square.as_str());
    let choice = q["store_choice"].as_str().unwrap();
    assert!(choice.contains("人民广场"), "{choice}");
    assert!(
        choice.contains("Bright milk 950ml sold out"),
        "the reason is given: {choice}"
    );
    // The lines are that branch's products at that branch's prices.
    let square_milk = product_of(&pool, PEOPLES_SQUARE, MILK).await;
    let lines = q["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["product_id"] == square_milk.as_str())
    );
    let square_price: i64 =
        sqlx::query_scalar("select price_fen from products where id = $1::uuid")
            .bind(&square_milk)
            .fetch_one(&pool)
            .await
            .unwrap();
    let line = lines
        .iter()
        .find(|l| l["product_id"] == square_milk.as_str())
        .unwrap();
    assert_eq!(line["unit_price"], square_price);

    // Checkout reserves at People's Square; paying empties the Jing'an cart.
    let s = Shopper {
        cookie: cookie.clone(),
        store: jingan.clone(),
        product: product_of(&pool, JINGAN, MILK).await,
    };
    let order_id = paid_order(&app, &pool, &s, "key-chain-order-1").await;
    let o = order(&app, &cookie, &order_id).await;
    assert_eq!(o["store_id"], square.as_str(), "{o}");
    let (on_hand, _) = stock(&pool, &square_milk).await;
    assert_eq!(on_hand, 8, "two milk came off People's Square");
    assert_eq!(reserved_at(&pool, JINGAN).await, 0);
    let (status, cart) = call(&app, "/api/store_cart", &[("store_id", &jingan)], &cookie).await;
    assert_eq!(status, StatusCode::OK, "{cart}");
    assert!(cart.is_null(), "the Jing'an cart was checked out: {cart}");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_branch_that_delivers_sooner_takes_the_order(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let cookie = chain_shopper(&app, &pool, NEAR_PEOPLES_SQUARE, (10, 10), (10, 10)).await;
    let jingan = store_id(&pool, JINGAN).await;
    let (status, q) = quote(&app, &cookie, &jingan, &[]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(
        q["store_id"],
        store_id(&pool, PEOPLES_SQUARE).await.as_str()
    );
    assert!(
        q["store_choice"]
            .as_str()
            .unwrap()
            .contains("delivers sooner"),
        "{q}"
    );

    // A backlog of paid orders waiting at People's Square sends it back to Jing'an.
    sqlx::query(
        "insert into orders (id, number, customer_id, store_id, status, fulfilment, contact_name,
                             contact_phone, items_fen, packaging_fen, delivery_fee_fen, surcharge_fen,
                             discount_fen, tip_fen, total_fen, eta_min, tracking_token, payment_expires_at)
         select gen_random_uuid(), 'SD-BACKLOG-' || n, u.id, s.id, 'accepted', 'pickup', 'x', 'x',
                100, 0, 0, 0, 0, 0, 100, 10, 'backlog-' || n, now()
         from generate_series(1, 10) n, stores s, users u
         where s.slug = 'songda-mart-peoples-square' and u.role = 'customer' limit 10",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (status, q) = quote(&app, &cookie, &jingan, &[]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["store_id"], jingan.as_str(), "{q}");
}

#[sqlx::test(migrations = "../migrations")]
async fn when_no_branch_has_everything_the_customer_is_told_before_paying(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    // Jing'an has no milk, People's Square has only 1 water: neither can take the cart.
    let cookie = chain_shopper(&app, &pool, NEAR_JINGAN, (0, 10), (10, 1)).await;
    let jingan = store_id(&pool, JINGAN).await;
    let (status, e) = quote(&app, &cookie, &jingan, &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("Sold out"), "{message}");
    assert!(message.contains("No other branch"), "{message}");
    assert_eq!(e["field"], "cart");
    assert_eq!(reserved_at(&pool, JINGAN).await, 0);
    assert_eq!(reserved_at(&pool, PEOPLES_SQUARE).await, 0);

    // Pickup is from the store the customer chose: no other branch is proposed.
    let (status, e) = quote(&app, &cookie, &jingan, &[("fulfilment", "pickup")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("Sold out"), "{message}");
    assert!(!message.contains("branch"), "{message}");
}
