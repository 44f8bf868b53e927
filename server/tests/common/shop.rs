//! Shopping through the real router, for tests that need paid orders: a customer with an
//! address and a cart at the 24-hour pharmacy, quotes, checkout, sandbox payment, polling.

use std::time::Duration;

use app::state::Settings;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use super::*;

pub const PHARMACY: &str = "kangjian-pharmacy-lujiazui";
/// A point in Lujiazui ~600 m from the 24-hour pharmacy (always open: tests do not depend on
/// the time of day).
pub const NEAR: (&str, &str) = ("31.2352", "121.5040");

pub fn secret() -> Vec<u8> {
    b"test-sandbox-secret".to_vec()
}

pub async fn spawn(pool: PgPool) -> TestApp {
    spawn_with(
        pool,
        Settings {
            sandbox_secret: secret(),
            ..Settings::default()
        },
    )
    .await
}

pub async fn call(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    cookie: &str,
) -> (StatusCode, Value) {
    json(app.post(path, form, Some(cookie)).await).await
}

pub async fn stock(pool: &PgPool, product: &str) -> (i32, i32) {
    sqlx::query_as("select on_hand, reserved from stock_levels where product_id = $1::uuid")
        .bind(product)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn set_stock(pool: &PgPool, product: &str, on_hand: i32) {
    sqlx::query("update stock_levels set on_hand = $2, reserved = 0 where product_id = $1::uuid")
        .bind(product)
        .bind(on_hand)
        .execute(pool)
        .await
        .unwrap();
}

pub async fn add_address(app: &TestApp, cookie: &str, (lat, lng): (&str, &str)) -> String {
    let form = [
        ("label", "Home"),
        ("contact_name", "Li Na"),
        ("phone", "13912345678"),
        ("detail", "Room 1203, Building 5"),
        ("lat", lat),
        ("lng", lng),
    ];
    let (status, a) = call(app, "/api/add_address", &form, cookie).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    a["id"].as_str().unwrap().to_string()
}

pub async fn set_cart(app: &TestApp, cookie: &str, product: &str, qty: &str) {
    let (status, body) = call(
        app,
        "/api/set_cart_quantity",
        &[("product_id", product), ("quantity", qty)],
        cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

pub async fn quote(
    app: &TestApp,
    cookie: &str,
    store: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut f = vec![
        ("store_id", store),
        ("tip_fen", "0"),
        ("fulfilment", "delivery"),
    ];
    for (k, v) in form {
        f.retain(|(kk, _)| kk != k);
        f.push((k, v));
    }
    call(app, "/api/get_quote", &f, cookie).await
}

pub async fn place(
    app: &TestApp,
    cookie: &str,
    quote_id: &str,
    key: &str,
    notes: &str,
) -> (StatusCode, Value) {
    call(
        app,
        "/api/place_order",
        &[
            ("quote_id", quote_id),
            ("idempotency_key", key),
            ("notes", notes),
        ],
        cookie,
    )
    .await
}

/// A logged-in customer with one ibuprofen box in the pharmacy cart and an address nearby.
pub struct Shopper {
    pub cookie: String,
    pub store: String,
    pub product: String,
}

pub async fn shopper(app: &TestApp, pool: &PgPool) -> Shopper {
    let cookie = app.login_as("customer").await;
    let store = store_id(pool, PHARMACY).await;
    let product = product_of(pool, PHARMACY, "ibuprofen").await;
    set_stock(pool, &product, 10).await;
    add_address(app, &cookie, NEAR).await;
    set_cart(app, &cookie, &product, "2").await;
    Shopper {
        cookie,
        store,
        product,
    }
}

pub async fn checkout(app: &TestApp, s: &Shopper, key: &str) -> String {
    let (status, q) = quote(app, &s.cookie, &s.store, &[]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let (status, placed) = place(app, &s.cookie, q["id"].as_str().unwrap(), key, "").await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    placed["order_id"].as_str().unwrap().to_string()
}

pub async fn order(app: &TestApp, cookie: &str, id: &str) -> Value {
    let (status, o) = call(app, "/api/get_order", &[("order_id", id)], cookie).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    o
}

/// Starts a payment and returns (sandbox id, our payment id).
pub async fn start_payment(
    app: &TestApp,
    pool: &PgPool,
    cookie: &str,
    order_id: &str,
) -> (String, String) {
    let (status, url) = call(app, "/api/start_payment", &[("order_id", order_id)], cookie).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    let sandbox_id = url
        .as_str()
        .unwrap()
        .strip_prefix("/sandbox-pay/")
        .unwrap()
        .to_string();
    let payment: String =
        sqlx::query_scalar("select merchant_ref::text from sandbox_payments where id = $1::uuid")
            .bind(&sandbox_id)
            .fetch_one(pool)
            .await
            .unwrap();
    (sandbox_id, payment)
}

/// Polls until `done` holds for the value `read` returns (work the server finishes in the
/// background: a notification over HTTP, a refund in the outbox) and returns that value.
pub async fn eventually<T, F, Fut>(what: &str, read: F, done: impl Fn(&T) -> bool) -> T
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    eventually_within(Duration::from_secs(5), what, read, done).await
}

/// [`eventually`] for slower processes (a simulated city): gives up after `limit`.
pub async fn eventually_within<T, F, Fut>(
    limit: Duration,
    what: &str,
    mut read: F,
    done: impl Fn(&T) -> bool,
) -> T
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {what}: {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An unpaid order's payment deadline passes (instead of sleeping through a short TTL).
pub async fn payment_deadline_passes(pool: &PgPool, order_id: &str) {
    sqlx::query(
        "update orders set payment_expires_at = now() - interval '1 second' where id = $1::uuid",
    )
    .bind(order_id)
    .execute(pool)
    .await
    .unwrap();
}

pub async fn wait_for_status(app: &TestApp, cookie: &str, id: &str, status: &str) -> Value {
    eventually(
        &format!("became {status}"),
        || order(app, cookie, id),
        |o| o["status"] == status,
    )
    .await
}

/// Checks out the shopper's cart and pays it in the sandbox: the order is `placed`.
pub async fn paid_order(app: &TestApp, pool: &PgPool, s: &Shopper, key: &str) -> String {
    let order_id = checkout(app, s, key).await;
    let (sandbox_id, _) = start_payment(app, pool, &s.cookie, &order_id).await;
    let (status, body) = call(
        app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_for_status(app, &s.cookie, &order_id, "placed").await;
    order_id
}

/// A merchant account working at the pharmacy (the demo merchant does not): logs in and
/// returns its cookie.
pub async fn pharmacist(app: &TestApp, pool: &PgPool) -> String {
    let res = app
        .post(
            "/api/signup",
            &[
                ("login", "13700001111"),
                ("password", "pharmacy counter"),
                ("display_name", "Pharmacist Wang"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    sqlx::query(
        "update users set role = 'merchant' where phone = '13700001111' or email = '13700001111'",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into store_members (store_id, user_id, role)
         select s.id, u.id, 'staff' from stores s, users u
         where s.slug = $1 and u.role = 'merchant' and u.display_name = 'Pharmacist Wang'",
    )
    .bind(PHARMACY)
    .execute(pool)
    .await
    .unwrap();
    app.login("13700001111", "pharmacy counter").await
}

/// Store staff accept the shopper's order (5 min), pick its one line and mark it ready.
pub async fn pack(app: &TestApp, staff: &str, order_id: &str, product: &str) {
    for (path, form) in [
        (
            "/api/accept_order",
            vec![("order_id", order_id), ("prep_min", "5")],
        ),
        (
            "/api/tick_pick_line",
            vec![
                ("order_id", order_id),
                ("product_id", product),
                ("picked", "true"),
            ],
        ),
        ("/api/mark_order_ready", vec![("order_id", order_id)]),
    ] {
        let (status, body) = call(app, path, &form, staff).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}
