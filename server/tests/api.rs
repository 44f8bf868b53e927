//! API tests: the real router on a random port, a fresh database per test (sqlx::test creates
//! it on the server in DATABASE_URL and applies the migrations), real HTTP with cookies.

mod common;

use app::state::Settings;
use common::*;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn sign_up_log_out_and_log_in_again(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .post(
            "/api/signup",
            &[
                ("login", "13812345678"),
                ("password", "correct horse"),
                ("display_name", "Xiao Ming"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let raw = res
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && raw.contains("Path=/"),
        "{raw}"
    );
    assert!(
        !raw.contains("Secure"),
        "plain http must not set Secure: {raw}"
    );
    let cookie = session_cookie(res.headers()).unwrap();
    let target: Value = res.json().await.unwrap();
    assert_eq!(target, "/");

    let me = app.me(Some(&cookie)).await;
    assert_eq!(me["display_name"], "Xiao Ming");
    assert_eq!(me["role"], "customer");
    assert!(me.get("password_hash").is_none());

    let res = app.post("/api/logout", &[], Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The old cookie is dead on the server, not just forgotten by the browser.
    assert_eq!(app.me(Some(&cookie)).await, Value::Null);
    let (status, _) = json(app.post("/api/logout", &[], Some(&cookie)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let again = app.login("+86 138 1234 5678", "correct horse").await;
    assert_eq!(app.me(Some(&again)).await["display_name"], "Xiao Ming");
}

#[sqlx::test(migrations = "../migrations")]
async fn session_id_rotates_at_login_and_tokens_are_long(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = app.login_as("customer").await;
    let res = app
        .post(
            "/api/login",
            &[
                ("login", "customer@songda.test"),
                ("password", app::demo::PASSWORD),
            ],
            Some(&first),
        )
        .await;
    let second = session_cookie(res.headers()).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.me(Some(&first)).await,
        Value::Null,
        "the pre-login session must end"
    );
    assert_eq!(app.me(Some(&second)).await["role"], "customer");
    let token = second.split_once('=').unwrap().1;
    // 43 base64url characters = 256 bits.
    assert!(token.len() >= 43, "{token}");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_sign_up_input_is_refused_next_to_its_field_and_creates_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let users_before: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let cases = [
        ("12345", "long enough pw", "login"),
        ("someone@", "long enough pw", "login"),
        ("someone@example.cn", "short", "password"),
        // Taken by the demo city.
        ("customer@songda.test", "long enough pw", "login"),
    ];
    for (login, password, field) in cases {
        let res = app
            .post(
                "/api/signup",
                &[
                    ("login", login),
                    ("password", password),
                    ("display_name", ""),
                ],
                None,
            )
            .await;
        assert!(res.headers().get(SET_COOKIE).is_none());
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{login}");
        assert_eq!(body["kind"], "validation");
        assert_eq!(body["field"], field, "{login}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let users_after: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users_before, users_after);
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_password_and_unknown_account_get_the_same_answer(pool: PgPool) {
    let app = spawn_app(pool).await;
    let wrong = json(
        app.post(
            "/api/login",
            &[
                ("login", "customer@songda.test"),
                ("password", "not the password"),
            ],
            None,
        )
        .await,
    )
    .await;
    let unknown = json(
        app.post(
            "/api/login",
            &[
                ("login", "nobody@songda.test"),
                ("password", "not the password"),
            ],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
}

#[sqlx::test(migrations = "../migrations")]
async fn repeated_logins_from_one_address_are_slowed_down(pool: PgPool) {
    let settings = Settings {
        auth_burst: std::num::NonZeroU32::new(3).unwrap(),
        auth_refill: std::time::Duration::from_secs(60),
        ..Settings::default()
    };
    let app = spawn_with(pool, settings).await;
    for _ in 0..3 {
        let res = app
            .post(
                "/api/login",
                &[("login", "customer@songda.test"), ("password", "wrong one")],
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now: the limit is on attempts, not only on failures.
    let res = app
        .post(
            "/api/login",
            &[
                ("login", "customer@songda.test"),
                ("password", app::demo::PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (_, body) = json(res).await;
    assert_eq!(body["kind"], "too_many_requests");
}

/// Every guarded endpoint: anonymous → 401, every wrong role → 403, the right role → 200.
#[sqlx::test(migrations = "../migrations")]
async fn role_guards_refuse_anonymous_and_wrong_roles(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut cookies = std::collections::HashMap::new();
    for role in ["customer", "merchant", "courier", "ops"] {
        cookies.insert(role, app.login_as(role).await);
    }
    type Form<'a> = &'a [(&'a str, &'a str)];
    let guarded: [(&str, Form, &str); 3] = [
        ("/api/my_stores", &[("page", "1")], "merchant"),
        ("/api/courier_profile", &[], "courier"),
        ("/api/city_overview", &[("page", "1")], "ops"),
    ];
    for (path, form, owner) in guarded {
        let (status, body) = json(app.post(path, form, None).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} anonymous: {body}");
        for (role, cookie) in &cookies {
            let status = app.post(path, form, Some(cookie)).await.status();
            let expected = if *role == owner {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{path} as {role}");
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn merchants_see_only_their_own_stores(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let merchant = app.login_as("merchant").await;
    let own: String = sqlx::query_scalar(
        "select s.id::text from stores s join store_members m on m.store_id = s.id order by s.name limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let other: String = sqlx::query_scalar(
        "select id::text from stores where id not in (select store_id from store_members) order by name limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    let (status, body) = json(
        app.post(
            "/api/store_stock",
            &[("store_id", &own), ("page", "1")],
            Some(&merchant),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["lines"]["total"].as_i64().unwrap() > 0);

    let (status, _) = json(
        app.post(
            "/api/store_stock",
            &[("store_id", &other), ("page", "1")],
            Some(&merchant),
        )
        .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another store's stock must be refused"
    );
    let customer = app.login_as("customer").await;
    let status = app
        .post(
            "/api/store_stock",
            &[("store_id", &own), ("page", "1")],
            Some(&customer),
        )
        .await
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN);
    let status = app
        .post(
            "/api/store_stock",
            &[("store_id", &own), ("page", "1")],
            None,
        )
        .await
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, mine) = json(
        app.post("/api/my_stores", &[("page", "1")], Some(&merchant))
            .await,
    )
    .await;
    assert_eq!(mine["total"], 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_send_anonymous_users_to_log_in_and_refuse_wrong_roles(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.get("/merchant", None).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login?next=/merchant");

    let customer = app.login_as("customer").await;
    let res = app.get("/ops", Some(&customer)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("data-test=\"forbidden\"")
    );

    for role in ["merchant", "courier", "ops"] {
        let cookie = app.login_as(role).await;
        let res = app.get(&format!("/{role}"), Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "{role}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains(&format!("data-test=\"{role}-home\"")),
            "{role}"
        );
    }
    let res = app.get("/no/such/page", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn cross_site_posts_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let url = format!("{}/api/login", app.base);
    let form = [
        ("login", "customer@songda.test"),
        ("password", app::demo::PASSWORD),
    ];
    let evil = client()
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    assert!(evil.headers().get(SET_COOKIE).is_none());
    let fetch = client()
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(fetch.status(), StatusCode::FORBIDDEN);
    let same = client()
        .post(&url)
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn internal_errors_show_a_request_id_and_nothing_else(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    // Break the database under the running server.
    sqlx::query("alter table users rename to users_gone")
        .execute(&pool)
        .await
        .unwrap();
    let res = app
        .post(
            "/api/login",
            &[("login", "customer@songda.test"), ("password", "whatever1")],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["kind"], "internal");
    assert_eq!(parsed["request_id"], request_id.as_str());
    for leak in [
        "users", "relation", "sqlx", "select", "postgres", ".rs", "/src/", "panicked", "stack",
    ] {
        assert!(
            !body.to_lowercase().contains(leak),
            "body leaks {leak:?}: {body}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn mutations_are_never_reachable_with_get(pool: PgPool) {
    let app = spawn_app(pool).await;
    for path in [
        "/api/login?login=customer%40songda.test&password=songda-demo",
        "/api/logout",
        "/api/signup",
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert!(res.headers().get(SET_COOKIE).is_none());
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn oversized_bodies_get_413(pool: PgPool) {
    let app = spawn_app(pool).await;
    let big = "x".repeat(200 * 1024);
    let res = app
        .post("/api/login", &[("login", &big), ("password", "x")], None)
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test(migrations = "../migrations")]
async fn every_response_carries_security_headers(pool: PgPool) {
    let app = spawn_app(pool).await;
    for path in ["/", "/login", "/healthz", "/no/such/page"] {
        let res = app.get(path, None).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("referrer-policy"));
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS on plain http"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_allow_only_the_inline_scripts_carrying_their_nonce(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.get("/login", None).await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = res.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("page CSP carries a nonce");
    let script_src = |csp: &str| {
        csp.split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap()
            .to_string()
    };
    assert!(!script_src(&csp).contains("unsafe-inline"), "{csp}");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script must carry the nonce"
    );
    let again = app.get("/login", None).await;
    let csp2 = again.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp2.contains(nonce), "each page render gets a fresh nonce");
    let api = app.post("/api/me", &[], None).await;
    let api_csp = api.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        !api_csp.contains("nonce") && !script_src(api_csp).contains("unsafe-inline"),
        "{api_csp}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn https_deployments_get_host_prefixed_secure_cookies_and_hsts(pool: PgPool) {
    let settings = Settings {
        secure: true,
        ..Settings::default()
    };
    let app = spawn_with(pool, settings).await;
    let res = app
        .post(
            "/api/login",
            &[
                ("login", "ops@songda.test"),
                ("password", app::demo::PASSWORD),
            ],
            None,
        )
        .await;
    let raw = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(raw.starts_with("__Host-songda_session="), "{raw}");
    assert!(
        raw.contains("; Secure") && raw.contains("HttpOnly") && raw.contains("Path=/"),
        "{raw}"
    );
    assert!(res.headers().contains_key("strict-transport-security"));
}

#[sqlx::test(migrations = "../migrations")]
async fn health_and_readiness(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn login_page_lists_demo_accounts_in_demo_mode_only(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, accounts) = json(app.post("/api/demo_accounts", &[], None).await).await;
    assert_eq!(accounts.as_array().unwrap().len(), 4);

    let quiet = spawn_with(
        pool,
        Settings {
            demo_mode: false,
            ..Settings::default()
        },
    )
    .await;
    let (_, accounts) = json(quiet.post("/api/demo_accounts", &[], None).await).await;
    assert_eq!(accounts, serde_json::json!([]));
}

#[sqlx::test(migrations = "../migrations")]
async fn customers_browse_a_store_by_category_and_search(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let store = store_id(&pool, "songda-mart-jingan").await;
    let menu = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            json(app.post("/api/store_menu", &form, None).await).await
        }
    };
    let base = |extra: &[(&'static str, &str)]| {
        let mut f = vec![("store_id", store.clone()), ("page", "1".to_string())];
        f.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        if !f.iter().any(|(k, _)| *k == "q") {
            f.push(("q", String::new()));
        }
        f
    };

    // Anonymous visitors may browse.
    let (status, all) = menu(base(&[])).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let listed: i64 =
        sqlx::query_scalar("select count(*) from products where store_id::text = $1 and listed")
            .bind(&store)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(all["products"]["total"], listed);
    let tabs = all["categories"].as_array().unwrap();
    assert_eq!(tabs.len(), 4);
    assert_eq!(
        tabs.iter()
            .map(|t| t["products"].as_i64().unwrap())
            .sum::<i64>(),
        listed
    );

    let first = tabs[0].clone();
    let (_, one) = menu(base(&[("category_id", first["id"].as_str().unwrap())])).await;
    assert_eq!(one["products"]["total"], first["products"]);
    for p in one["products"]["items"].as_array().unwrap() {
        assert_eq!(p["category"], first["name"]);
        assert_eq!(p["store_id"], store.as_str());
    }

    let (_, cola) = menu(base(&[("q", "coca")])).await;
    let names: Vec<&str> = cola["products"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 1);
    assert!(names[0].contains("Coca-Cola"));
    let (_, wildcard) = menu(base(&[("q", "%")])).await;
    assert_eq!(
        wildcard["products"]["total"], 0,
        "% is a literal, not a wildcard"
    );

    // Unlisted products disappear; fully reserved ones show as sold out.
    let product: String = cola["products"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    sqlx::query("update stock_levels set on_hand = 3, reserved = 3 where product_id::text = $1")
        .bind(&product)
        .execute(&pool)
        .await
        .unwrap();
    let (_, sold) = menu(base(&[("q", "coca")])).await;
    assert_eq!(sold["products"]["items"][0]["stock"]["state"], "sold_out");
    sqlx::query("update stock_levels set reserved = 1 where product_id::text = $1")
        .bind(&product)
        .execute(&pool)
        .await
        .unwrap();
    let (_, low) = menu(base(&[("q", "coca")])).await;
    assert_eq!(
        low["products"]["items"][0]["stock"],
        serde_json::json!({"state": "low", "left": 2})
    );
    sqlx::query("update products set listed = false where id::text = $1")
        .bind(&product)
        .execute(&pool)
        .await
        .unwrap();
    let (_, gone) = menu(base(&[("q", "coca")])).await;
    assert_eq!(gone["products"]["total"], 0);

    // Unknown store, another store's category, a malformed id.
    let unknown = uuid::Uuid::now_v7().to_string();
    let (status, _) = menu(vec![
        ("store_id", unknown),
        ("page", "1".into()),
        ("q", String::new()),
    ])
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other_category: String = sqlx::query_scalar(
        "select c.id::text from categories c join stores s on s.id = c.store_id where s.slug <> 'songda-mart-jingan' limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (status, _) = menu(base(&[("category_id", &other_category)])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = menu(vec![
        ("store_id", "not-a-uuid".into()),
        ("page", "1".into()),
        ("q", String::new()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = menu(base(&[("q", &"x".repeat(61))])).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("q"))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn search_finds_stores_and_products_across_the_city(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (status, flowers) = json(
        app.post("/api/search", &[("q", "Huayu"), ("page", "1")], None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flowers["stores"].as_array().unwrap().len(), 2);

    let (_, milk) = json(
        app.post("/api/search", &[("q", "milk"), ("page", "1")], None)
            .await,
    )
    .await;
    let items = milk["products"]["items"].as_array().unwrap();
    assert!(items.len() >= 3, "{milk}");
    let stores: std::collections::HashSet<&str> =
        items.iter().map(|i| i[1].as_str().unwrap()).collect();
    assert!(
        stores.len() >= 2,
        "milk is sold in several stores: {stores:?}"
    );
    for (card, _) in items.iter().map(|i| (&i[0], &i[1])) {
        assert!(
            card["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("milk")
        );
    }

    let (status, body) = json(
        app.post("/api/search", &[("q", "  "), ("page", "1")], None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "q");
}

#[sqlx::test(migrations = "../migrations")]
async fn only_customers_have_carts(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let product = product_of(&pool, "songda-mart-jingan", "coca").await;
    let form = [("product_id", product.as_str()), ("quantity", "1")];
    assert_eq!(
        app.post("/api/set_cart_quantity", &form, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post("/api/my_carts", &[("page", "1")], None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for role in ["merchant", "courier", "ops"] {
        let cookie = app.login_as(role).await;
        let status = app
            .post("/api/set_cart_quantity", &form, Some(&cookie))
            .await
            .status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        let status = app
            .post("/api/my_carts", &[("page", "1")], Some(&cookie))
            .await
            .status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    // Store pages ask for the cart of anyone: visitors simply have none.
    let store = store_id(&pool, "songda-mart-jingan").await;
    let (status, body) = json(
        app.post("/api/store_cart", &[("store_id", &store)], None)
            .await,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_cart_keeps_lines_per_store_and_follows_the_customer_across_devices(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let phone = app.login_as("customer").await;
    let cola = product_of(&pool, "songda-mart-jingan", "coca").await;
    let chips = product_of(&pool, "songda-mart-jingan", "chips").await;
    let roses = product_of(&pool, "huayu-flowers-wukang", "red roses").await;

    let set = |product: &str, qty: &str, cookie: &str| {
        let form = [
            ("product_id", product.to_string()),
            ("quantity", qty.to_string()),
        ];
        let app = &app;
        let cookie = cookie.to_string();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            json(
                app.post("/api/set_cart_quantity", &form, Some(&cookie))
                    .await,
            )
            .await
        }
    };
    let (status, cart) = set(&cola, "2", &phone).await;
    assert_eq!(status, StatusCode::OK, "{cart}");
    let (_, cart) = set(&chips, "1", &phone).await;
    assert_eq!(cart["items"], 3);
    let expected: i64 = sqlx::query_scalar(
        "select sum(price_fen * q)::bigint from products p join (values ($1::uuid, 2), ($2::uuid, 1)) v(id, q) on v.id = p.id",
    )
    .bind(uuid::Uuid::parse_str(&cola).unwrap())
    .bind(uuid::Uuid::parse_str(&chips).unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        cart["subtotal"], expected,
        "subtotal is computed on the server"
    );
    set(&roses, "1", &phone).await;

    // Another device, same account: the same two carts, newest first.
    let laptop = app.login_as("customer").await;
    let (_, carts) = json(
        app.post("/api/my_carts", &[("page", "1")], Some(&laptop))
            .await,
    )
    .await;
    assert_eq!(carts["total"], 2);
    assert!(
        carts["items"][0]["store_name"]
            .as_str()
            .unwrap()
            .contains("Huayu")
    );
    assert_eq!(carts["items"][1]["items"], 3);

    // Quantity 0 removes the line; the last line removes the cart.
    let (_, cart) = set(&chips, "0", &laptop).await;
    assert_eq!(cart["items"], 2);
    set(&roses, "0", &laptop).await;
    let (_, carts) = json(
        app.post("/api/my_carts", &[("page", "1")], Some(&phone))
            .await,
    )
    .await;
    assert_eq!(carts["total"], 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn carts_refuse_bad_quantities_unlisted_and_unavailable_products(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = app.login_as("customer").await;
    let cola = product_of(&pool, "songda-mart-jingan", "coca").await;
    let post = |product: String, qty: &'static str| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            json(
                app.post(
                    "/api/set_cart_quantity",
                    &[("product_id", product.as_str()), ("quantity", qty)],
                    Some(&cookie),
                )
                .await,
            )
            .await
        }
    };
    for qty in ["100", "-1"] {
        let (status, body) = post(cola.clone(), qty).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
            "{qty}"
        );
    }
    let (status, _) = post(cola.clone(), "abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(uuid::Uuid::now_v7().to_string(), "1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    sqlx::query("update stock_levels set on_hand = 5, reserved = 2 where product_id::text = $1")
        .bind(&cola)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = post(cola.clone(), "4").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap().contains("Only 3 left"),
        "{body}"
    );
    assert_eq!(post(cola.clone(), "3").await.0, StatusCode::OK);

    sqlx::query("update products set listed = false where id::text = $1")
        .bind(&cola)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = post(cola.clone(), "2").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap().contains("no longer sold"),
        "{body}"
    );
    // The line already in the cart stays visible, marked as not orderable, and can be removed.
    let (_, carts) = json(
        app.post("/api/my_carts", &[("page", "1")], Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(carts["items"][0]["lines"][0]["orderable"], false);
    assert_eq!(post(cola.clone(), "0").await.0, StatusCode::OK);
    let lines: i64 = sqlx::query_scalar("select count(*) from cart_items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(lines, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn nearby_stores_are_sorted_by_distance_with_fee_eta_and_range(pool: PgPool) {
    let app = spawn_app(pool).await;
    // Standing at Jing'an Temple.
    let ask = |kind: &'static str| {
        let app = &app;
        async move {
            json(
                app.post(
                    "/api/nearby_stores",
                    &[
                        ("lat", "31.2233"),
                        ("lng", "121.4456"),
                        ("kind", kind),
                        ("page", "1"),
                    ],
                    None,
                )
                .await,
            )
            .await
        }
    };
    let (status, near) = ask("").await;
    assert_eq!(status, StatusCode::OK, "{near}");
    let items = near["items"].as_array().unwrap();
    assert_eq!(near["total"], 14);
    assert!(
        items[0]["store"]["name"]
            .as_str()
            .unwrap()
            .contains("静安寺")
    );
    assert_eq!(items[0]["distance_m"], 0);
    let distances: Vec<i64> = items
        .iter()
        .map(|i| i["distance_m"].as_i64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    // The database's distance agrees with the routing engine's.
    let bakery = items
        .iter()
        .find(|i| i["store"]["name"].as_str().unwrap().contains("徐家汇"))
        .unwrap();
    let expected = routing::haversine_m(31.2233, 121.4456, 31.1950, 121.4370);
    assert!((bakery["distance_m"].as_f64().unwrap() - expected).abs() <= 1.0);
    // Out-of-range stores are listed, marked, not hidden.
    let far: Vec<&Value> = items.iter().filter(|i| i["in_range"] == false).collect();
    for f in &far {
        assert!(
            f["distance_m"].as_i64().unwrap() > f["store"]["delivery_radius_m"].as_i64().unwrap()
        );
    }
    let first = &items[0];
    assert_eq!(first["delivery_fee"], 300);
    assert_eq!(first["eta_min"], first["store"]["prep_time_min"]);

    let (_, pharmacies) = ask("pharmacy").await;
    assert_eq!(pharmacies["total"], 2);
    assert!(
        pharmacies["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["store"]["kind"] == "pharmacy")
    );

    let (status, body) = ask("casino").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );
    let (status, body) = json(
        app.post(
            "/api/nearby_stores",
            &[("lat", "95"), ("lng", "121"), ("kind", ""), ("page", "1")],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("lat"))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn customers_keep_their_own_addresses(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let good = [
        ("label", "Home"),
        ("contact_name", "李娜"),
        ("phone", "138 1234 5678"),
        ("detail", "Building 3, 12F, 1203"),
        ("lat", "31.2301"),
        ("lng", "121.4501"),
    ];
    assert_eq!(
        app.post("/api/add_address", &good, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for role in ["merchant", "courier", "ops"] {
        let cookie = app.login_as(role).await;
        assert_eq!(
            app.post("/api/add_address", &good, Some(&cookie))
                .await
                .status(),
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }

    let li = app.login_as("customer").await;
    let (status, saved) = json(app.post("/api/add_address", &good, Some(&li)).await).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved["phone_masked"], "138****5678",
        "the browser never gets the full number back"
    );

    let bad: [(&str, &str, &str); 4] = [
        ("phone", "12345", "phone"),
        ("contact_name", " ", "contact_name"),
        ("lat", "91", "lat"),
        ("detail", "", "detail"),
    ];
    for (key, value, field) in bad {
        let form: Vec<(&str, &str)> = good
            .iter()
            .map(|(k, v)| if *k == key { (*k, value) } else { (*k, *v) })
            .collect();
        let (status, body) = json(app.post("/api/add_address", &form, Some(&li)).await).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{key}={value}"
        );
    }
    let count: i64 = sqlx::query_scalar("select count(*) from addresses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "bad input saves nothing");

    // Another customer neither sees nor deletes it.
    let other = app
        .post(
            "/api/signup",
            &[
                ("login", "13900009999"),
                ("password", "another one"),
                ("display_name", ""),
            ],
            None,
        )
        .await;
    let other = session_cookie(other.headers()).unwrap();
    let (_, theirs) = json(
        app.post("/api/my_addresses", &[("page", "1")], Some(&other))
            .await,
    )
    .await;
    assert_eq!(theirs["total"], 0);
    let id = saved["id"].as_str().unwrap();
    let status = app
        .post("/api/delete_address", &[("id", id)], Some(&other))
        .await
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, mine) = json(
        app.post("/api/my_addresses", &[("page", "1")], Some(&li))
            .await,
    )
    .await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["label"], "Home");
    assert_eq!(
        app.post("/api/delete_address", &[("id", id)], Some(&li))
            .await
            .status(),
        StatusCode::OK
    );
    let (_, mine) = json(
        app.post("/api/my_addresses", &[("page", "1")], Some(&li))
            .await,
    )
    .await;
    assert_eq!(mine["total"], 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn place_search_finds_known_places_for_logged_in_users_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let form = [("query", "People's Square")];
    assert_eq!(
        app.post("/api/search_places", &form, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.login_as("customer").await;
    let (status, places) = json(app.post("/api/search_places", &form, Some(&cookie)).await).await;
    assert_eq!(status, StatusCode::OK, "{places}");
    let first = &places[0];
    assert!(
        first["label"].as_str().unwrap().contains("西藏中路"),
        "{places}"
    );
    assert!((first["point"]["lat"].as_f64().unwrap() - 31.2304).abs() < 1e-6);
    let (status, none) = json(
        app.post(
            "/api/search_places",
            &[("query", "%_nowhere")],
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert_eq!((status, none), (StatusCode::OK, serde_json::json!([])));
    let (status, _) = json(
        app.post("/api/search_places", &[("query", " ")], Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
