//! The merchant console's catalog, stock and settings through the real router: who may call
//! what, product edits and their price history, stock changes and their ledger, the low-stock
//! alert, CSV import/export, product images and store settings.

mod common;

use app::state::Settings;
use common::*;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE};
use serde_json::Value;
use sqlx::PgPool;

const MART: &str = "songda-mart-jingan";
/// The demo merchant is staff (not owner) here.
const BAKERY: &str = "maifeng-bakery-xujiahui";
/// Open around the clock: checkout tests do not depend on the time of day.
const PHARMACY: &str = "kangjian-pharmacy-lujiazui";

async fn spawn(pool: PgPool) -> TestApp {
    let dir = std::env::temp_dir().join(format!("songda-uploads-{}", uuid::Uuid::now_v7()));
    spawn_with(
        pool,
        Settings {
            uploads_dir: dir,
            ..Settings::default()
        },
    )
    .await
}

async fn call(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    cookie: &str,
) -> (StatusCode, Value) {
    json(app.post(path, form, Some(cookie)).await).await
}

/// A second merchant, owner of the pharmacy only.
async fn other_merchant(app: &TestApp, pool: &PgPool) -> String {
    sqlx::query(
        "insert into users (id, email, display_name, password_hash, role)
         select gen_random_uuid(), 'other-merchant@songda.test', 'Other', password_hash, 'merchant'
         from users where email = 'merchant@songda.test'",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into store_members (store_id, user_id, role)
         select s.id, u.id, 'owner' from stores s, users u
         where s.slug = $1 and u.email = 'other-merchant@songda.test'",
    )
    .bind(PHARMACY)
    .execute(pool)
    .await
    .unwrap();
    app.login("other-merchant@songda.test", app::demo::PASSWORD)
        .await
}

async fn scalar_i64(pool: &PgPool, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn category_of(pool: &PgPool, slug: &str) -> String {
    sqlx::query_scalar(
        "select c.id::text from categories c join stores s on s.id = c.store_id
         where s.slug = $1 order by c.position limit 1",
    )
    .bind(slug)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn on_hand(pool: &PgPool, product: &str) -> (i32, i32) {
    sqlx::query_as("select on_hand, reserved from stock_levels where product_id = $1::uuid")
        .bind(product)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// delta, on hand after, reason, note, actor's email.
type LedgerRow = (i32, i32, String, Option<String>, Option<String>);

async fn ledger_sum(pool: &PgPool, product: &str) -> i64 {
    scalar_i64(
        pool,
        "select coalesce(sum(delta), 0)::bigint from stock_ledger where product_id = $1::uuid",
        product,
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn every_console_endpoint_refuses_anonymous_wrong_roles_and_other_stores(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let store = store_id(&pool, MART).await;
    let product = product_of(&pool, MART, "").await;
    let category = category_of(&pool, MART).await;
    let csv = "category,name,unit,price\nDrinks,Water,瓶,2\n";
    let endpoints: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("merchant_catalog", vec![("page", "1")]),
        ("merchant_low_stock_count", vec![]),
        (
            "merchant_product_history",
            vec![("product_id", &product), ("page", "1")],
        ),
        (
            "merchant_save_product",
            vec![
                ("name", "New thing"),
                ("category_id", &category),
                ("unit", "个"),
                ("price", "3"),
            ],
        ),
        (
            "merchant_set_listed",
            vec![("product_id", &product), ("listed", "true")],
        ),
        (
            "merchant_adjust_stock",
            vec![
                ("product_id", &product),
                ("kind", "delivery"),
                ("quantity", "1"),
            ],
        ),
        ("merchant_save_category", vec![("name", "Another")]),
        (
            "merchant_move_category",
            vec![("category_id", &category), ("up", "true")],
        ),
        ("merchant_import_catalog", vec![("csv", csv)]),
        ("merchant_store_settings", vec![("page", "1")]),
        (
            "merchant_save_settings",
            vec![
                ("prep_time_min", "10"),
                ("delivery_radius_m", "3000"),
                ("min_order", "20"),
                ("packaging_fee", "1"),
                ("hours_1", "09:00-21:00"),
            ],
        ),
        ("merchant_set_accepting", vec![("accepting", "true")]),
        (
            "merchant_save_exception",
            vec![("day", "2030-10-01"), ("note", "国庆")],
        ),
        ("merchant_delete_exception", vec![("day", "2030-10-01")]),
    ];
    let customer = app.login_as("customer").await;
    let courier = app.login_as("courier").await;
    let other = other_merchant(&app, &pool).await;
    let owner = app.login_as("merchant").await;
    for (name, args) in &endpoints {
        let path = format!("/api/{name}");
        let mut form = vec![("store_id", store.as_str())];
        form.extend(args.iter().cloned());
        let (status, body) = json(app.post(&path, &form, None).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} anonymous: {body}");
        for (who, cookie, expected) in [
            ("customer", &customer, StatusCode::FORBIDDEN),
            ("courier", &courier, StatusCode::FORBIDDEN),
            ("other store's merchant", &other, StatusCode::NOT_FOUND),
        ] {
            let (status, body) = call(&app, &path, &form, cookie).await;
            assert_eq!(status, expected, "{name} as {who}: {body}");
        }
        let (status, body) = call(&app, &path, &form, &owner).await;
        assert_eq!(status, StatusCode::OK, "{name} as owner: {body}");
    }

    // A product of another store, named with one's own store, is not found either.
    let pharmacy = store_id(&pool, PHARMACY).await;
    let (status, _) = call(
        &app,
        "/api/merchant_adjust_stock",
        &[
            ("store_id", &pharmacy),
            ("product_id", &product),
            ("kind", "delivery"),
            ("quantity", "1"),
        ],
        &other,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        "/api/merchant_product_history",
        &[
            ("store_id", &pharmacy),
            ("product_id", &product),
            ("page", "1"),
        ],
        &other,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The plain routes: CSV download and image upload.
    let export = format!("/merchant/stores/{store}/export.csv");
    let upload = format!("/api/merchant/products/{product}/image");
    let png = b"\x89PNG\r\n\x1a\nnot really drawn".to_vec();
    for (who, cookie, expected) in [
        ("anonymous", None, StatusCode::UNAUTHORIZED),
        ("customer", Some(&customer), StatusCode::FORBIDDEN),
        ("courier", Some(&courier), StatusCode::FORBIDDEN),
        (
            "other store's merchant",
            Some(&other),
            StatusCode::NOT_FOUND,
        ),
        ("owner", Some(&owner), StatusCode::OK),
    ] {
        let res = app.get(&export, cookie.map(String::as_str)).await;
        assert_eq!(res.status(), expected, "export as {who}");
        let res = post_image(&app, &upload, png.clone(), cookie.map(String::as_str)).await;
        assert_eq!(res.status(), expected, "upload as {who}");
    }
    let res = post_image(
        &app,
        "/api/merchant/products/not-a-uuid/image",
        png.clone(),
        Some(&owner),
    )
    .await;
    assert!(res.status().is_client_error());
}

#[sqlx::test(migrations = "../migrations")]
async fn settings_are_the_owners_but_staff_may_read_them_and_pause_orders(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let bakery = store_id(&pool, BAKERY).await;
    let staff = app.login_as("merchant").await;
    let (status, s) = call(
        &app,
        "/api/merchant_store_settings",
        &[("store_id", &bakery), ("page", "1")],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["is_owner"], false);
    for (path, form) in [
        (
            "/api/merchant_save_settings",
            vec![
                ("prep_time_min", "10"),
                ("delivery_radius_m", "3000"),
                ("min_order", "20"),
                ("packaging_fee", "1"),
            ],
        ),
        ("/api/merchant_save_exception", vec![("day", "2030-10-01")]),
        (
            "/api/merchant_delete_exception",
            vec![("day", "2030-10-01")],
        ),
    ] {
        let mut f = vec![("store_id", bakery.as_str())];
        f.extend(form);
        let (status, body) = call(&app, path, &f, &staff).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // The busy switch is for whoever is in the shop.
    let (status, body) = call(
        &app,
        "/api/merchant_set_accepting",
        &[("store_id", &bakery)],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let accepting: bool = sqlx::query_scalar("select accepting_orders from stores where slug = $1")
        .bind(BAKERY)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!accepting);
    // Staff edit the catalog of their store.
    let product = product_of(&pool, BAKERY, "").await;
    let (status, body) = call(
        &app,
        "/api/merchant_adjust_stock",
        &[
            ("store_id", &bakery),
            ("product_id", &product),
            ("kind", "delivery"),
            ("quantity", "3"),
        ],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn save_product(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    call(app, "/api/merchant_save_product", form, cookie).await
}

#[sqlx::test(migrations = "../migrations")]
async fn products_are_created_and_edited_and_price_changes_are_kept(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let category = category_of(&pool, MART).await;
    let form = |price: &'static str| {
        vec![
            ("store_id", store.clone()),
            ("name", "  Osmanthus jelly 桂花糕 ".to_string()),
            ("category_id", category.clone()),
            ("unit", "box".to_string()),
            ("price", price.to_string()),
            ("low_stock_threshold", "3".to_string()),
            ("listed", "true".to_string()),
        ]
    };
    let borrow = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let create = borrow(&form("12.5"));
    let (status, p) = save_product(&app, &owner, &as_refs(&create)).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "Osmanthus jelly 桂花糕");
    assert_eq!(p["price"], 1250);
    assert_eq!(p["on_hand"], 0);
    assert_eq!(p["listed"], true);
    let id = p["id"].as_str().unwrap().to_string();
    // A new product starts with an opening line in its ledger.
    assert_eq!(
        scalar_i64(
            &pool,
            "select count(*) from stock_ledger where product_id = $1::uuid and reason = 'opening'",
            &id
        )
        .await,
        1
    );

    // The same name twice in one category would make CSV matching ambiguous.
    let (status, err) = save_product(&app, &owner, &as_refs(&create)).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
        "{err}"
    );

    let mut edit = borrow(&form("13.8"));
    edit.push(("product_id", id.clone()));
    let (status, p) = save_product(&app, &owner, &as_refs(&edit)).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["price"], 1380);
    // Saving again without a price change keeps one history row.
    let (status, _) = save_product(&app, &owner, &as_refs(&edit)).await;
    assert_eq!(status, StatusCode::OK);
    let history: Vec<(i64, i64, String)> = sqlx::query_as(
        "select h.old_price_fen, h.new_price_fen, u.email from price_history h
         join users u on u.id = h.changed_by where h.product_id = $1::uuid",
    )
    .bind(&id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        history,
        vec![(1250, 1380, "merchant@songda.test".to_string())]
    );
    let (status, h) = call(
        &app,
        "/api/merchant_product_history",
        &[("store_id", &store), ("product_id", &id), ("page", "1")],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{h}");
    assert_eq!(h["prices"]["total"], 1);
    assert_eq!(h["prices"]["items"][0]["old_price"], 1250);
    assert_eq!(h["prices"]["items"][0]["new_price"], 1380);
    assert_eq!(h["prices"]["items"][0]["changed_by"], "陈老板 Boss Chen");

    // Bad input: 422 next to its field, and nothing changes.
    let other_store_category = category_of(&pool, PHARMACY).await;
    let long_name = "长".repeat(61);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("price", "abc", "price"),
        ("price", "0", "price"),
        ("name", "   ", "name"),
        ("name", &long_name, "name"),
        ("unit", "", "unit"),
        ("low_stock_threshold", "-1", "low_stock_threshold"),
        ("category_id", &other_store_category, "category_id"),
    ];
    for (key, value, field) in cases {
        let mut f = edit.clone();
        f.retain(|(k, _)| *k != key);
        f.push((key_static(key), value.to_string()));
        let (status, err) = save_product(&app, &owner, &as_refs(&f)).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{key}={value}: {err}"
        );
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    let price: i64 = scalar_i64(
        &pool,
        "select price_fen from products where id = $1::uuid",
        &id,
    )
    .await;
    assert_eq!(price, 1380);
}

fn key_static(key: &str) -> &'static str {
    [
        "price",
        "name",
        "unit",
        "low_stock_threshold",
        "category_id",
    ]
    .into_iter()
    .find(|k| *k == key)
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn unlisted_products_leave_the_customer_menu_and_come_back(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let product = product_of(&pool, MART, "").await;
    let menu_has = |listed: bool| {
        let (app, store, product) = (&app, store.clone(), product.clone());
        async move {
            let (status, m) = json(
                app.post(
                    "/api/store_menu",
                    &[("store_id", &store), ("q", ""), ("page", "1")],
                    None,
                )
                .await,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{m}");
            let total = m["products"]["total"].as_i64().unwrap();
            let mut found = false;
            let pages = (total + 23) / 24;
            for page in 1..=pages.max(1) {
                let (_, m) = json(
                    app.post(
                        "/api/store_menu",
                        &[("store_id", &store), ("q", ""), ("page", &page.to_string())],
                        None,
                    )
                    .await,
                )
                .await;
                found |= m["products"]["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == product.as_str());
            }
            assert_eq!(found, listed);
        }
    };
    menu_has(true).await;
    let (status, p) = call(
        &app,
        "/api/merchant_set_listed",
        &[("store_id", &store), ("product_id", &product)],
        &owner,
    )
    .await;
    assert_eq!(
        (status, &p["listed"]),
        (StatusCode::OK, &Value::Bool(false))
    );
    menu_has(false).await;
    // Still in the console.
    let (_, c) = call(
        &app,
        "/api/merchant_catalog",
        &[("store_id", &store), ("page", "1"), ("q", "")],
        &owner,
    )
    .await;
    assert!(c["products"]["total"].as_i64().unwrap() > 0);
    let (status, _) = call(
        &app,
        "/api/merchant_set_listed",
        &[
            ("store_id", &store),
            ("product_id", &product),
            ("listed", "true"),
        ],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    menu_has(true).await;
}

async fn adjust(
    app: &TestApp,
    cookie: &str,
    store: &str,
    product: &str,
    kind: &str,
    qty: &str,
    note: &str,
) -> (StatusCode, Value) {
    call(
        app,
        "/api/merchant_adjust_stock",
        &[
            ("store_id", store),
            ("product_id", product),
            ("kind", kind),
            ("quantity", qty),
            ("note", note),
        ],
        cookie,
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn stock_changes_by_hand_are_ledgered_and_a_count_sets_the_absolute_value(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let product = product_of(&pool, MART, "").await;
    let (start, _) = on_hand(&pool, &product).await;

    let (status, p) = adjust(
        &app,
        &owner,
        &store,
        &product,
        "delivery",
        "10",
        "到货 truck 3",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["on_hand"], start + 10);
    let (status, p) = adjust(&app, &owner, &store, &product, "damage", "2", "broken").await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["on_hand"], start + 8);
    let (status, p) = adjust(&app, &owner, &store, &product, "count", "7", "").await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["on_hand"], 7, "a count sets what was counted");
    // Counting the same again still leaves a line (the shelf was checked).
    let (status, _) = adjust(&app, &owner, &store, &product, "count", "7", "").await;
    assert_eq!(status, StatusCode::OK);

    let rows: Vec<LedgerRow> = sqlx::query_as(
        "select l.delta, l.on_hand_after, l.reason, l.note, u.email from stock_ledger l
         left join users u on u.id = l.actor_id
         where l.product_id = $1::uuid order by l.id",
    )
    .bind(&product)
    .fetch_all(&pool)
    .await
    .unwrap();
    let merchant = Some("merchant@songda.test".to_string());
    assert_eq!(
        rows,
        vec![
            (start, start, "opening".into(), None, None),
            (
                10,
                start + 10,
                "delivery".into(),
                Some("到货 truck 3".into()),
                merchant.clone()
            ),
            (
                -2,
                start + 8,
                "damage".into(),
                Some("broken".into()),
                merchant.clone()
            ),
            (7 - (start + 8), 7, "count".into(), None, merchant.clone()),
            (0, 7, "count".into(), None, merchant.clone()),
        ]
    );
    assert_eq!(ledger_sum(&pool, &product).await, 7);

    // Refusals: too much damage, below what open orders hold, bad kind or quantity.
    let (status, err) = adjust(&app, &owner, &store, &product, "damage", "8", "").await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
        "{err}"
    );
    sqlx::query("update stock_levels set reserved = 5 where product_id = $1::uuid")
        .bind(&product)
        .execute(&pool)
        .await
        .unwrap();
    let (status, err) = adjust(&app, &owner, &store, &product, "count", "4", "").await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("held by open orders"),
        "{err}"
    );
    for (kind, qty, field) in [
        ("theft", "1", "kind"),
        ("delivery", "0", "quantity"),
        ("delivery", "100001", "quantity"),
        ("count", "-1", "quantity"),
    ] {
        let (status, err) = adjust(&app, &owner, &store, &product, kind, qty, "").await;
        assert_eq!(
            (status, err["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{kind} {qty}: {err}"
        );
    }
    let long_note = "n".repeat(201);
    let (status, err) = adjust(&app, &owner, &store, &product, "delivery", "1", &long_note).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note"))
    );
    assert_eq!(
        on_hand(&pool, &product).await,
        (7, 5),
        "refusals change nothing"
    );

    // The console's history shows the ledger, newest first.
    let (status, h) = call(
        &app,
        "/api/merchant_product_history",
        &[
            ("store_id", &store),
            ("product_id", &product),
            ("page", "1"),
        ],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["ledger"]["total"], 5);
    assert_eq!(h["ledger"]["items"][0]["reason"], "count");
    assert_eq!(h["ledger"]["items"][0]["actor"], "陈老板 Boss Chen");
}

#[sqlx::test(migrations = "../migrations")]
async fn products_at_or_below_their_threshold_raise_the_low_stock_alert(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    // Everything comfortably stocked, then two products run low (one of them unlisted).
    sqlx::query("update stock_levels set on_hand = 100, reserved = 0 where store_id = $1::uuid")
        .bind(&store)
        .execute(&pool)
        .await
        .unwrap();
    let count = |app: &TestApp| {
        let (store, owner) = (store.clone(), owner.clone());
        let app = app.base.clone();
        async move {
            let res = client()
                .post(format!("{app}/api/merchant_low_stock_count"))
                .header(COOKIE, owner)
                .form(&[("store_id", store)])
                .send()
                .await
                .unwrap();
            res.json::<i64>().await.unwrap()
        }
    };
    assert_eq!(count(&app).await, 0);
    let low: Vec<String> = sqlx::query_scalar(
        "select id::text from products where store_id = $1::uuid order by name limit 2",
    )
    .bind(&store)
    .fetch_all(&pool)
    .await
    .unwrap();
    for p in &low {
        let (status, _) = adjust(&app, &owner, &store, p, "count", "5", "").await;
        assert_eq!(status, StatusCode::OK);
    }
    // At the threshold (5 by default) counts as low.
    assert_eq!(count(&app).await, 2);
    // Reservations count: what customers can still buy is what matters.
    sqlx::query("update products set low_stock_threshold = 3 where id = $1::uuid")
        .bind(&low[0])
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count(&app).await, 1);
    sqlx::query("update stock_levels set reserved = 2 where product_id = $1::uuid")
        .bind(&low[0])
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count(&app).await, 2);
    let (status, c) = call(
        &app,
        "/api/merchant_catalog",
        &[("store_id", &store), ("page", "1"), ("low_only", "true")],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["low_stock_count"], 2);
    assert_eq!(c["products"]["total"], 2);
    let ids: Vec<&str> = c["products"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(low.iter().all(|l| ids.contains(&l.as_str())));
    // An unlisted product is not sold, so it does not alert.
    call(
        &app,
        "/api/merchant_set_listed",
        &[("store_id", &store), ("product_id", &low[1])],
        &owner,
    )
    .await;
    assert_eq!(count(&app).await, 1);
    // The whole list paginates.
    let (_, all) = call(
        &app,
        "/api/merchant_catalog",
        &[("store_id", &store), ("page", "2")],
        &owner,
    )
    .await;
    assert_eq!(all["products"]["page"], 2);
    assert!(all["products"]["total"].as_i64().unwrap() > 25);
}

#[sqlx::test(migrations = "../migrations")]
async fn categories_are_created_renamed_and_reordered(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let (status, c) = call(
        &app,
        "/api/merchant_save_category",
        &[("store_id", &store), ("name", "Seasonal 时令")],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let last = c["position"].as_i64().unwrap();
    let (status, err) = call(
        &app,
        "/api/merchant_save_category",
        &[("store_id", &store), ("name", "Seasonal 时令")],
        &owner,
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
        "{err}"
    );
    let (status, c) = call(
        &app,
        "/api/merchant_save_category",
        &[
            ("store_id", &store),
            ("category_id", &id),
            ("name", "Autumn 秋季"),
        ],
        &owner,
    )
    .await;
    assert_eq!(
        (status, &c["name"]),
        (StatusCode::OK, &Value::from("Autumn 秋季"))
    );
    let (status, all) = call(
        &app,
        "/api/merchant_move_category",
        &[("store_id", &store), ("category_id", &id), ("up", "true")],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let order: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(order.iter().position(|c| *c == id), Some(last as usize - 1));
    let positions: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (0..positions.len() as i64).collect::<Vec<_>>());
    // The customer menu follows the new order.
    let (_, m) = json(
        app.post(
            "/api/store_menu",
            &[("store_id", &store), ("q", ""), ("page", "1")],
            None,
        )
        .await,
    )
    .await;
    let tabs: Vec<&str> = m["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(tabs, order);
    // Another store's category is not found.
    let theirs = category_of(&pool, PHARMACY).await;
    let (status, _) = call(
        &app,
        "/api/merchant_save_category",
        &[
            ("store_id", &store),
            ("category_id", &theirs),
            ("name", "Mine now"),
        ],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn import(
    app: &TestApp,
    cookie: &str,
    store: &str,
    csv: &str,
    apply: bool,
) -> (StatusCode, Value) {
    call(
        app,
        "/api/merchant_import_catalog",
        &[
            ("store_id", store),
            ("csv", csv),
            ("apply", if apply { "true" } else { "false" }),
        ],
        cookie,
    )
    .await
}

async fn catalog_snapshot(
    pool: &PgPool,
    store: &str,
) -> Vec<(String, String, i64, bool, i32, i32, Option<String>)> {
    sqlx::query_as(
        "select c.name, p.name, p.price_fen, p.listed, p.low_stock_threshold, s.on_hand, p.restricted
         from products p join categories c on c.id = p.category_id
         join stock_levels s on s.product_id = p.id
         where p.store_id = $1::uuid order by c.name, p.name",
    )
    .bind(store)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_csv_dry_run_reports_each_row_and_changes_nothing(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let existing = product_of(&pool, MART, "").await;
    let before = catalog_snapshot(&pool, &store).await;
    let ledger_before = scalar_i64(
        &pool,
        "select count(*) from stock_ledger where store_id = $1::uuid",
        &store,
    )
    .await;
    let csv = format!(
        "category,name,unit,price,on_hand,product_id\n\
         Autumn 秋季,Chestnuts 板栗,500g,15.80,20,\n\
         Autumn 秋季,Bad price,500g,free,1,\n\
         Autumn 秋季,Chestnuts 板栗,500g,15.80,20,\n\
         ,No category,个,1,,\n\
         Drinks,Ghost,个,1,,{}\n\
         Drinks,Too many,个,1,-5,\n\
         Drinks,Updated,个,1.5,33,{existing}\n",
        uuid::Uuid::now_v7()
    );
    let (status, r) = import(&app, &owner, &store, &csv, false).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["applied"], false);
    assert_eq!(
        (
            r["created"].as_u64(),
            r["updated"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(5)),
        "{r}"
    );
    let rows = r["rows"].as_array().unwrap();
    let line = |n: u64| {
        rows.iter()
            .find(|row| row["line"] == n)
            .unwrap_or_else(|| panic!("line {n}: {r}"))
    };
    assert_eq!(line(2)["outcome"], "create");
    for (n, column) in [
        (3, "price:"),
        (4, "name:"),
        (5, "category:"),
        (6, "product_id:"),
        (7, "on_hand:"),
    ] {
        assert_eq!(line(n)["outcome"], "error", "{n}");
        assert!(
            line(n)["message"].as_str().unwrap().starts_with(column),
            "line {n}: {}",
            line(n)
        );
    }
    assert_eq!(line(8)["outcome"], "update");
    assert_eq!(
        catalog_snapshot(&pool, &store).await,
        before,
        "a dry run changes nothing"
    );
    assert_eq!(
        scalar_i64(
            &pool,
            "select count(*) from stock_ledger where store_id = $1::uuid",
            &store
        )
        .await,
        ledger_before
    );
    // A file without the columns is refused as a whole, next to the file field.
    let (status, err) = import(&app, &owner, &store, "foo,bar\n1,2\n", false).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("csv")),
        "{err}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn applying_a_csv_imports_good_rows_skips_bad_ones_whole_and_is_idempotent(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let held = product_of(&pool, MART, "").await;
    let (held_name, held_category, held_price): (String, String, i64) = sqlx::query_as(
        "select p.name, c.name, p.price_fen from products p join categories c on c.id = p.category_id
         where p.id = $1::uuid",
    )
    .bind(&held)
    .fetch_one(&pool)
    .await
    .unwrap();
    // Open orders hold 6 of this product.
    sqlx::query("update stock_levels set on_hand = 10, reserved = 6 where product_id = $1::uuid")
        .bind(&held)
        .execute(&pool)
        .await
        .unwrap();
    // Line 3 changes the price AND counts below what is held: the count fails in the database
    // step after the price was written, so the whole row is rolled back (price included).
    let csv = format!(
        "product_id,category,name,unit,price,listed,low_stock_threshold,on_hand\n\
         ,Autumn 秋季,Chestnuts 板栗,500g,15.80,yes,4,20\n\
         {held},{held_category},{held_name},个,99.99,yes,,2\n\
         ,Autumn 秋季,Persimmon 柿子,个,3,no,,\n\
         ,Autumn 秋季,Broken,个,-3,no,,\n"
    );
    let (status, r) = import(&app, &owner, &store, &csv, true).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["applied"], true);
    assert_eq!(
        (
            r["created"].as_u64(),
            r["updated"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(2), Some(0), Some(2)),
        "{r}"
    );
    let held_row = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["line"] == 3)
        .unwrap();
    assert!(
        held_row["message"]
            .as_str()
            .unwrap()
            .starts_with("on_hand:"),
        "{held_row}"
    );
    let price: i64 = scalar_i64(
        &pool,
        "select price_fen from products where id = $1::uuid",
        &held,
    )
    .await;
    assert_eq!(price, held_price, "the failed row left no trace");
    assert_eq!(
        scalar_i64(
            &pool,
            "select count(*) from price_history where product_id = $1::uuid",
            &held
        )
        .await,
        0
    );
    assert_eq!(on_hand(&pool, &held).await, (10, 6));
    let chestnuts: (i64, bool, i32, i32) = sqlx::query_as(
        "select p.price_fen, p.listed, p.low_stock_threshold, s.on_hand from products p
         join stock_levels s on s.product_id = p.id where p.name = 'Chestnuts 板栗'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(chestnuts, (1580, true, 4, 20));
    let persimmon_listed: bool =
        sqlx::query_scalar("select listed from products where name = 'Persimmon 柿子'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!persimmon_listed);
    let import_lines = scalar_i64(
        &pool,
        "select count(*) from stock_ledger l join products p on p.id = l.product_id
         where p.name = $1 and l.reason = 'import'",
        "Chestnuts 板栗",
    )
    .await;
    assert_eq!(import_lines, 1);

    // The same file again: nothing new, nothing changed, the bad rows still reported.
    let snapshot = catalog_snapshot(&pool, &store).await;
    let ledger = scalar_i64(
        &pool,
        "select count(*) from stock_ledger where store_id = $1::uuid",
        &store,
    )
    .await;
    let (status, r) = import(&app, &owner, &store, &csv, true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            r["created"].as_u64(),
            r["updated"].as_u64(),
            r["unchanged"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(0), Some(0), Some(2), Some(2)),
        "{r}"
    );
    assert_eq!(catalog_snapshot(&pool, &store).await, snapshot);
    assert_eq!(
        scalar_i64(
            &pool,
            "select count(*) from stock_ledger where store_id = $1::uuid",
            &store
        )
        .await,
        ledger
    );

    // Fixing the row and importing again updates it, price history and count included.
    let fixed = csv.replace(",99.99,yes,,2\n", ",99.99,yes,,8\n");
    let (_, r) = import(&app, &owner, &store, &fixed, true).await;
    assert_eq!(r["updated"], 1, "{r}");
    assert_eq!(on_hand(&pool, &held).await, (8, 6));
    assert_eq!(
        scalar_i64(
            &pool,
            "select new_price_fen from price_history where product_id = $1::uuid",
            &held
        )
        .await,
        9999
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_csv_export_downloads_and_imports_back_unchanged(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    sqlx::query("update products set name = '=HYPERLINK(1)' where id = (select id from products where store_id = $1::uuid order by id limit 1)")
        .bind(&store)
        .execute(&pool)
        .await
        .unwrap();
    let res = app
        .get(
            &format!("/merchant/stores/{store}/export.csv"),
            Some(&owner),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = String::from_utf8(res.bytes().await.unwrap().to_vec()).unwrap();
    assert!(text.starts_with(
        "\u{feff}product_id,category,name,unit,price,listed,low_stock_threshold,on_hand,restricted\n"
    ));
    assert!(text.contains(",'=HYPERLINK(1),"), "formulas are defused");
    let products = scalar_i64(
        &pool,
        "select count(*) from products where store_id = $1::uuid",
        &store,
    )
    .await;
    assert_eq!(text.lines().count() as i64, products + 1);
    let before = catalog_snapshot(&pool, &store).await;
    let (status, r) = import(&app, &owner, &store, &text, true).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["unchanged"].as_i64(), Some(products), "{r}");
    assert_eq!(catalog_snapshot(&pool, &store).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_csv_carries_the_id_check_of_restricted_goods(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let product = product_of(&pool, MART, "").await;
    sqlx::query("update products set restricted = 'alcohol' where id = $1::uuid")
        .bind(&product)
        .execute(&pool)
        .await
        .unwrap();
    let restricted = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "select restricted from products where id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let text = String::from_utf8(
        app.get(
            &format!("/merchant/stores/{store}/export.csv"),
            Some(&owner),
        )
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec(),
    )
    .unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with(&product))
        .unwrap()
        .to_string();
    assert!(row.ends_with(",alcohol"), "{row}");
    assert!(
        text.lines().skip(1).all(|l| {
            let kind = l.rsplit(',').next().unwrap();
            ["none", "medicine", "alcohol", "tobacco"].contains(&kind)
        }),
        "every row says whether it needs an ID check"
    );
    let header = text.lines().next().unwrap();
    let file = |rows: &[&str]| format!("{header}\n{}\n", rows.join("\n"));
    let cleared = row.replace(",alcohol", ",none");

    // A wrong kind is refused with the column named, and changes nothing.
    let wrong = row.replace(",alcohol", ",wine");
    let (_, r) = import(&app, &owner, &store, &file(&[&wrong]), true).await;
    assert_eq!(r["failed"], 1, "{r}");
    let message = r["rows"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("restricted:"), "{message}");
    assert_eq!(
        restricted(product.clone()).await.as_deref(),
        Some("alcohol")
    );

    // "none" clears the check, the exported value sets it again, an empty cell keeps it.
    let (_, r) = import(&app, &owner, &store, &file(&[&cleared]), true).await;
    assert_eq!(r["updated"], 1, "{r}");
    assert_eq!(restricted(product.clone()).await, None);
    let (_, r) = import(&app, &owner, &store, &file(&[&row]), true).await;
    assert_eq!(r["updated"], 1, "{r}");
    assert_eq!(
        restricted(product.clone()).await.as_deref(),
        Some("alcohol")
    );
    let kept = row.replace(",alcohol", ",");
    let (_, r) = import(&app, &owner, &store, &file(&[&kept]), true).await;
    assert_eq!(r["unchanged"], 1, "{r}");
    assert_eq!(
        restricted(product.clone()).await.as_deref(),
        Some("alcohol")
    );

    // A new product comes in with its check.
    let (_, r) = import(
        &app,
        &owner,
        &store,
        &file(&[",Drinks,Rice wine 黄酒,bottle,35.00,yes,3,12,alcohol"]),
        true,
    )
    .await;
    assert_eq!(r["created"], 1, "{r}");
    let created = product_of(&pool, MART, "Rice wine").await;
    assert_eq!(restricted(created).await.as_deref(), Some("alcohol"));
}

async fn post_image(
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}{path}", app.base))
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(body);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn product_images_are_checked_stored_by_content_and_cached(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let product = product_of(&pool, MART, "").await;
    let path = format!("/api/merchant/products/{product}/image");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(std::iter::repeat_n(7u8, 100 * 1024));
    let res = post_image(&app, &path, png.clone(), Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let p: Value = res.json().await.unwrap();
    let url = p["image_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/media/") && url.ends_with(".png"), "{url}");
    assert_eq!(url.len(), "/media/".len() + 64 + 4);

    let res = app.get(&url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(
        res.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);

    // Not an image (whatever the client claims), too large, or a path trick: refused.
    let res = post_image(&app, &path, b"<svg onload=alert(1)>".to_vec(), Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, err) = json(res).await;
    assert!(err["message"].as_str().unwrap().contains("PNG"), "{err}");
    let mut huge = b"\xff\xd8\xff".to_vec();
    huge.resize(2 * 1024 * 1024 + 1, 0);
    let res = post_image(&app, &path, huge, Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut max = b"\xff\xd8\xff".to_vec();
    max.resize(2 * 1024 * 1024, 0);
    let res = post_image(&app, &path, max, Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::OK, "exactly 2 MiB is allowed");
    for bad in [
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/abc.png",
        &format!("/media/{}.svg", "a".repeat(64)),
        &format!("/media/{}.png", "b".repeat(64)),
    ] {
        assert_eq!(
            app.get(bad, None).await.status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // The image shows in the console.
    let store = store_id(&pool, MART).await;
    let (_, h) = call(
        &app,
        "/api/merchant_product_history",
        &[
            ("store_id", &store),
            ("product_id", &product),
            ("page", "1"),
        ],
        &owner,
    )
    .await;
    assert!(
        h["product"]["image_url"]
            .as_str()
            .unwrap()
            .ends_with(".jpg")
    );
    // …and to customers on the menu.
    let name: String = sqlx::query_scalar("select name from products where id = $1::uuid")
        .bind(&product)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, m) = json(
        app.post(
            "/api/store_menu",
            &[
                ("store_id", store.as_str()),
                ("q", name.as_str()),
                ("page", "1"),
            ],
            None,
        )
        .await,
    )
    .await;
    let card = m["products"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == product.as_str())
        .unwrap_or_else(|| panic!("{m}"))
        .clone();
    assert_eq!(card["image_url"], h["product"]["image_url"]);
}

async fn settings(
    app: &TestApp,
    cookie: &str,
    store: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = vec![
        ("store_id", store),
        ("prep_time_min", "25"),
        ("delivery_radius_m", "4500"),
        ("min_order", "30"),
        ("packaging_fee", "1.5"),
        ("pickup_enabled", "true"),
        ("hours_1", "09:00-21:00"),
        ("hours_2", "09:00-21:00"),
        ("hours_3", "09:00-21:00"),
        ("hours_4", "09:00-21:00"),
        ("hours_5", "10:30-14:00, 16:30-24:00"),
        ("hours_6", ""),
        ("hours_7", "00:00-24:00"),
    ];
    for (k, v) in extra {
        form.retain(|(kk, _)| kk != k);
        form.push((*k, *v));
    }
    call(app, "/api/merchant_save_settings", &form, cookie).await
}

#[sqlx::test(migrations = "../migrations")]
async fn the_owner_sets_hours_fees_and_holidays(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let owner = app.login_as("merchant").await;
    let store = store_id(&pool, MART).await;
    let (status, body) = settings(&app, &owner, &store, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, s) = call(
        &app,
        "/api/merchant_store_settings",
        &[("store_id", &store), ("page", "1")],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["is_owner"], true);
    assert_eq!(
        (s["prep_time_min"].as_i64(), s["delivery_radius_m"].as_i64()),
        (Some(25), Some(4500))
    );
    assert_eq!(
        (s["min_order"].as_i64(), s["packaging_fee"].as_i64()),
        (Some(3000), Some(150))
    );
    assert_eq!(s["week"][4].as_array().unwrap().len(), 2);
    assert_eq!(s["week"][5].as_array().unwrap().len(), 0, "Saturday closed");
    assert_eq!(s["week"][6][0]["closes_min"], 1440);
    assert_eq!(
        (
            s["accept_timeout_min"].as_i64(),
            s["missing_default"].as_str()
        ),
        (Some(5), Some("refund")),
        "left out: kept as they were"
    );
    let (status, body) = settings(
        &app,
        &owner,
        &store,
        &[
            ("accept_timeout_min", "12"),
            ("missing_default", "substitute"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, s) = call(
        &app,
        "/api/merchant_store_settings",
        &[("store_id", &store), ("page", "1")],
        &owner,
    )
    .await;
    assert_eq!(
        (
            s["accept_timeout_min"].as_i64(),
            s["missing_default"].as_str()
        ),
        (Some(12), Some("substitute"))
    );

    for (field, value) in [
        ("accept_timeout_min", "0"),
        ("missing_default", "ignore"),
        ("hours_3", "9-10"),
        ("hours_3", "12:00-10:00"),
        ("delivery_radius_m", "10"),
        ("packaging_fee", "abc"),
        ("prep_time_min", "999"),
    ] {
        let (status, err) = settings(&app, &owner, &store, &[(field, value)]).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{field}={value}: {err}"
        );
    }

    // Holidays: closed all day, or special hours on a date.
    let (status, body) = call(
        &app,
        "/api/merchant_save_exception",
        &[
            ("store_id", &store),
            ("day", "2030-10-01"),
            ("hours", ""),
            ("note", "国庆"),
        ],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &app,
        "/api/merchant_save_exception",
        &[
            ("store_id", &store),
            ("day", "2030-10-02"),
            ("hours", "10:00-14:00"),
        ],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = call(
        &app,
        "/api/merchant_save_exception",
        &[("store_id", &store), ("day", "1 Oct"), ("hours", "")],
        &owner,
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("day"))
    );
    let (_, s) = call(
        &app,
        "/api/merchant_store_settings",
        &[("store_id", &store), ("page", "1")],
        &owner,
    )
    .await;
    assert_eq!(s["exceptions"]["total"], 2);
    assert_eq!(s["exceptions"]["items"][0]["hours"], Value::Null);
    assert_eq!(s["exceptions"]["items"][1]["hours"]["opens_min"], 600);
    let open = |at: &'static str| {
        let (pool, store) = (pool.clone(), store.clone());
        async move {
            sqlx::query_scalar::<_, bool>(
                "select store_open_at($1::uuid, 'Asia/Shanghai', $2::timestamptz)",
            )
            .bind(store)
            .bind(at)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // 2030-10-01 is a Tuesday (09:00-21:00 normally); 2030-10-02 a Wednesday.
    assert!(open("2030-09-24 12:00+08").await, "a normal Tuesday noon");
    assert!(!open("2030-10-01 12:00+08").await, "closed all day");
    assert!(open("2030-10-02 11:00+08").await);
    assert!(
        !open("2030-10-02 15:00+08").await,
        "special hours end at 14:00"
    );
    let (status, _) = call(
        &app,
        "/api/merchant_delete_exception",
        &[("store_id", &store), ("day", "2030-10-01")],
        &owner,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(open("2030-10-01 12:00+08").await);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_paused_store_is_refused_at_quote_and_checkout_with_a_clear_message(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    sqlx::query(
        "insert into store_members (store_id, user_id, role)
         select s.id, u.id, 'owner' from stores s, users u
         where s.slug = $1 and u.email = 'merchant@songda.test'",
    )
    .bind(PHARMACY)
    .execute(&pool)
    .await
    .unwrap();
    let merchant = app.login_as("merchant").await;
    let customer = app.login_as("customer").await;
    let store = store_id(&pool, PHARMACY).await;
    let product = product_of(&pool, PHARMACY, "ibuprofen").await;
    sqlx::query("update stock_levels set on_hand = 10, reserved = 0 where product_id = $1::uuid")
        .bind(&product)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = call(
        &app,
        "/api/set_cart_quantity",
        &[("product_id", &product), ("quantity", "1")],
        &customer,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let quote_form = [
        ("store_id", store.as_str()),
        ("tip_fen", "0"),
        ("fulfilment", "pickup"),
    ];
    let (status, q) = call(&app, "/api/get_quote", &quote_form, &customer).await;
    assert_eq!(status, StatusCode::OK, "{q}");

    let (status, _) = call(
        &app,
        "/api/merchant_set_accepting",
        &[("store_id", &store), ("accepting", "false")],
        &merchant,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Customers see it closed in store lists and on its page.
    let (_, m) = json(
        app.post(
            "/api/store_menu",
            &[("store_id", store.as_str()), ("q", ""), ("page", "1")],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(m["store"]["open_now"], false, "{m}");
    let (status, err) = call(
        &app,
        "/api/place_order",
        &[
            ("quote_id", q["id"].as_str().unwrap()),
            ("idempotency_key", "paused-1"),
            ("notes", ""),
        ],
        &customer,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("stopped taking orders"),
        "{err}"
    );
    let (status, err) = call(&app, "/api/get_quote", &quote_form, &customer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not taking orders"),
        "{err}"
    );
    assert_eq!(on_hand(&pool, &product).await, (10, 0), "nothing reserved");

    let (status, _) = call(
        &app,
        "/api/merchant_set_accepting",
        &[("store_id", &store), ("accepting", "true")],
        &merchant,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, q) = call(&app, "/api/get_quote", &quote_form, &customer).await;
    assert_eq!(status, StatusCode::OK, "{q}");
}

fn as_refs<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_console_pages_render_for_members_and_refuse_everyone_else(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let mart = store_id(&pool, MART).await;
    let bakery = store_id(&pool, BAKERY).await;
    let pharmacy = store_id(&pool, PHARMACY).await;
    let merchant = app.login_as("merchant").await;
    let customer = app.login_as("customer").await;
    let catalog = format!("/merchant/stores/{mart}/catalog");
    let settings = format!("/merchant/stores/{mart}/settings");
    for path in [&catalog, &settings] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::FOUND, "{path}");
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next=")
        );
        let res = app.get(path, Some(&customer)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    for path in [
        format!("/merchant/stores/{pharmacy}/catalog"),
        format!("/merchant/stores/{pharmacy}/settings"),
        "/merchant/stores/not-a-uuid/catalog".to_string(),
    ] {
        let res = app.get(&path, Some(&merchant)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }

    let res = app.get(&format!("{catalog}?low=1"), Some(&merchant)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for marker in [
        "catalog-admin",
        "low-stock-count",
        "low-stock-filter",
        "export-csv",
        "csv-import",
        "new-product",
    ] {
        assert!(
            html.contains(&format!("data-test=\"{marker}\"")),
            "{marker}"
        );
    }
    let res = app.get(&catalog, Some(&merchant)).await;
    let html = res.text().await.unwrap();
    assert!(html.contains("data-test=\"admin-product\""));
    assert!(html.contains("data-test=\"pager\""));

    let res = app.get(&settings, Some(&merchant)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-test=\"settings-form\""));
    assert!(
        html.contains("data-test=\"exception-form\""),
        "owners add holidays"
    );
    assert!(!html.contains("data-test=\"owner-only\""));
    // Staff see the settings, read-only, and the busy switch.
    let res = app
        .get(
            &format!("/merchant/stores/{bakery}/settings"),
            Some(&merchant),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-test=\"owner-only\""));
    assert!(html.contains("data-test=\"toggle-accepting\""));
    assert!(!html.contains("data-test=\"exception-form\""));
}
