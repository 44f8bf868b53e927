//! The merchant console's order side through the real router: the board, accept/reject,
//! pick list, ready, label, hand-over codes, cancel requests, auto-reject, and every refusal.

mod common;

use common::shop::*;
use common::*;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

async fn status_of(pool: &PgPool, order_id: &str) -> String {
    sqlx::query_scalar("select status from orders where id = $1::uuid")
        .bind(order_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn lane<'a>(board: &'a Value, column: &str) -> &'a Vec<Value> {
    board["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["column"] == column)
        .unwrap()["cards"]
        .as_array()
        .unwrap()
}

fn on_lane(board: &Value, column: &str, order_id: &str) -> bool {
    lane(board, column).iter().any(|c| c["id"] == order_id)
}

#[sqlx::test(migrations = "../migrations")]
async fn merchant_endpoints_refuse_anonymous_customers_couriers_and_other_stores(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-guard-1").await;
    let courier = app.login_as("courier").await;
    // The demo merchant runs Songda Mart, not the pharmacy: to them this order does not exist.
    let other_store = app.login_as("merchant").await;
    let product = s.product.as_str();
    let o = order_id.as_str();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/store_board", vec![("store_id", s.store.as_str())]),
        ("/api/merchant_order", vec![("order_id", o)]),
        ("/api/packing_label", vec![("order_id", o)]),
        (
            "/api/accept_order",
            vec![("order_id", o), ("prep_min", "10")],
        ),
        (
            "/api/reject_order",
            vec![("order_id", o), ("reason", "closed")],
        ),
        (
            "/api/tick_pick_line",
            vec![("order_id", o), ("product_id", product), ("picked", "true")],
        ),
        ("/api/mark_order_ready", vec![("order_id", o)]),
        (
            "/api/collect_order",
            vec![("order_id", o), ("code", "123456")],
        ),
        (
            "/api/answer_cancel_request",
            vec![("order_id", o), ("approve", "true"), ("reason", "")],
        ),
        ("/api/dismiss_store_alert", vec![("alert_id", o)]),
        ("/api/store_today", vec![("store_id", s.store.as_str())]),
        (
            "/api/report_missing_item",
            vec![
                ("order_id", o),
                ("product_id", product),
                ("missing_qty", "1"),
                ("substitute_id", ""),
            ],
        ),
        (
            "/api/store_orders",
            vec![
                ("store_id", s.store.as_str()),
                ("status", ""),
                ("from", ""),
                ("to", ""),
                ("number", ""),
                ("phone", ""),
                ("page", "1"),
            ],
        ),
    ];
    for (path, form) in &calls {
        let anonymous = app.post(path, form, None).await.status();
        assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{path} anonymous");
        for (who, cookie) in [("customer", &s.cookie), ("courier", &courier)] {
            let (status, _) = call(&app, path, form, cookie).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} as {who}");
        }
        let (status, _) = call(&app, path, form, &other_store).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} by another store");
    }
    assert_eq!(status_of(&pool, o).await, "placed", "nothing happened");
    // Couriers take orders; nobody else may.
    let form = [("order_id", o), ("code", "123456")];
    assert_eq!(
        app.post("/api/courier_pickup", &form, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for cookie in [&s.cookie, &other_store] {
        let (status, _) = call(&app, "/api/courier_pickup", &form, cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // The store's live feed: staff of that store only.
    let feed = format!("/api/live/stores/{}", s.store);
    assert_eq!(
        app.get(&feed, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&feed, Some(&s.cookie)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&feed, Some(&other_store)).await.status(),
        StatusCode::NOT_FOUND
    );
    let order_feed = format!("/api/live/orders/{o}");
    assert_eq!(
        app.get(&order_feed, Some(&other_store)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&order_feed, Some(&courier)).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_paid_order_goes_from_the_board_through_picking_and_the_label_to_the_courier(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    // The board's live feed hears the payment of a new order.
    let feed = app
        .get(&format!("/api/live/stores/{}", s.store), Some(&staff))
        .await;
    assert_eq!(feed.status(), StatusCode::OK);
    let mut feed = feed.bytes_stream();
    let first = feed.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: board"));
    let order_id = paid_order(&app, &pool, &s, "key-flow-1").await;
    let woke = tokio::time::timeout(std::time::Duration::from_secs(5), feed.next())
        .await
        .expect("the board hears the new order")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&woke).contains("event: board"));

    let store = [("store_id", s.store.as_str())];
    let (status, board) = call(&app, "/api/store_board", &store, &staff).await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert!(on_lane(&board, "new", &order_id), "{board}");
    let sold: (String, i32) =
        sqlx::query_as("select reason, delta from stock_ledger where order_id = $1::uuid")
            .bind(&order_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(sold, ("sale".to_string(), -2), "the ledger names the order");
    let card = &lane(&board, "new")[0];
    assert_eq!(card["items"], 2);
    assert!(card["accept_within_min"].as_i64().unwrap() >= 4);

    let o = order_id.as_str();
    let (status, body) = call(
        &app,
        "/api/accept_order",
        &[("order_id", o), ("prep_min", "0")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let eta_before: i32 = sqlx::query_scalar("select eta_min from orders where id = $1::uuid")
        .bind(o)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, body) = call(
        &app,
        "/api/accept_order",
        &[("order_id", o), ("prep_min", "40")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (eta_after, default_prep): (i32, i32) = sqlx::query_as(
        "select o.eta_min, s.prep_time_min from orders o join stores s on s.id = o.store_id where o.id = $1::uuid",
    )
    .bind(o)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (eta_after - eta_before - (40 - default_prep)).abs() <= 1,
        "the estimate moves the ETA: {eta_before} → {eta_after} (default prep {default_prep})"
    );
    let (status, _) = call(
        &app,
        "/api/accept_order",
        &[("order_id", o), ("prep_min", "10")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "accepted once");

    // Ready is refused until every line is ticked; the first tick starts picking.
    let (status, body) = call(&app, "/api/mark_order_ready", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, mo) = call(&app, "/api/merchant_order", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::OK, "{mo}");
    let text = mo.to_string();
    assert!(
        !text.contains("13912345678") && !text.contains("Room 1203"),
        "no phone or address for the counter: {text}"
    );
    assert_eq!(mo["phone_masked"], "139****5678");
    let lines: Vec<String> = mo["pick_list"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["lines"].as_array().unwrap().clone())
        .map(|l| l["product_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(lines, std::slice::from_ref(&s.product));
    let tick = |picked: &'static str| {
        let (app, staff, o, p) = (&app, &staff, o, s.product.clone());
        async move {
            call(
                app,
                "/api/tick_pick_line",
                &[("order_id", o), ("product_id", &p), ("picked", picked)],
                staff,
            )
            .await
        }
    };
    assert_eq!(tick("true").await.0, StatusCode::OK);
    assert_eq!(status_of(&pool, o).await, "picking");
    assert_eq!(tick("false").await.0, StatusCode::OK, "untick");
    assert_eq!(
        call(&app, "/api/mark_order_ready", &[("order_id", o)], &staff)
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(tick("true").await.0, StatusCode::OK);
    let (status, board) = call(&app, "/api/store_board", &store, &staff).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lane(&board, "preparing")[0]["picked_lines"], 1);

    let (status, label) = call(&app, "/api/packing_label", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::OK, "{label}");
    assert!(label["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    assert_eq!(label["items"], 2);
    assert_eq!(label["customer_masked"], "L*");
    let code = label["handover_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);

    let (status, body) = call(&app, "/api/mark_order_ready", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        tick("false").await.0,
        StatusCode::CONFLICT,
        "pick list closed"
    );
    let (_, board) = call(&app, "/api/store_board", &store, &staff).await;
    assert!(on_lane(&board, "ready", o));

    // Only the courier holding the order may take it, and only with the label's code.
    let other = app
        .login("courier02@songda.test", app::demo::PASSWORD)
        .await;
    let (status, body) = call(
        &app,
        "/api/courier_pickup",
        &[("order_id", o), ("code", &code)],
        &other,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // (Dispatch gave it to the demo courier: the offer flow has its own tests.)
    sqlx::query(
        "update orders set courier_id = (select id from users where email = 'courier@songda.test')
         where id = $1::uuid",
    )
    .bind(o)
    .execute(&pool)
    .await
    .unwrap();
    // The courier at the counter: the wrong code is refused, the label's code moves it on.
    let courier = app.login_as("courier").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = call(
        &app,
        "/api/courier_pickup",
        &[("order_id", o), ("code", wrong)],
        &courier,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(status_of(&pool, o).await, "ready");
    let (status, body) = call(
        &app,
        "/api/courier_pickup",
        &[("order_id", o), ("code", &code)],
        &courier,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let customer_view = order(&app, &s.cookie, o).await;
    let seen: Vec<&str> = customer_view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        seen,
        [
            "pending_payment",
            "placed",
            "accepted",
            "picking",
            "ready",
            "picked_up"
        ]
    );
    let (_, board) = call(&app, "/api/store_board", &store, &staff).await;
    assert!(on_lane(&board, "handed_over", o));
}

#[sqlx::test(migrations = "../migrations")]
async fn rejecting_needs_a_reason_and_refunds_and_restocks(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-reject-1").await;
    assert_eq!(stock(&pool, &s.product).await, (8, 0));
    let o = order_id.as_str();
    let (status, body) = call(
        &app,
        "/api/reject_order",
        &[("order_id", o), ("reason", "  ")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("reason"), "{body}");
    let (status, body) = call(
        &app,
        "/api/reject_order",
        &[("order_id", o), ("reason", "药品缺货 out of stock")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(stock(&pool, &s.product).await, (10, 0), "back on the shelf");
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    let o = wait_for_status(&app, &s.cookie, o, "refunded").await;
    let reasons = o["timeline"].to_string();
    assert!(reasons.contains("药品缺货 out of stock"), "{reasons}");
}

#[sqlx::test(migrations = "../migrations")]
async fn orders_nobody_accepts_in_time_are_rejected_refunded_and_the_store_warned(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-auto-1").await;
    let o = order_id.as_str();
    assert_eq!(
        app::orders::merchant::auto_reject_overdue(&pool)
            .await
            .unwrap(),
        0,
        "not due yet"
    );
    // The store's 5 minutes pass (instead of waiting them out).
    sqlx::query("update orders set release_at = now() - interval '6 minutes' where id = $1::uuid")
        .bind(o)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app::orders::merchant::auto_reject_overdue(&pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(status_of(&pool, o).await, "rejected");
    assert_eq!(stock(&pool, &s.product).await, (10, 0));
    let store = [("store_id", s.store.as_str())];
    let (_, board) = call(&app, "/api/store_board", &store, &staff).await;
    let alerts = board["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{board}");
    assert!(alerts[0]["message"].as_str().unwrap().contains("5 min"));
    let alert_id = alerts[0]["id"].as_str().unwrap();
    // Only the store's own staff may dismiss it.
    let other = app.login_as("merchant").await;
    let (status, _) = call(
        &app,
        "/api/dismiss_store_alert",
        &[("alert_id", alert_id)],
        &other,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        "/api/dismiss_store_alert",
        &[("alert_id", alert_id)],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, board) = call(&app, "/api/store_board", &store, &staff).await;
    assert!(board["alerts"].as_array().unwrap().is_empty());
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    wait_for_status(&app, &s.cookie, o, "refunded").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn store_pickup_is_handed_over_only_with_the_customers_code(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let (status, q) = quote(&app, &s.cookie, &s.store, &[("fulfilment", "pickup")]).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let (_, placed) = place(&app, &s.cookie, q["id"].as_str().unwrap(), "key-pick-1", "").await;
    let o = placed["order_id"].as_str().unwrap().to_string();
    let (sandbox_id, _) = start_payment(&app, &pool, &s.cookie, &o).await;
    call(
        &app,
        "/api/sandbox_decide",
        &[("id", &sandbox_id), ("succeed", "true")],
        &s.cookie,
    )
    .await;
    let code = wait_for_status(&app, &s.cookie, &o, "placed").await["pickup_code"]
        .as_str()
        .unwrap()
        .to_string();
    let o = o.as_str();
    pack(&app, &staff, o, &s.product).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for bad in [wrong, "12ab56"] {
        let (status, _) = call(
            &app,
            "/api/collect_order",
            &[("order_id", o), ("code", bad)],
            &staff,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // A courier cannot take a pickup order, even with a code.
    let courier = app.login_as("courier").await;
    let (status, _) = call(
        &app,
        "/api/courier_pickup",
        &[("order_id", o), ("code", &code)],
        &courier,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = call(
        &app,
        "/api/collect_order",
        &[("order_id", o), ("code", &code)],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(status_of(&pool, o).await, "collected");
}

#[sqlx::test(migrations = "../migrations")]
async fn cancel_requests_are_approved_with_a_refund_or_declined_with_a_reason(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let store = [("store_id", s.store.as_str())];
    for (key, approve) in [("key-cr-1", false), ("key-cr-2", true)] {
        set_cart(&app, &s.cookie, &s.product, "1").await;
        let order_id = paid_order(&app, &pool, &s, key).await;
        let o = order_id.as_str();
        let (status, _) = call(
            &app,
            "/api/accept_order",
            &[("order_id", o), ("prep_min", "10")],
            &staff,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            &app,
            "/api/answer_cancel_request",
            &[("order_id", o), ("approve", "true"), ("reason", "")],
            &staff,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "no request yet");
        let (status, body) = call(
            &app,
            "/api/request_cancel",
            &[("order_id", o), ("reason", "ordered twice")],
            &s.cookie,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, board) = call(&app, "/api/store_board", &store, &staff).await;
        let card = lane(&board, "exceptions")
            .iter()
            .find(|c| c["id"] == o)
            .cloned()
            .expect("the request needs attention");
        assert_eq!(card["cancel_reason"], "ordered twice");
        if approve {
            let (status, body) = call(
                &app,
                "/api/answer_cancel_request",
                &[("order_id", o), ("approve", "true"), ("reason", "")],
                &staff,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            app::payments::service::deliver_outbox(&pool, &app.state.payments)
                .await
                .unwrap();
            wait_for_status(&app, &s.cookie, o, "refunded").await;
        } else {
            let (status, _) = call(
                &app,
                "/api/answer_cancel_request",
                &[("order_id", o), ("approve", "false"), ("reason", " ")],
                &staff,
            )
            .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "declining needs a reason"
            );
            let (status, _) = call(
                &app,
                "/api/answer_cancel_request",
                &[
                    ("order_id", o),
                    ("approve", "false"),
                    ("reason", "already packed and on the way"),
                ],
                &staff,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let seen = order(&app, &s.cookie, o).await;
            assert_eq!(seen["status"], "accepted");
            assert_eq!(seen["cancel_declined"], "already packed and on the way");
            assert_eq!(seen["open_cancel_request"], false);
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_store_sees_its_day_searches_its_orders_and_exports_them(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let first = paid_order(&app, &pool, &s, "key-day-1").await;
    set_cart(&app, &s.cookie, &s.product, "1").await;
    let second = paid_order(&app, &pool, &s, "key-day-2").await;
    for (path, form) in [
        (
            "/api/accept_order",
            vec![("order_id", first.as_str()), ("prep_min", "5")],
        ),
        (
            "/api/tick_pick_line",
            vec![
                ("order_id", first.as_str()),
                ("product_id", s.product.as_str()),
                ("picked", "true"),
            ],
        ),
        ("/api/mark_order_ready", vec![("order_id", first.as_str())]),
    ] {
        let (status, body) = call(&app, path, &form, &staff).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let store = [("store_id", s.store.as_str())];
    let (status, today) = call(&app, "/api/store_today", &store, &staff).await;
    assert_eq!(status, StatusCode::OK, "{today}");
    assert_eq!(today["orders"], 2);
    let totals: i64 = sqlx::query_scalar("select sum(total_fen)::bigint from orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(today["revenue"], totals);
    assert_eq!(today["open_now"], 2);
    let stages = today["stages"].as_array().unwrap();
    assert_eq!(stages[0]["orders"], 1, "one accepted: {today}");
    assert_eq!(stages[1]["orders"], 1, "one packed");
    assert_eq!(stages[2]["orders"], 0, "none handed over");
    assert!(stages[0]["avg_min"].as_f64().unwrap() >= 0.0);
    assert_eq!(today["late"], 0);

    let search = |status: &'static str, number: String, phone: &'static str| {
        let (app, staff, store) = (&app, &staff, s.store.clone());
        async move {
            call(
                app,
                "/api/store_orders",
                &[
                    ("store_id", store.as_str()),
                    ("status", status),
                    ("from", ""),
                    ("to", ""),
                    ("number", &number),
                    ("phone", phone),
                    ("page", "1"),
                ],
                staff,
            )
            .await
        }
    };
    let (status, all) = search("", String::new(), "").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["total"], 2);
    assert_eq!(all["items"][0]["id"], second.as_str(), "newest first");
    assert_eq!(search("ready", String::new(), "").await.1["total"], 1);
    assert_eq!(search("", String::new(), "5678").await.1["total"], 2);
    assert_eq!(search("", String::new(), "0000").await.1["total"], 0);
    let number = all["items"][1]["number"].as_str().unwrap().to_string();
    let tail = number[number.len() - 4..].to_string();
    let found = search("", tail, "").await.1;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["number"] == number.as_str())
    );
    let (status, bad) = search("shipped", String::new(), "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    let csv = format!("/merchant/stores/{}/orders.csv?status=ready", s.store);
    assert_eq!(app.get(&csv, None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(&csv, Some(&s.cookie)).await.status(),
        StatusCode::FORBIDDEN
    );
    let other = app.login_as("merchant").await;
    assert_eq!(
        app.get(&csv, Some(&other)).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = app.get(&csv, Some(&staff)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = res.text().await.unwrap();
    let lines: Vec<&str> = body.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 2, "header + the ready order: {body}");
    assert!(lines[0].ends_with("number,status,fulfilment,created,items,total_yuan,phone"));
    assert!(lines[1].contains(",ready,delivery,") && lines[1].ends_with("139****5678"));
    let bad = format!("/merchant/stores/{}/orders.csv?from=yesterday", s.store);
    assert_eq!(
        app.get(&bad, Some(&staff)).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// Accepts the order and returns a product of the same category to offer instead.
async fn accept_and_find_substitute(
    app: &TestApp,
    pool: &PgPool,
    staff: &str,
    order_id: &str,
) -> String {
    let (status, _) = call(
        app,
        "/api/accept_order",
        &[("order_id", order_id), ("prep_min", "10")],
        staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, mo) = call(app, "/api/merchant_order", &[("order_id", order_id)], staff).await;
    assert_eq!(status, StatusCode::OK, "{mo}");
    let sub = mo["substitutes"][0]["product_id"]
        .as_str()
        .expect("the shelf has something else")
        .to_string();
    sqlx::query("update stock_levels set on_hand = 20, reserved = 0 where product_id = $1::uuid")
        .bind(&sub)
        .execute(pool)
        .await
        .unwrap();
    sub
}

#[sqlx::test(migrations = "../migrations")]
async fn missing_items_are_substituted_or_refunded_as_the_customer_chooses(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-miss-1").await;
    let o = order_id.as_str();
    let sub = accept_and_find_substitute(&app, &pool, &staff, o).await;
    let paid: i64 = sqlx::query_scalar("select total_fen from orders where id = $1::uuid")
        .bind(o)
        .fetch_one(&pool)
        .await
        .unwrap();
    let report = |qty: &'static str, substitute: String| {
        let (app, staff, p) = (&app, &staff, s.product.clone());
        async move {
            call(
                app,
                "/api/report_missing_item",
                &[
                    ("order_id", o),
                    ("product_id", &p),
                    ("missing_qty", qty),
                    ("substitute_id", &substitute),
                ],
                staff,
            )
            .await
        }
    };
    assert_eq!(
        report("3", String::new()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only 2 ordered"
    );
    assert_eq!(
        report("2", String::new()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing would be left"
    );
    assert_eq!(
        report("1", s.product.clone()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not itself"
    );
    let (status, body) = report("1", sub.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        report("1", sub.clone()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a substitute is offered for one line at a time"
    );
    assert_eq!(
        report("1", String::new()).await.0,
        StatusCode::CONFLICT,
        "one open question per line"
    );
    // Ready waits for the answer.
    let (status, _) = call(
        &app,
        "/api/tick_pick_line",
        &[
            ("order_id", o),
            ("product_id", &s.product),
            ("picked", "true"),
        ],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&app, "/api/mark_order_ready", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The customer sees the question and takes the substitute; only they may answer.
    let seen = order(&app, &s.cookie, o).await;
    let missing = &seen["missing_items"][0];
    assert!(missing["substitute"].as_str().is_some(), "{seen}");
    let missing_id = missing["id"].as_str().unwrap().to_string();
    let form = [
        ("missing_id", missing_id.as_str()),
        ("take_substitute", "true"),
    ];
    assert_eq!(
        app.post("/api/answer_missing_item", &form, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "/api/answer_missing_item", &form, &staff)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let stranger = app
        .post(
            "/api/signup",
            &[
                ("login", "13600002222"),
                ("password", "another customer"),
                ("display_name", "Stranger"),
            ],
            None,
        )
        .await;
    let stranger = session_cookie(stranger.headers()).unwrap();
    assert_eq!(
        call(&app, "/api/answer_missing_item", &form, &stranger)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = call(&app, "/api/answer_missing_item", &form, &s.cookie).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        call(&app, "/api/answer_missing_item", &form, &s.cookie)
            .await
            .0,
        StatusCode::CONFLICT,
        "answered once"
    );
    let lines: Vec<(String, i32, i64)> = sqlx::query_as(
        "select product_id::text, quantity, unit_price_fen from order_items where order_id = $1::uuid order by quantity",
    )
    .bind(o)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().any(|(p, q, _)| *p == s.product && *q == 1));
    assert!(lines.iter().any(|(p, q, _)| *p == sub && *q == 1));
    assert_eq!(stock(&pool, &sub).await, (19, 0), "the substitute is sold");
    let (total, refunded): (i64, i64) = sqlx::query_as(
        "select o.total_fen, coalesce((select sum(amount_fen) from refunds r where r.order_id = o.id), 0)::bigint
         from orders o where o.id = $1::uuid",
    )
    .bind(o)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(total <= paid, "never more than paid");
    assert_eq!(total + refunded, paid, "any difference is refunded");
    // A shortfall without a substitute is refunded at once: nothing to ask.
    let (status, body) = report("1", String::new()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resolved: Vec<(String, String)> = sqlx::query_as(
        "select status, resolved_by from order_exceptions where order_id = $1::uuid order by created_at",
    )
    .bind(o)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        resolved,
        [
            ("substituted".to_string(), "customer".to_string()),
            ("refunded".to_string(), "store".to_string())
        ]
    );
    let left: Vec<String> =
        sqlx::query_scalar("select product_id::text from order_items where order_id = $1::uuid")
            .bind(o)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(left, std::slice::from_ref(&sub));
    let (status, body) = call(&app, "/api/mark_order_ready", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn unanswered_missing_items_get_the_stores_default(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-miss-2").await;
    let o = order_id.as_str();
    let sub = accept_and_find_substitute(&app, &pool, &staff, o).await;
    let unit: i64 =
        sqlx::query_scalar("select unit_price_fen from order_items where order_id = $1::uuid")
            .bind(o)
            .fetch_one(&pool)
            .await
            .unwrap();
    let (status, body) = call(
        &app,
        "/api/report_missing_item",
        &[
            ("order_id", o),
            ("product_id", &s.product),
            ("missing_qty", "1"),
            ("substitute_id", &sub),
        ],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app::orders::missing::resolve_timed_out(&pool)
            .await
            .unwrap(),
        0,
        "the customer still has time"
    );
    sqlx::query("update order_exceptions set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app::orders::missing::resolve_timed_out(&pool)
            .await
            .unwrap(),
        1
    );
    let (state, by): (String, String) =
        sqlx::query_as("select status, resolved_by from order_exceptions")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), by.as_str()),
        ("refunded", "timeout"),
        "the default is a refund"
    );
    assert_eq!(stock(&pool, &sub).await, (20, 0), "no substitute taken");
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    let refunded: i64 = sqlx::query_scalar(
        "select coalesce(sum(amount_fen), 0)::bigint from refunds where order_id = $1::uuid and status = 'succeeded'",
    )
    .bind(o)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(refunded, unit, "one box refunded");
    let timeline = order(&app, &s.cookie, o).await["timeline"].to_string();
    assert!(timeline.contains("missing: refunded"), "{timeline}");
}

#[sqlx::test(migrations = "../migrations")]
async fn declining_the_substitute_for_the_only_item_cancels_and_refunds_everything(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-miss-3").await;
    let o = order_id.as_str();
    let sub = accept_and_find_substitute(&app, &pool, &staff, o).await;
    let (status, body) = call(
        &app,
        "/api/report_missing_item",
        &[
            ("order_id", o),
            ("product_id", &s.product),
            ("missing_qty", "2"),
            ("substitute_id", &sub),
        ],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let missing_id = order(&app, &s.cookie, o).await["missing_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = call(
        &app,
        "/api/answer_missing_item",
        &[("missing_id", &missing_id), ("take_substitute", "false")],
        &s.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(status_of(&pool, o).await, "cancelled");
    app::payments::service::deliver_outbox(&pool, &app.state.payments)
        .await
        .unwrap();
    wait_for_status(&app, &s.cookie, o, "refunded").await;
    let (paid, refunded): (i64, i64) = sqlx::query_as(
        "select (select amount_fen from payments where order_id = $1::uuid and status = 'succeeded'),
                (select sum(amount_fen)::bigint from refunds where order_id = $1::uuid and status = 'succeeded')",
    )
    .bind(o)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(refunded, paid, "fees and tip too");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_shortfall_refunds_the_item_and_keeps_the_discount_the_customer_earned(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let staff = pharmacist(&app, &pool).await;
    // Spend-and-save at the pharmacy: the two boxes in the cart just reach it.
    let unit: i64 = sqlx::query_scalar("select price_fen from products where id = $1::uuid")
        .bind(&s.product)
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "update stores set discount_threshold_fen = $2, discount_fen = 100 where id = $1::uuid",
    )
    .bind(&s.store)
    .bind(unit * 2)
    .execute(&pool)
    .await
    .unwrap();
    let order_id = paid_order(&app, &pool, &s, "key-miss-4").await;
    let o = order_id.as_str();
    let (paid, discount): (i64, i64) =
        sqlx::query_as("select total_fen, discount_fen from orders where id = $1::uuid")
            .bind(o)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(discount, 100);
    let (status, _) = call(
        &app,
        "/api/accept_order",
        &[("order_id", o), ("prep_min", "10")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &app,
        "/api/report_missing_item",
        &[
            ("order_id", o),
            ("product_id", &s.product),
            ("missing_qty", "1"),
            ("substitute_id", ""),
        ],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (total, discount_now, refund): (i64, i64, i64) = sqlx::query_as(
        "select o.total_fen, o.discount_fen, (select sum(amount_fen)::bigint from refunds r where r.order_id = o.id)
         from orders o where o.id = $1::uuid",
    )
    .bind(o)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (total, discount_now, refund),
        (paid - unit, 100, unit),
        "the missing box is refunded in full; the discount stays"
    );
}
