//! Ordering through the real router: quote → checkout → sandbox payment (a real signed HTTP
//! notification back to the server) → order page and live feed, plus every refusal.

mod common;

use std::time::Duration;

use app::payments::sandbox;
use app::state::Settings;
use common::shop::*;
use common::*;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn a_customer_quotes_checks_out_pays_in_the_sandbox_and_the_stock_follows(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;

    let (status, q) = quote(&app, &s.cookie, &s.store, &[("tip_fen", "500")]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    // 2 × ¥25.80 + ¥3 delivery (under 1 km) + ¥5 tip; the pharmacy has no packaging fee.
    assert_eq!(q["totals"]["items"], 5160);
    assert_eq!(q["totals"]["delivery_fee"], 300);
    assert_eq!(q["totals"]["tip"], 500);
    assert_eq!(q["totals"]["total"], 5960);
    assert!(q["eta_min"].as_i64().unwrap() >= 5);
    assert!(
        q["address_id"].is_string(),
        "the latest address is the default"
    );

    let quote_id = q["id"].as_str().unwrap();
    let (status, placed) =
        place(&app, &s.cookie, quote_id, "key-first-order-1", "ring twice").await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    let order_id = placed["order_id"].as_str().unwrap().to_string();
    assert!(placed["number"].as_str().unwrap().starts_with("SD-"));
    assert_eq!(
        stock(&pool, &s.product).await,
        (10, 2),
        "reserved, not sold"
    );

    // A double click or a retry: the same order, nothing reserved twice.
    let (status, again) = place(&app, &s.cookie, quote_id, "key-first-order-1", "ring twice").await;
    assert_eq!(
        (status, &again["order_id"]),
        (StatusCode::OK, &placed["order_id"])
    );
    assert_eq!(stock(&pool, &s.product).await, (10, 2));
    // The same key with another body is refused.
    let (status, err) = place(
        &app,
        &s.cookie,
        quote_id,
        "key-first-order-1",
        "other notes",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["field"], "idempotency_key");
    // A new key for an already-ordered quote says so.
    let (status, err) = place(&app, &s.cookie, quote_id, "key-first-order-2", "ring twice").await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");

    let o = order(&app, &s.cookie, &order_id).await;
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(o["totals"]["total"], 5960);
    assert_eq!(o["notes"], "ring twice");
    assert_eq!(o["contact_phone_masked"], "139****5678");

    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    let (status, page) = call(
        &app,
        "/api/sandbox_payment",
        &[("id", &sandbox_id)],
        &s.cookie,
    )
    .await;
    assert_eq!(
        (status, &page["amount"]),
        (StatusCode::OK, &Value::from(5960))
    );
    let (status, back) = call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back, format!("/orders/{order_id}"));

    let o = wait_for_status(&app, &s.cookie, &order_id, "placed").await;
    assert_eq!(
        stock(&pool, &s.product).await,
        (8, 0),
        "sold: off the shelf and out of reserved"
    );
    let statuses: Vec<&str> = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending_payment", "placed"]);
    assert!(o["eta_local"].is_string());
    // The cart lines it bought are gone.
    let (_, carts) = call(&app, "/api/my_carts", &[("page", "1")], &s.cookie).await;
    assert_eq!(carts["total"], 0, "{carts}");
    // Deciding twice is refused by the sandbox.
    let (status, _) = call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        "/api/start_payment",
        &[("order_id", &order_id)],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing left to pay");

    let (_, history) = call(&app, "/api/my_orders", &[("page", "1")], &s.cookie).await;
    assert_eq!(history["total"], 1);
    assert_eq!(history["items"][0]["items"], 2);
}

fn notification(payment_id: &str, sandbox_id: &str, amount: i64, outcome: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "payment_id": payment_id, "provider_ref": sandbox_id, "amount_fen": amount,
        "outcome": outcome, "reason": null
    }))
    .unwrap()
}

async fn notify(app: &TestApp, body: &[u8], signature: &str) -> StatusCode {
    client()
        .post(format!("{}/api/v1/payments/sandbox/notify", app.base))
        .header(sandbox::SIGNATURE_HEADER, signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

#[sqlx::test(migrations = "../migrations")]
async fn notifications_are_verified_fresh_and_applied_once(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-notify-1").await;
    let (sandbox_id, payment_id) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    let amount: i64 = order(&app, &s.cookie, &order_id).await["totals"]["total"]
        .as_i64()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let body = notification(&payment_id, &sandbox_id, amount, "succeeded");

    // Forged: signed with another key; stale: signed 6 minutes ago; tampered amount.
    let forged = sandbox::sign(b"not-the-secret", now, &body);
    assert_eq!(notify(&app, &body, &forged).await, StatusCode::UNAUTHORIZED);
    let stale = sandbox::sign(&secret(), now - 360, &body);
    assert_eq!(notify(&app, &body, &stale).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        notify(&app, &body, "t=1,v1=zz").await,
        StatusCode::UNAUTHORIZED
    );
    let cheap = notification(&payment_id, &sandbox_id, 1, "succeeded");
    assert_eq!(
        notify(&app, &cheap, &sandbox::sign(&secret(), now, &cheap)).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        order(&app, &s.cookie, &order_id).await["status"],
        "pending_payment"
    );

    // Delivered twice (and before the payer is back): paid once.
    let good = sandbox::sign(&secret(), now, &body);
    assert_eq!(notify(&app, &body, &good).await, StatusCode::OK);
    assert_eq!(notify(&app, &body, &good).await, StatusCode::OK);
    let o = order(&app, &s.cookie, &order_id).await;
    assert_eq!(o["status"], "placed");
    let placed = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "placed")
        .count();
    assert_eq!(placed, 1);
    assert_eq!(
        stock(&pool, &s.product).await,
        (8, 0),
        "stock committed once"
    );
    let outcomes: Vec<String> =
        sqlx::query_scalar("select outcome from payment_notifications order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    // Verified notifications are kept for audit; unsigned ones are only logged (anyone can POST).
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert!(outcomes[0].starts_with("refused"), "{outcomes:?}");
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        1,
        "{outcomes:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_payment_keeps_the_cart_and_can_be_retried(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-fail-1").await;
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    let (status, _) = call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "false")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let o = eventually(
        "saw the failed payment",
        || order(&app, &s.cookie, &order_id),
        |o| o["payment"]["status"] == "failed",
    )
    .await;
    assert_eq!(o["status"], "pending_payment");
    assert!(
        o["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"].as_str().unwrap().starts_with("Payment failed"))
    );
    assert_eq!(
        stock(&pool, &s.product).await,
        (10, 2),
        "still held for the retry"
    );
    let (_, carts) = call(&app, "/api/my_carts", &[("page", "1")], &s.cookie).await;
    assert_eq!(carts["total"], 1, "the cart is kept");

    let (retry, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &retry), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    wait_for_status(&app, &s.cookie, &order_id, "placed").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn unpaid_orders_expire_and_give_their_stock_back(pool: PgPool) {
    let app = spawn_with(
        pool.clone(),
        Settings {
            sandbox_secret: secret(),
            payment_ttl: Duration::from_secs(7 * 60),
            ..Settings::default()
        },
    )
    .await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-expire-1").await;
    assert_eq!(stock(&pool, &s.product).await, (10, 2));
    let ttl: i32 = sqlx::query_scalar(
        "select extract(epoch from payment_expires_at - created_at)::int from orders where id = $1::uuid",
    )
    .bind(&order_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(ttl, 7 * 60, "the configured payment TTL");
    assert_eq!(
        app::payments::service::expire_unpaid(&pool, &app.state.payments)
            .await
            .unwrap(),
        0,
        "not before its deadline"
    );
    payment_deadline_passes(&pool, &order_id).await;
    let payments = &app.state.payments;
    assert_eq!(
        app::payments::service::expire_unpaid(&pool, payments)
            .await
            .unwrap(),
        1
    );
    let o = order(&app, &s.cookie, &order_id).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(stock(&pool, &s.product).await, (10, 0));
    let (status, err) = call(
        &app,
        "/api/start_payment",
        &[("order_id", &order_id)],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(
        app::payments::service::expire_unpaid(&pool, payments)
            .await
            .unwrap(),
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_payment_that_succeeded_but_was_never_notified_is_found_before_expiry(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-lost-1").await;
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    // The provider took the money but its notification never arrived.
    sqlx::query("update sandbox_payments set status = 'succeeded' where id = $1::uuid")
        .bind(&sandbox_id)
        .execute(&pool)
        .await
        .unwrap();
    payment_deadline_passes(&pool, &order_id).await;
    assert_eq!(
        app::payments::service::expire_unpaid(&pool, &app.state.payments)
            .await
            .unwrap(),
        0
    );
    assert_eq!(order(&app, &s.cookie, &order_id).await["status"], "placed");
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_before_the_store_accepts_refunds_in_full_and_restocks(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-cancel-1").await;
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let o = wait_for_status(&app, &s.cookie, &order_id, "placed").await;
    let total = o["totals"]["total"].as_i64().unwrap();
    assert_eq!(stock(&pool, &s.product).await, (8, 0));

    let (status, o) = call(
        &app,
        "/api/cancel_order",
        &[("order_id", &order_id), ("reason", "changed my mind")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(stock(&pool, &s.product).await, (10, 0), "back on the shelf");
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    let o = wait_for_status(&app, &s.cookie, &order_id, "refunded").await;
    let refunded: i64 =
        sqlx::query_scalar("select refunded_fen from sandbox_payments where id = $1::uuid")
            .bind(&sandbox_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(refunded, total, "full refund at the provider");
    let last = o["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "refunded");
    // Cancelling again is refused with a reason.
    let (status, _) = call(
        &app,
        "/api/cancel_order",
        &[("order_id", &order_id), ("reason", "")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Once accepted, cancelling is a request.
    set_cart(&app, &s.cookie, &s.product, "1").await;
    let second = checkout(&app, &s, "key-cancel-2").await;
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &second).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    wait_for_status(&app, &s.cookie, &second, "placed").await;
    sqlx::query("update orders set status = 'accepted' where id = $1::uuid")
        .bind(&second)
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = call(
        &app,
        "/api/cancel_order",
        &[("order_id", &second), ("reason", "")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        err["message"].as_str().unwrap().contains("ask the store"),
        "{err}"
    );
    let (status, o) = call(
        &app,
        "/api/request_cancel",
        &[("order_id", &second), ("reason", "too late")],
        &s.cookie,
    )
    .await;
    assert_eq!(
        (status, &o["open_cancel_request"]),
        (StatusCode::OK, &Value::Bool(true))
    );
    let (status, _) = call(
        &app,
        "/api/request_cancel",
        &[("order_id", &second), ("reason", "again")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "one open request at a time");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_checkouts_get_a_clear_message_and_reserve_nothing(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let reserved = || async {
        sqlx::query_scalar::<_, i64>("select coalesce(sum(reserved), 0) from stock_levels")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = reserved().await;

    // Far away: outside the 5 km radius of the pharmacy.
    let far = add_address(&app, &s.cookie, ("31.1500", "121.3500")).await;
    let (status, err) = quote(&app, &s.cookie, &s.store, &[("address_id", &far)]).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address")),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("store pickup"),
        "{err}"
    );
    sqlx::query("delete from addresses where id = $1::uuid")
        .bind(&far)
        .execute(&pool)
        .await
        .unwrap();
    // Someone else's address is not a choice.
    let res = app
        .post(
            "/api/signup",
            &[
                ("login", "13700002222"),
                ("password", "correct horse"),
                ("display_name", "Zhao"),
            ],
            None,
        )
        .await;
    let other = session_cookie(res.headers()).unwrap();
    let theirs = add_address(&app, &other, NEAR).await;
    let (status, err) = quote(&app, &s.cookie, &s.store, &[("address_id", &theirs)]).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address")),
        "{err}"
    );
    // A tip on a pickup order, a tip out of bounds.
    let (status, err) = quote(
        &app,
        &s.cookie,
        &s.store,
        &[("fulfilment", "pickup"), ("tip_fen", "100")],
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("tip"))
    );
    let (status, _) = quote(&app, &s.cookie, &s.store, &[("tip_fen", "99999")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = quote(&app, &s.cookie, &s.store, &[("fulfilment", "drone")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A slot that does not exist.
    let (status, err) = quote(
        &app,
        &s.cookie,
        &s.store,
        &[("slot", "2020-01-01T00:00:00Z")],
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("slot"))
    );

    // The price changes after the quote: checkout asks to confirm again and holds nothing.
    let (_, q) = quote(&app, &s.cookie, &s.store, &[]).await;
    sqlx::query("update products set price_fen = price_fen + 100 where id = $1::uuid")
        .bind(&s.product)
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = place(&app, &s.cookie, q["id"].as_str().unwrap(), "key-bad-1", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("changed"),
        "{err}"
    );
    // A stale quote.
    let (_, q) = quote(&app, &s.cookie, &s.store, &[]).await;
    sqlx::query("update quotes set expires_at = now() - interval '1 second' where id = $1::uuid")
        .bind(q["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = place(&app, &s.cookie, q["id"].as_str().unwrap(), "key-bad-2", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert!(err["message"].as_str().unwrap().contains("expired"));
    // A quote that is not the caller's (or does not exist), a malformed key.
    let (status, _) = place(
        &app,
        &s.cookie,
        "0195a1b2-0000-7000-8000-000000000000",
        "key-bad-3",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, q) = quote(&app, &s.cookie, &s.store, &[]).await;
    let (status, err) = place(&app, &s.cookie, q["id"].as_str().unwrap(), "short", "").await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key"))
    );
    // Sold out between quote and checkout.
    sqlx::query("update stock_levels set on_hand = 1 where product_id = $1::uuid")
        .bind(&s.product)
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = place(&app, &s.cookie, q["id"].as_str().unwrap(), "key-bad-4", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err["message"].as_str().unwrap().contains("Only 1"), "{err}");
    // Unlisted, and the store pausing orders.
    sqlx::query("update stock_levels set on_hand = 10 where product_id = $1::uuid")
        .bind(&s.product)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update products set listed = false where id = $1::uuid")
        .bind(&s.product)
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = quote(&app, &s.cookie, &s.store, &[]).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cart"))
    );
    sqlx::query("update products set listed = true where id = $1::uuid")
        .bind(&s.product)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update stores set accepting_orders = false where id = $1::uuid")
        .bind(&s.store)
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = quote(&app, &s.cookie, &s.store, &[]).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("store"))
    );
    // An empty cart.
    let jingan = store_id(&pool, "songda-mart-jingan").await;
    let (status, err) = quote(&app, &s.cookie, &jingan, &[("fulfilment", "pickup")]).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cart")),
        "{err}"
    );

    assert_eq!(reserved().await, before, "no refusal held any stock");
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn order_endpoints_refuse_anonymous_wrong_roles_and_other_customers(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-auth-1").await;
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    let other = {
        let res = app
            .post(
                "/api/signup",
                &[
                    ("login", "13700001111"),
                    ("password", "correct horse"),
                    ("display_name", "Wang"),
                ],
                None,
            )
            .await;
        session_cookie(res.headers()).unwrap()
    };
    let store = s.store.clone();
    // (endpoint, form, whether it names one customer's order or payment)
    type Call<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool);
    let calls: Vec<Call> = vec![
        (
            "/api/get_quote",
            vec![
                ("store_id", &store),
                ("fulfilment", "pickup"),
                ("tip_fen", "0"),
            ],
            false,
        ),
        ("/api/delivery_slots", vec![("store_id", &store)], false),
        (
            "/api/place_order",
            vec![
                ("quote_id", &order_id),
                ("idempotency_key", "key-auth-2"),
                ("notes", ""),
            ],
            true,
        ),
        ("/api/get_order", vec![("order_id", &order_id)], true),
        ("/api/my_orders", vec![("page", "1")], false),
        (
            "/api/cancel_order",
            vec![("order_id", &order_id), ("reason", "")],
            true,
        ),
        (
            "/api/request_cancel",
            vec![("order_id", &order_id), ("reason", "")],
            true,
        ),
        ("/api/reorder", vec![("order_id", &order_id)], true),
        ("/api/start_payment", vec![("order_id", &order_id)], true),
        ("/api/sandbox_payment", vec![("id", &sandbox_id)], true),
        (
            "/api/sandbox_decide",
            vec![("id", &sandbox_id), ("succeed", "true")],
            true,
        ),
        (
            "/api/change_order_details",
            vec![("order_id", &order_id), ("notes", "x")],
            true,
        ),
        (
            "/api/add_to_order",
            vec![
                ("order_id", &order_id),
                ("product_id", &s.product),
                ("quantity", "1"),
            ],
            true,
        ),
        (
            "/api/reduce_order_line",
            vec![
                ("order_id", &order_id),
                ("product_id", &s.product),
                ("quantity", "1"),
            ],
            true,
        ),
    ];
    let merchant = app.login_as("merchant").await;
    let courier = app.login_as("courier").await;
    for (path, form, owned) in &calls {
        assert_eq!(
            app.post(path, form, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        for cookie in [&merchant, &courier] {
            assert_eq!(
                app.post(path, form, Some(cookie)).await.status(),
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        if *owned {
            let status = app.post(path, form, Some(&other)).await.status();
            assert_eq!(status, StatusCode::NOT_FOUND, "{path} for another customer");
        }
    }
    // Nothing happened to the order.
    assert_eq!(
        order(&app, &s.cookie, &order_id).await["status"],
        "pending_payment"
    );
    let (_, theirs) = call(&app, "/api/my_orders", &[("page", "1")], &other).await;
    assert_eq!(theirs["total"], 0);

    // The live feed: same rules.
    let feed = format!("{}/api/live/orders/{order_id}", app.base);
    let status = |cookie: Option<String>| {
        let feed = feed.clone();
        async move {
            let mut req = client().get(feed);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send().await.unwrap().status()
        }
    };
    assert_eq!(status(None).await, StatusCode::UNAUTHORIZED);
    // Store staff may follow their own store's orders; this one is another store's.
    assert_eq!(status(Some(merchant)).await, StatusCode::NOT_FOUND);
    assert_eq!(status(Some(other)).await, StatusCode::NOT_FOUND);
}

/// Reads server-sent events until `n` "order" events arrived; returns their ids and statuses.
async fn read_events(res: reqwest::Response, n: usize) -> Vec<(i64, String)> {
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("live feed too slow")
            .expect("live feed ended")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            if field("event:").as_deref() == Some("order") {
                let data: Value = serde_json::from_str(&field("data:").unwrap()).unwrap();
                out.push((
                    field("id:").unwrap().parse().unwrap(),
                    data["status"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn the_live_feed_streams_changes_and_replays_what_a_reconnect_missed(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-live-1").await;
    let feed = format!("{}/api/live/orders/{order_id}", app.base);
    let res = client()
        .get(&feed)
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The feed subscribed before answering, so nothing from here on can be missed.
    let reading = tokio::spawn(read_events(res, 2));
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let events = reading.await.unwrap();
    assert_eq!(events[0].1, "pending_payment");
    assert_eq!(events[1].1, "placed", "pushed without polling the page");

    // Reconnect after the first event: exactly what came later is replayed.
    let res = client()
        .get(&feed)
        .header("cookie", &s.cookie)
        .header("last-event-id", events[0].0.to_string())
        .send()
        .await
        .unwrap();
    let replay = read_events(res, 1).await;
    assert_eq!(replay, vec![events[1].clone()]);
}

/// The `event:` field of one server-sent event block.
fn event_name(block: &str) -> Option<&str> {
    block
        .lines()
        .find_map(|l| l.strip_prefix("event:").map(str::trim))
}

#[sqlx::test(migrations = "../migrations")]
async fn a_re_plan_that_moves_the_arrival_reaches_the_customers_page_live(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-live-eta-1").await;
    let res = client()
        .get(format!("{}/api/live/orders/{order_id}", app.base))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    // The replayed timeline first (pending_payment, placed), then the live part.
    let mut text = String::new();
    let mut next_block = async || loop {
        if let Some(end) = text.find("\n\n") {
            return text.drain(..end + 2).collect::<String>();
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("live feed too slow")
            .expect("live feed ended")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    };
    let mut replayed = 0;
    while replayed < 2 {
        if event_name(&next_block().await) == Some("order") {
            replayed += 1;
        }
    }
    // Dispatch plans the drop-off (what `plan_round` writes), then moves it by 7 minutes.
    for shift in ["25 minutes", "32 minutes"] {
        sqlx::query(&format!(
            "update orders set planned_dropoff_at = now() + interval '{shift}' where id = $1::uuid"
        ))
        .bind(&order_id)
        .execute(&pool)
        .await
        .unwrap();
        let block = loop {
            let b = next_block().await;
            if event_name(&b).is_some() {
                break b;
            }
        };
        assert_eq!(event_name(&block), Some("update"), "{block}");
        assert!(
            !block.lines().any(|l| l.starts_with("id:")),
            "an update replays nothing: {block}"
        );
    }
    let o = order(&app, &s.cookie, &order_id).await;
    assert!(
        o["eta_local"].is_string(),
        "the page shows the planned time: {o}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_tracking_link_shows_progress_without_contact_details_until_delivery(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-track-1").await;
    let token = order(&app, &s.cookie, &order_id).await["tracking_token"]
        .as_str()
        .unwrap()
        .to_string();
    let track = || async {
        json(
            app.post("/api/track_order", &[("token", &token)], None)
                .await,
        )
        .await
    };
    assert_eq!(
        track().await.0,
        StatusCode::NOT_FOUND,
        "not before it is paid"
    );
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    wait_for_status(&app, &s.cookie, &order_id, "placed").await;
    let (status, t) = track().await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let text = t.to_string();
    assert!(
        !text.contains("5678") && !text.contains("Room 1203") && !text.contains("Li Na"),
        "{text}"
    );
    assert_eq!(t["status"], "placed");
    sqlx::query("update orders set status = 'delivered' where id = $1::uuid")
        .bind(&order_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        track().await.0,
        StatusCode::NOT_FOUND,
        "stops after delivery"
    );
    let (status, _) = json(
        app.post("/api/track_order", &[("token", "guess")], None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn slots_are_offered_within_opening_hours_and_full_slots_are_refused(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    sqlx::query("update stores set slot_capacity = 1 where id = $1::uuid")
        .bind(&s.store)
        .execute(&pool)
        .await
        .unwrap();
    let (status, slots) = call(
        &app,
        "/api/delivery_slots",
        &[("store_id", &s.store)],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let slots = slots.as_array().unwrap().clone();
    // A 24-hour store: every half hour from ~25 minutes from now to tomorrow night (just
    // before midnight the lead time also skips tomorrow's first slot).
    assert!(slots.len() >= 47, "{}", slots.len());
    let first = slots[0]["starts_at"].as_str().unwrap().to_string();
    assert_eq!(slots[0]["full"], false);
    let (status, q) = quote(&app, &s.cookie, &s.store, &[("slot", &first)]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let (status, _) = place(&app, &s.cookie, q["id"].as_str().unwrap(), "key-slot-1", "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, slots) = call(
        &app,
        "/api/delivery_slots",
        &[("store_id", &s.store)],
        &s.cookie,
    )
    .await;
    assert_eq!(slots[0]["full"], true, "{}", slots[0]);
    set_cart(&app, &s.cookie, &s.product, "1").await;
    let (status, err) = quote(&app, &s.cookie, &s.store, &[("slot", &first)]).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("slot")),
        "{err}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_weather_in_a_zone_adds_its_surcharge_and_slows_the_eta(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let (_, calm) = quote(&app, &s.cookie, &s.store, &[]).await;
    sqlx::raw_sql(
        "insert into zones (id, name, polygon) values ('0195a1b2-0000-7000-8000-0000000000aa', 'Lujiazui',
             '[[31.22, 121.49], [31.22, 121.52], [31.25, 121.52], [31.25, 121.49]]');
         insert into zone_conditions (id, zone_id, kind, travel_multiplier, surcharge_fen)
         values ('0195a1b2-0000-7000-8000-0000000000ab', '0195a1b2-0000-7000-8000-0000000000aa', 'storm', 2.0, 400)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (status, storm) = quote(&app, &s.cookie, &s.store, &[]).await;
    assert_eq!(status, StatusCode::OK, "{storm}");
    assert_eq!(storm["totals"]["surcharge"], 400);
    assert_eq!(
        storm["totals"]["total"].as_i64().unwrap(),
        calm["totals"]["total"].as_i64().unwrap() + 400
    );
    assert!(storm["eta_min"].as_i64() > calm["eta_min"].as_i64());
    assert!(
        storm["surcharge_reason"]
            .as_str()
            .unwrap()
            .contains("Lujiazui")
    );
    // Pickup is not affected.
    let (_, pickup) = quote(&app, &s.cookie, &s.store, &[("fulfilment", "pickup")]).await;
    assert_eq!(pickup["totals"]["surcharge"], 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn history_paginates_and_reorder_fills_the_cart_again(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        set_cart(&app, &s.cookie, &s.product, "1").await;
        ids.push(checkout(&app, &s, &format!("key-history-{i:02}")).await);
        // Unpaid orders hold stock: give it back so the next checkout has some.
        sqlx::query("update stock_levels set reserved = 0 where product_id = $1::uuid")
            .bind(&s.product)
            .execute(&pool)
            .await
            .unwrap();
    }
    let (_, p1) = call(&app, "/api/my_orders", &[("page", "1")], &s.cookie).await;
    let (_, p2) = call(&app, "/api/my_orders", &[("page", "2")], &s.cookie).await;
    assert_eq!(p1["total"], 12);
    assert_eq!(p1["items"].as_array().unwrap().len(), 10);
    assert_eq!(p2["items"].as_array().unwrap().len(), 2);
    assert_eq!(p1["items"][0]["id"], ids[11].as_str(), "newest first");
    set_cart(&app, &s.cookie, &s.product, "0").await;
    let (status, store) = call(&app, "/api/reorder", &[("order_id", &ids[0])], &s.cookie).await;
    assert_eq!(
        (status, store.as_str()),
        (StatusCode::OK, Some(s.store.as_str()))
    );
    let (_, carts) = call(&app, "/api/my_carts", &[("page", "1")], &s.cookie).await;
    assert_eq!(carts["items"][0]["items"], 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn store_pickup_gets_a_pickup_code_once_paid(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let (status, q) = quote(&app, &s.cookie, &s.store, &[("fulfilment", "pickup")]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["totals"]["delivery_fee"], 0);
    let (_, placed) = place(
        &app,
        &s.cookie,
        q["id"].as_str().unwrap(),
        "key-pickup-1",
        "",
    )
    .await;
    let order_id = placed["order_id"].as_str().unwrap().to_string();
    assert!(
        order(&app, &s.cookie, &order_id).await["pickup_code"].is_null(),
        "not before payment"
    );
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let o = wait_for_status(&app, &s.cookie, &order_id, "placed").await;
    let code = o["pickup_code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
}

#[sqlx::test(migrations = "../migrations")]
async fn money_arriving_after_expiry_or_twice_is_refunded(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let payments = &app.state.payments;

    // Expired: the open sandbox payment is closed first, so the payer can no longer pay…
    let late = checkout(&app, &s, "key-late-1").await;
    let (sandbox_id, payment_id) = start_payment(&app, &pool, &s.cookie, &late).await;
    payment_deadline_passes(&pool, &late).await;
    assert_eq!(
        app::payments::service::expire_unpaid(&pool, payments)
            .await
            .unwrap(),
        1
    );
    let (status, _) = call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "closed at the provider");
    // …and if a provider still reports money for it, it goes back.
    let amount = order(&app, &s.cookie, &late).await["totals"]["total"]
        .as_i64()
        .unwrap();
    let body = notification(&payment_id, &sandbox_id, amount, "succeeded");
    sqlx::query("update sandbox_payments set status = 'succeeded' where id = $1::uuid")
        .bind(&sandbox_id)
        .execute(&pool)
        .await
        .unwrap();
    let signed = sandbox::sign(&secret(), chrono::Utc::now().timestamp(), &body);
    assert_eq!(notify(&app, &body, &signed).await, StatusCode::OK);
    app::payments::service::deliver_outbox(&pool, payments)
        .await
        .unwrap();
    assert_eq!(order(&app, &s.cookie, &late).await["status"], "refunded");
    assert_eq!(stock(&pool, &s.product).await, (10, 0), "nothing sold");

    // Paid twice from two tabs: one payment places the order, the other is refunded.
    set_cart(&app, &s.cookie, &s.product, "1").await;
    let twice = checkout(&app, &s, "key-twice-1").await;
    let (first, _) = start_payment(&app, &pool, &s.cookie, &twice).await;
    let (second, _) = start_payment(&app, &pool, &s.cookie, &twice).await;
    for id in [&first, &second] {
        let (status, _) = call(
            &app,
            "/api/sandbox_decide",
            &[("id", id), ("succeed", "true")],
            &s.cookie,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    wait_for_status(&app, &s.cookie, &twice, "placed").await;
    app::payments::service::deliver_outbox(&pool, payments)
        .await
        .unwrap();
    let refunded: Vec<i64> = sqlx::query_scalar(
        "select refunded_fen from sandbox_payments where id = any($1::uuid[]) order by decided_at",
    )
    .bind(vec![first.clone(), second.clone()])
    .fetch_all(&pool)
    .await
    .unwrap();
    let total = order(&app, &s.cookie, &twice).await["totals"]["total"]
        .as_i64()
        .unwrap();
    assert_eq!(
        refunded,
        [0, total],
        "the second payment comes back in full"
    );
    assert_eq!(order(&app, &s.cookie, &twice).await["status"], "placed");
    // Delivering the outbox again refunds nothing more.
    app::payments::service::deliver_outbox(&pool, payments)
        .await
        .unwrap();
    let again: i64 = sqlx::query_scalar(
        "select sum(refunded_fen)::bigint from sandbox_payments where id = any($1::uuid[])",
    )
    .bind(vec![first, second])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(again, total);
}

#[sqlx::test(migrations = "../migrations")]
async fn without_a_payment_provider_checkout_says_so(pool: PgPool) {
    let app = spawn_with(
        pool.clone(),
        Settings {
            sandbox_enabled: false,
            ..Settings::default()
        },
    )
    .await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-noprov-1").await;
    let (status, err) = call(
        &app,
        "/api/start_payment",
        &[("order_id", &order_id)],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        err["message"].as_str().unwrap().contains("not set up"),
        "{err}"
    );
    let body = notification(&order_id, &order_id, 1, "succeeded");
    assert_eq!(
        notify(&app, &body, "t=1,v1=00").await,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn order_numbers_stay_unique_past_ten_thousand(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    sqlx::query("select setval('order_number_seq', 9999)")
        .execute(&pool)
        .await
        .unwrap();
    let mut numbers = Vec::new();
    for i in 0..2 {
        set_cart(&app, &s.cookie, &s.product, "1").await;
        let id = checkout(&app, &s, &format!("key-number-{i}")).await;
        numbers.push(
            order(&app, &s.cookie, &id).await["number"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(
        numbers[0].ends_with("-10000") && numbers[1].ends_with("-10001"),
        "{numbers:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn paid_orders_can_lose_items_and_change_address_with_the_difference_refunded(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-modify-1").await;
    // Before payment, items do not change (cancel and order again instead).
    let form = [
        ("order_id", order_id.as_str()),
        ("product_id", s.product.as_str()),
        ("quantity", "1"),
    ];
    let (status, _) = call(&app, "/api/reduce_order_line", &form, &s.cookie).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let before = wait_for_status(&app, &s.cookie, &order_id, "placed").await;
    assert_eq!(stock(&pool, &s.product).await, (8, 0));

    // 2 → 1: one box back on the shelf, its price refunded.
    let (status, after) = call(&app, "/api/reduce_order_line", &form, &s.cookie).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(stock(&pool, &s.product).await, (9, 0));
    let price = 2580;
    assert_eq!(
        after["totals"]["total"].as_i64().unwrap(),
        before["totals"]["total"].as_i64().unwrap() - price
    );
    // The server delivers the refund right after the change (and the outbox skips rows it is
    // already working on), so wait for it rather than race it.
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    eventually(
        "refunded the removed box",
        || async {
            sqlx::query_scalar::<_, i64>(
                "select refunded_fen from sandbox_payments where id = $1::uuid",
            )
            .bind(&sandbox_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        },
        |refunded| *refunded == price,
    )
    .await;
    assert_eq!(
        order(&app, &s.cookie, &order_id).await["status"],
        "placed",
        "a partial refund does not end the order"
    );
    // Raising a quantity or removing the last item is refused.
    let more = [
        ("order_id", order_id.as_str()),
        ("product_id", s.product.as_str()),
        ("quantity", "3"),
    ];
    let (status, err) = call(&app, "/api/reduce_order_line", &more, &s.cookie).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity"))
    );
    let last = [
        ("order_id", order_id.as_str()),
        ("product_id", s.product.as_str()),
        ("quantity", "0"),
    ];
    let (status, err) = call(&app, "/api/reduce_order_line", &last, &s.cookie).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err["message"].as_str().unwrap().contains("cancel"), "{err}");

    // A dearer address is refused; a nearby one is taken; notes change.
    let far = add_address(&app, &s.cookie, ("31.2550", "121.5200")).await;
    let (status, err) = call(
        &app,
        "/api/change_order_details",
        &[("order_id", &order_id), ("address_id", &far), ("notes", "")],
        &s.cookie,
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address")),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().contains("more"), "{err}");
    let next_door = add_address(&app, &s.cookie, ("31.2398", "121.4999")).await;
    let (status, o) = call(
        &app,
        "/api/change_order_details",
        &[
            ("order_id", &order_id),
            ("address_id", &next_door),
            ("notes", "leave at the desk"),
        ],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["notes"], "leave at the desk");
    assert_eq!(
        o["totals"]["delivery_fee"], 300,
        "still the first-kilometre fee"
    );
    let reasons: Vec<&str> = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Delivery address changed")),
        "{reasons:?}"
    );
    // Once a courier has it, no more changes.
    sqlx::query("update orders set status = 'picked_up' where id = $1::uuid")
        .bind(&order_id)
        .execute(&pool)
        .await
        .unwrap();
    let (status, _) = call(
        &app,
        "/api/change_order_details",
        &[("order_id", &order_id), ("notes", "late")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[sqlx::test(migrations = "../migrations")]
async fn goods_added_to_a_paid_order_are_held_paid_as_a_top_up_and_merged(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = checkout(&app, &s, "key-add-1").await;
    let add = [
        ("order_id", order_id.as_str()),
        ("product_id", s.product.as_str()),
        ("quantity", "1"),
    ];
    let (status, _) = call(&app, "/api/add_to_order", &add, &s.cookie).await;
    assert_eq!(status, StatusCode::CONFLICT, "not before the order is paid");
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &order_id).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let before = wait_for_status(&app, &s.cookie, &order_id, "placed").await;
    assert_eq!(stock(&pool, &s.product).await, (8, 0));

    // One more box: held at once, paid as a top-up of exactly its price, then merged.
    let (status, url) = call(&app, "/api/add_to_order", &add, &s.cookie).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    assert_eq!(stock(&pool, &s.product).await, (8, 1));
    let o = order(&app, &s.cookie, &order_id).await;
    assert_eq!(o["addition"]["amount"], 2580);
    let (status, _) = call(&app, "/api/add_to_order", &add, &s.cookie).await;
    assert_eq!(status, StatusCode::CONFLICT, "one addition at a time");
    let top_up = url
        .as_str()
        .unwrap()
        .strip_prefix("/sandbox-pay/")
        .unwrap()
        .to_string();
    let (status, page) = call(&app, "/api/sandbox_payment", &[("id", &top_up)], &s.cookie).await;
    assert_eq!(
        (status, &page["amount"]),
        (StatusCode::OK, &Value::from(2580))
    );
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &top_up), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let o = eventually(
        "merged the paid addition",
        || order(&app, &s.cookie, &order_id),
        |o| o["addition"].is_null(),
    )
    .await;
    assert_eq!(o["lines"][0]["quantity"], 3);
    assert_eq!(
        o["totals"]["total"].as_i64().unwrap(),
        before["totals"]["total"].as_i64().unwrap() + 2580
    );
    assert_eq!(stock(&pool, &s.product).await, (7, 0), "sold, not held");
    assert!(
        o["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"].as_str().unwrap().starts_with("Added 1 ×"))
    );

    // An addition nobody pays is dropped at its deadline and its stock released.
    let (status, _) = call(&app, "/api/add_to_order", &add, &s.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stock(&pool, &s.product).await, (7, 1));
    // Its deadline passes (set in the past rather than slept through).
    sqlx::query(
        "update order_additions set expires_at = now() - interval '1 second'
         where order_id = $1::uuid and status = 'awaiting_payment'",
    )
    .bind(&order_id)
    .execute(&pool)
    .await
    .unwrap();
    let dropped = app::payments::service::expire_additions(&pool, &app.state.payments)
        .await
        .unwrap();
    assert_eq!(dropped, 1);
    assert_eq!(stock(&pool, &s.product).await, (7, 0));
    assert!(order(&app, &s.cookie, &order_id).await["addition"].is_null());

    // Paid after the store accepted: the goods are not added and the money goes back.
    let (_, url) = call(&app, "/api/add_to_order", &add, &s.cookie).await;
    let late = url
        .as_str()
        .unwrap()
        .strip_prefix("/sandbox-pay/")
        .unwrap()
        .to_string();
    sqlx::query("update orders set status = 'accepted' where id = $1::uuid")
        .bind(&order_id)
        .execute(&pool)
        .await
        .unwrap();
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &late), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    let refunded: i64 =
        sqlx::query_scalar("select refunded_fen from sandbox_payments where id = $1::uuid")
            .bind(&late)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(refunded, 2580);
    assert_eq!(stock(&pool, &s.product).await, (7, 0), "released, not sold");
    assert_eq!(
        order(&app, &s.cookie, &order_id).await["lines"][0]["quantity"],
        3
    );
}
