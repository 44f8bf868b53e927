//! Live dispatch on the real database and router: planning rounds turn paid orders into offers,
//! couriers accept or decline, expired and declined offers are re-dispatched to someone else,
//! absent couriers lose what they have not picked up, zone conditions slow the plan, and one
//! server leads at a time.

mod common;

use app::dispatch::service::{DispatchConfig, PlanMemory, plan_round, plan_round_from};
use common::shop::*;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

async fn courier_id(pool: &PgPool, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Logs a courier in and starts a shift next to the pharmacy.
async fn online(app: &TestApp, email: &str, (lat, lng): (&str, &str)) -> String {
    let cookie = app.login(email, app::demo::PASSWORD).await;
    let (status, body) = call(
        app,
        "/api/courier_go_online",
        &[("lat", lat), ("lng", lng), ("shift_hours", "4")],
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    cookie
}

async fn offers(app: &TestApp, cookie: &str) -> Vec<Value> {
    let (status, body) = call(app, "/api/courier_offers", &[], cookie).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// A courier answers an offer through the API.
async fn answer(app: &TestApp, cookie: &str, offer_id: &str, accept: bool) -> (StatusCode, Value) {
    let accept = if accept { "true" } else { "false" };
    call(
        app,
        "/api/courier_answer_offer",
        &[("offer_id", offer_id), ("accept", accept)],
        cookie,
    )
    .await
}

async fn holder(pool: &PgPool, order_id: &str) -> (Option<Uuid>, Option<Uuid>) {
    sqlx::query_as("select courier_id, offered_to from orders where id = $1::uuid")
        .bind(order_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn decisions(pool: &PgPool, order_id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select kind from dispatch_decisions where order_id = $1::uuid order by at, kind",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

const FIRST: &str = "courier@songda.test";
const SECOND: &str = "courier02@songda.test";
const BY_PHARMACY: (&str, &str) = ("31.2380", "121.5020");
const FURTHER: (&str, &str) = ("31.2450", "121.5100");

#[sqlx::test(migrations = "../migrations")]
async fn courier_endpoints_refuse_anonymous_customers_merchants_and_other_couriers(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let customer = app.login_as("customer").await;
    let merchant = app.login_as("merchant").await;
    let endpoints: [(&str, Vec<(&str, &str)>); 8] = [
        (
            "/api/courier_go_online",
            vec![("lat", "31.2"), ("lng", "121.5"), ("shift_hours", "4")],
        ),
        ("/api/courier_go_offline", vec![]),
        (
            "/api/courier_position",
            vec![("lat", "31.2"), ("lng", "121.5")],
        ),
        ("/api/courier_offers", vec![]),
        (
            "/api/courier_answer_offer",
            vec![
                ("offer_id", "00000000-0000-0000-0000-000000000001"),
                ("accept", "true"),
            ],
        ),
        ("/api/courier_tasks", vec![]),
        (
            "/api/courier_start_delivering",
            vec![("order_id", "00000000-0000-0000-0000-000000000001")],
        ),
        (
            "/api/courier_deliver",
            vec![
                ("order_id", "00000000-0000-0000-0000-000000000001"),
                ("pin", "1234"),
            ],
        ),
    ];
    for (path, form) in &endpoints {
        assert_eq!(
            app.post(path, form, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path} anonymous"
        );
        for cookie in [&customer, &merchant] {
            let (status, _) = call(&app, path, form, cookie).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} wrong role");
        }
    }
    // Another courier's offer: not found, and nothing changes.
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-guard").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let second = app.login(SECOND, app::demo::PASSWORD).await;
    plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let offer = offers(&app, &first).await.remove(0);
    let offer_id = offer["id"].as_str().unwrap();
    let (status, _) = answer(&app, &second, offer_id, true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(holder(&pool, &order_id).await.0, None);
    // Bad positions are refused with a message.
    let (status, body) = call(
        &app,
        "/api/courier_position",
        &[("lat", "91"), ("lng", "121.5")],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = call(
        &app,
        "/api/courier_go_online",
        &[("lat", "31.2"), ("lng", "121.5"), ("shift_hours", "30")],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_paid_order_is_offered_to_the_nearby_courier_and_accepting_assigns_it(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-1").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let outcome = plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    assert_eq!(
        (
            outcome.orders,
            outcome.couriers,
            outcome.offers,
            outcome.unserved
        ),
        (1, 1, 1, 0)
    );

    let list = offers(&app, &first).await;
    assert_eq!(list.len(), 1);
    let offer = &list[0];
    assert_eq!(offer["orders"][0]["order_id"], order_id.as_str());
    assert!(offer["expires_in_s"].as_i64().unwrap() > 20, "{offer}");
    assert!(offer["earnings_fen"].as_i64().unwrap() > 0);
    // The plan gave the order its ETAs, and the round kept a replayable snapshot.
    let (pickup, dropoff): (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "select planned_pickup_at, planned_dropoff_at from orders where id = $1::uuid",
    )
    .bind(&order_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(pickup.unwrap() < dropoff.unwrap());
    let snapshot: Value = sqlx::query_scalar("select snapshot from dispatch_rounds where id = $1")
        .bind(outcome.round_id.unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(snapshot["schema"], "o2o-pdptw/v1");
    assert_eq!(snapshot["orders"].as_array().unwrap().len(), 1);

    // A second round does not offer the same order again while the offer is open.
    let again = plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    assert_eq!(again.offers, 0);

    let (status, body) = answer(&app, &first, offer["id"].as_str().unwrap(), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me = courier_id(&pool, FIRST).await;
    assert_eq!(holder(&pool, &order_id).await, (Some(me), None));
    assert_eq!(decisions(&pool, &order_id).await, ["offered", "accepted"]);
    // Answering twice is refused.
    let (status, _) = answer(&app, &first, offer["id"].as_str().unwrap(), false).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Decisions are append-only.
    assert!(
        sqlx::query("update dispatch_decisions set reason = 'x'")
            .execute(&pool)
            .await
            .is_err()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_offer_is_re_dispatched_to_another_courier(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-2").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let second = online(&app, SECOND, FURTHER).await;
    let cfg = DispatchConfig::default();
    plan_round(&pool, &cfg, "test").await.unwrap();
    // The nearer courier gets it first.
    assert_eq!(
        holder(&pool, &order_id).await.1,
        Some(courier_id(&pool, FIRST).await)
    );
    assert_eq!(offers(&app, &second).await.len(), 0);

    // Nobody answers: the deadline passes.
    sqlx::query("update offers set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        offers(&app, &first).await.is_empty(),
        "an expired offer is not shown"
    );
    let outcome = plan_round(&pool, &cfg, "test").await.unwrap();
    assert_eq!(outcome.offers, 1);
    assert_eq!(
        holder(&pool, &order_id).await.1,
        Some(courier_id(&pool, SECOND).await)
    );
    assert_eq!(
        decisions(&pool, &order_id).await,
        ["offered", "expired", "offered"]
    );
    let (expired_id, status): (Uuid, String) =
        sqlx::query_as("select id, status from offers where courier_id = $1")
            .bind(courier_id(&pool, FIRST).await)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "expired");
    // A late answer to the expired offer is refused and changes nothing.
    let (status, body) = answer(&app, &first, &expired_id.to_string(), true).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(holder(&pool, &order_id).await.0, None);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_declined_offer_goes_to_another_courier_and_going_offline_releases_accepted_orders(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-3").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let second = online(&app, SECOND, FURTHER).await;
    let cfg = DispatchConfig::default();
    plan_round(&pool, &cfg, "test").await.unwrap();
    let offer = offers(&app, &first).await.remove(0);
    let (status, _) = answer(&app, &first, offer["id"].as_str().unwrap(), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(holder(&pool, &order_id).await, (None, None));
    plan_round(&pool, &cfg, "test").await.unwrap();
    let offer = offers(&app, &second).await.remove(0);
    assert!(
        offers(&app, &first).await.is_empty(),
        "the courier who declined is not asked again"
    );
    let (status, _) = answer(&app, &second, offer["id"].as_str().unwrap(), true).await;
    assert_eq!(status, StatusCode::OK);
    let second_id = courier_id(&pool, SECOND).await;
    assert_eq!(holder(&pool, &order_id).await.0, Some(second_id));

    // The courier ends the shift before pickup: the order is free again, with the reason.
    let (status, body) = call(&app, "/api/courier_go_offline", &[], &second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(holder(&pool, &order_id).await, (None, None));
    assert_eq!(
        decisions(&pool, &order_id).await.last().unwrap(),
        "released"
    );
    // With nobody else allowed, the next round offers it to no one… until the refusal ends.
    sqlx::query("delete from offer_refusals")
        .execute(&pool)
        .await
        .unwrap();
    plan_round(&pool, &cfg, "test").await.unwrap();
    assert_eq!(
        holder(&pool, &order_id).await.1,
        Some(courier_id(&pool, FIRST).await)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_storm_zone_slows_the_planned_delivery_at_once(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-4").await;
    online(&app, FIRST, FURTHER).await;
    let cfg = DispatchConfig::default();
    let ride = |pool: PgPool, id: String| async move {
        let secs: f64 = sqlx::query_scalar(
            "select extract(epoch from planned_dropoff_at - planned_pickup_at)::float8 from orders where id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        secs
    };
    plan_round(&pool, &cfg, "test").await.unwrap();
    let calm = ride(pool.clone(), order_id.clone()).await;
    for sql in [
        "update offers set status = 'withdrawn'",
        "update orders set offered_to = null",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let zone = Uuid::now_v7();
    sqlx::query("insert into zones (id, name, polygon) values ($1, 'Lujiazui storm', '[[31.20,121.47],[31.20,121.55],[31.28,121.55],[31.28,121.47]]')")
        .bind(zone)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into zone_conditions (id, zone_id, kind, travel_multiplier, surcharge_fen) values ($1, $2, 'storm', 2.0, 300)")
        .bind(Uuid::now_v7())
        .bind(zone)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(plan_round(&pool, &cfg, "test").await.unwrap().unserved, 0);
    let stormy = ride(pool.clone(), order_id.clone()).await;
    // The pickup's service time (120 s) stays; the ride itself doubles.
    let (calm_ride, storm_ride) = (calm - 120.0, stormy - 120.0);
    assert!(calm_ride > 30.0, "calm ride {calm_ride} s");
    assert!(
        (storm_ride - 2.0 * calm_ride).abs() <= 2.0,
        "calm {calm_ride} s, storm {storm_ride} s"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn one_server_leads_dispatch_at_a_time(pool: PgPool) {
    let key = server::dispatch::LEADER_LOCK;
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    let take = "select pg_try_advisory_lock($1)";
    assert!(
        sqlx::query_scalar::<_, bool>(take)
            .bind(key)
            .fetch_one(&mut *a)
            .await
            .unwrap()
    );
    assert!(
        !sqlx::query_scalar::<_, bool>(take)
            .bind(key)
            .fetch_one(&mut *b)
            .await
            .unwrap()
    );
    // The leader's connection goes away (its process died): the other takes over once the
    // server has ended that backend (closing only sends the goodbye).
    a.close().await.unwrap();
    let mut taken = false;
    for _ in 0..100 {
        taken = sqlx::query_scalar::<_, bool>(take)
            .bind(key)
            .fetch_one(&mut *b)
            .await
            .unwrap();
        if taken {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(taken, "the lock outlived its connection");
}

#[sqlx::test(migrations = "../migrations")]
async fn operations_reassign_an_order_and_the_planner_leaves_it_pinned(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-5").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    online(&app, SECOND, FURTHER).await;
    let cfg = DispatchConfig::default();
    plan_round(&pool, &cfg, "test").await.unwrap();
    let second_id = courier_id(&pool, SECOND).await.to_string();
    let form = [
        ("order_id", order_id.as_str()),
        ("courier_id", second_id.as_str()),
    ];
    assert_eq!(
        app.post("/api/ops_reassign_order", &form, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for role in ["customer", "merchant", "courier"] {
        let cookie = app.login_as(role).await;
        let (status, _) = call(&app, "/api/ops_reassign_order", &form, &cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    let ops = app.login_as("ops").await;
    let (status, body) = call(&app, "/api/ops_reassign_order", &form, &ops).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The first courier's offer is withdrawn, the order is the second courier's and stays so.
    assert!(offers(&app, &first).await.is_empty());
    let second = courier_id(&pool, SECOND).await;
    assert_eq!(holder(&pool, &order_id).await, (Some(second), None));
    plan_round(&pool, &cfg, "test").await.unwrap();
    assert_eq!(holder(&pool, &order_id).await, (Some(second), None));
    assert_eq!(
        decisions(&pool, &order_id).await,
        ["offered", "reassigned", "withdrawn"]
    );
    // Reassigning to an offline courier is refused with a message.
    let third = courier_id(&pool, "courier03@songda.test").await.to_string();
    let (status, body) = call(
        &app,
        "/api/ops_reassign_order",
        &[
            ("order_id", order_id.as_str()),
            ("courier_id", third.as_str()),
        ],
        &ops,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn operations_set_a_storm_on_a_zone_and_quotes_and_decisions_follow(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let polygon = "[[31.20,121.47],[31.20,121.55],[31.28,121.55],[31.28,121.47]]";
    let create = [("name", "Lujiazui"), ("polygon", polygon)];
    assert_eq!(
        app.post("/api/ops_create_zone", &create, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for role in ["customer", "merchant", "courier"] {
        let cookie = app.login_as(role).await;
        for (path, form) in [
            ("/api/ops_create_zone", create.to_vec()),
            ("/api/ops_zones", vec![]),
            (
                "/api/ops_order_decisions",
                vec![("order_id", "00000000-0000-0000-0000-000000000001")],
            ),
        ] {
            let (status, _) = call(&app, path, &form, &cookie).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {path}");
        }
    }
    let ops = app.login_as("ops").await;
    let (status, body) = call(
        &app,
        "/api/ops_create_zone",
        &[("name", "Bad"), ("polygon", "[[31,121]]")],
        &ops,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, zone) = call(&app, "/api/ops_create_zone", &create, &ops).await;
    assert_eq!(status, StatusCode::OK, "{zone}");
    let zone = zone.as_str().unwrap().to_string();
    let (status, _) = call(&app, "/api/ops_create_zone", &create, &ops).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a second zone with the same name"
    );

    let (_, calm) = quote(&app, &s.cookie, &s.store, &[]).await;
    let storm = [
        ("zone_id", zone.as_str()),
        ("kind", "storm"),
        ("travel_multiplier", "2"),
        ("surcharge_fen", "500"),
        ("hours", "2"),
    ];
    let mut bad = storm.to_vec();
    bad[2] = ("travel_multiplier", "9");
    let (status, _) = call(&app, "/api/ops_set_zone_condition", &bad, &ops).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = call(&app, "/api/ops_set_zone_condition", &storm, &ops).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The next quote carries the surcharge and a longer ride.
    let (_, stormy) = quote(&app, &s.cookie, &s.store, &[]).await;
    assert!(
        stormy["surcharge_reason"]
            .as_str()
            .unwrap()
            .contains("Lujiazui"),
        "{stormy}"
    );
    assert!(
        stormy["eta_min"].as_i64() > calm["eta_min"].as_i64(),
        "{calm} {stormy}"
    );
    let (_, zones) = call(&app, "/api/ops_zones", &[], &ops).await;
    assert_eq!(zones[0]["condition"]["kind"], "storm");
    let condition = zones[0]["condition"]["id"].as_str().unwrap().to_string();

    // Ended: quotes are calm again.
    let (status, _) = call(
        &app,
        "/api/ops_end_zone_condition",
        &[("condition_id", &condition)],
        &ops,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = quote(&app, &s.cookie, &s.store, &[]).await;
    assert!(after["surcharge_reason"].is_null(), "{after}");

    // The decision log explains an order's way.
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-6").await;
    online(&app, FIRST, BY_PHARMACY).await;
    plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let (status, log) = call(
        &app,
        "/api/ops_order_decisions",
        &[("order_id", &order_id)],
        &ops,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log[0]["kind"], "offered");
    assert!(log[0]["courier"].as_str().is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leader_re_plans_from_its_last_plan(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let first_order = paid_order(&app, &pool, &s, "key-dispatch-7").await;
    let courier = online(&app, FIRST, BY_PHARMACY).await;
    let me = courier_id(&pool, FIRST).await;
    let cfg = DispatchConfig::default();
    let mut memory = PlanMemory::default();
    plan_round_from(&pool, &cfg, "test", &mut memory)
        .await
        .unwrap();
    let first: Uuid = first_order.parse().unwrap();
    assert_eq!(memory.stops_of(me), [(first, true), (first, false)]);
    let offer = offers(&app, &courier).await.remove(0);
    let (status, _) = answer(&app, &courier, offer["id"].as_str().unwrap(), true).await;
    assert_eq!(status, StatusCode::OK);
    // A second order: the next round keeps the first one's stops and adds the new ones.
    set_cart(&app, &s.cookie, &s.product, "1").await;
    let second_order = paid_order(&app, &pool, &s, "key-dispatch-8").await;
    let outcome = plan_round_from(&pool, &cfg, "test", &mut memory)
        .await
        .unwrap();
    assert_eq!((outcome.orders, outcome.offers), (2, 1));
    let second: Uuid = second_order.parse().unwrap();
    let stops = memory.stops_of(me);
    assert_eq!(stops.len(), 4, "{stops:?}");
    assert!(stops.contains(&(first, true)) && stops.contains(&(second, false)));
    assert_eq!(holder(&pool, &second_order).await, (None, Some(me)));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_courier_rides_the_plan_picks_up_with_the_label_and_delivers_with_the_customers_pin(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-deliver").await;
    let o = order_id.as_str();
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let second = online(&app, SECOND, FURTHER).await;
    let customer_view = order(&app, &s.cookie, o).await;
    let pin = customer_view["delivery_pin"].as_str().unwrap().to_string();
    assert_eq!(pin.len(), 4, "the customer sees the PIN once paid");

    // Before an offer is accepted the courier has no stops and cannot touch the order.
    let (status, tasks) = call(&app, "/api/courier_tasks", &[], &first).await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    assert_eq!(tasks, serde_json::json!([]));
    plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let offer = offers(&app, &first).await.remove(0);
    let (status, body) = answer(&app, &first, offer["id"].as_str().unwrap(), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The stops in plan order: the store, then the customer as an area (no exact address).
    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &first).await;
    let kinds: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["pickup", "dropoff"], "{tasks}");
    assert!(tasks[1]["contact"].is_null());
    assert!(!tasks.to_string().contains("Room 1203"), "{tasks}");

    // The store sees who is coming for it, and when.
    let staff = pharmacist(&app, &pool).await;
    let (status, mo) = call(&app, "/api/merchant_order", &[("order_id", o)], &staff).await;
    assert_eq!(status, StatusCode::OK, "{mo}");
    let coming = mo["courier_arrival"].as_str().unwrap();
    assert!(coming.starts_with("王磊 Wang Lei · ~"), "{coming}");
    let (_, board) = call(&app, "/api/store_board", &[("store_id", &s.store)], &staff).await;
    assert!(board.to_string().contains("王磊 Wang Lei · ~"), "{board}");

    // The store packs it.
    pack(&app, &staff, o, &s.product).await;
    let code: String = sqlx::query_scalar("select handover_code from orders where id = $1::uuid")
        .bind(o)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, body) = call(
        &app,
        "/api/courier_pickup",
        &[("order_id", o), ("code", &code)],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Carrying it, the courier sees the exact address and who to call.
    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &first).await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert!(tasks[0]["address"].as_str().unwrap().contains("Room 1203"));
    assert!(
        tasks[0]["contact"]
            .as_str()
            .unwrap()
            .contains("13912345678")
    );

    // Another courier can neither leave with it nor deliver it.
    let form = [("order_id", o), ("pin", pin.as_str())];
    for path in ["/api/courier_start_delivering", "/api/courier_deliver"] {
        let (status, _) = call(
            &app,
            path,
            &form[..1 + usize::from(path.ends_with("deliver"))],
            &second,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, body) = call(
        &app,
        "/api/courier_start_delivering",
        &[("order_id", o)],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A wrong or malformed PIN is refused and changes nothing.
    let wrong = if pin == "0000" { "1111" } else { "0000" };
    for bad in [wrong, "12", "abcd"] {
        let (status, body) = call(
            &app,
            "/api/courier_deliver",
            &[("order_id", o), ("pin", bad)],
            &first,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["field"], "pin");
    }
    assert_eq!(order(&app, &s.cookie, o).await["status"], "delivering");
    let (status, body) = call(&app, "/api/courier_deliver", &form, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = order(&app, &s.cookie, o).await;
    assert_eq!(done["status"], "delivered");
    assert!(
        done["delivery_pin"].is_null(),
        "the PIN is gone once delivered"
    );
    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &first).await;
    assert_eq!(tasks, serde_json::json!([]));
    let status: String = sqlx::query_scalar("select status from couriers where user_id = $1")
        .bind(courier_id(&pool, FIRST).await)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "online", "free for the next offer");
    // Delivering twice is refused.
    let (status, _) = call(&app, "/api/courier_deliver", &form, &first).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[sqlx::test(migrations = "../migrations")]
async fn old_planning_rounds_and_positions_are_purged_and_recent_ones_kept(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let _first = online(&app, FIRST, BY_PHARMACY).await;
    let me = courier_id(&pool, FIRST).await;
    sqlx::raw_sql(&format!(
        "insert into courier_positions (courier_id, at, lat, lng)
         select '{me}', now() - make_interval(days => d), 31.2, 121.5 from generate_series(0, 40) d;
         insert into dispatch_rounds (id, at, trigger, orders, couriers, unserved, cost, solve_ms, snapshot)
         select gen_random_uuid(), now() - make_interval(days => d), 'test', 0, 0, 0, 0, 0, '{{}}'
         from generate_series(0, 10) d;"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let day = std::time::Duration::from_secs(86_400);
    let (rounds, positions) = app::dispatch::service::purge_history(&pool, 7 * day, 30 * day)
        .await
        .unwrap();
    // Days 7..=10 of the rounds and 30..=40 of the positions (rows of exactly 7 / 30 days
    // were written a moment before the purge, so they are just past the cut-off).
    assert_eq!((rounds, positions), (4, 11));
    let left: i64 =
        sqlx::query_scalar("select count(*) from courier_positions where courier_id = $1")
            .bind(me)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        left,
        30 + 1,
        "30 days of history plus the go-online position"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_courier_who_falls_behind_loses_the_packed_order_to_the_pool(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-behind").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let cfg = DispatchConfig::default();
    plan_round(&pool, &cfg, "test").await.unwrap();
    let offer = offers(&app, &first).await.remove(0);
    answer(&app, &first, offer["id"].as_str().unwrap(), true).await;
    let me = courier_id(&pool, FIRST).await;
    let committed: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select committed_pickup_at from orders where id = $1::uuid")
            .bind(&order_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(committed.is_some(), "accepting keeps the planned pickup");

    // The store is late packing: the pickup slips, but that is not the courier's fault.
    let slip = |minutes: i32, status: &'static str| {
        let (pool, order_id) = (pool.clone(), order_id.clone());
        async move {
            sqlx::query(
                "update orders set status = $3,
                        planned_pickup_at = committed_pickup_at + make_interval(mins => $2)
                 where id = $1::uuid",
            )
            .bind(&order_id)
            .bind(minutes)
            .bind(status)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    slip(15, "picking").await;
    plan_round(&pool, &cfg, "test").await.unwrap();
    assert_eq!(holder(&pool, &order_id).await.0, Some(me));
    // Packed and waiting, and the courier's arrival slipped 15 min: back to the pool.
    slip(15, "ready").await;
    let outcome = plan_round(&pool, &cfg, "test").await.unwrap();
    assert_eq!(outcome.released, 1);
    let reason: String = sqlx::query_scalar(
        "select reason from dispatch_decisions where order_id = $1::uuid and kind = 'released'",
    )
    .bind(&order_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(reason.contains("fell behind"), "{reason}");
    // Re-planned in the same round: offered again (here to the only courier on shift).
    assert_eq!(holder(&pool, &order_id).await, (None, Some(me)));
}

/// Posts the courier app's queue; returns the outcomes in order (`applied`, `already_applied`,
/// or the refusal's message).
async fn sync(app: &TestApp, cookie: &str, actions: &Value) -> Vec<String> {
    let res = app
        .post_json(
            "/api/courier_sync",
            &serde_json::json!({ "actions": actions }),
            Some(cookie),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|r| match r["outcome"].as_str().unwrap() {
            "refused" => format!("refused: {}", r["message"].as_str().unwrap()),
            other => other.to_string(),
        })
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn queued_courier_actions_are_applied_once_in_order_however_often_they_are_sent(
    pool: PgPool,
) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-queue").await;
    let o = order_id.as_str();
    let first = online(&app, FIRST, BY_PHARMACY).await;
    let second = online(&app, SECOND, FURTHER).await;
    let pin = order(&app, &s.cookie, o).await["delivery_pin"]
        .as_str()
        .unwrap()
        .to_string();
    plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let offer = offers(&app, &first).await.remove(0);
    let (status, body) = answer(&app, &first, offer["id"].as_str().unwrap(), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let staff = pharmacist(&app, &pool).await;
    pack(&app, &staff, o, &s.product).await;
    let code: String = sqlx::query_scalar("select handover_code from orders where id = $1::uuid")
        .bind(o)
        .fetch_one(&pool)
        .await
        .unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let key = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    // What the phone queued without network, in the order the courier acted.
    let queue = serde_json::json!([
        { "key": key(1), "at_ms": now_ms - 60_000, "action": { "kind": "picked_up", "order_id": o, "code": wrong } },
        { "key": key(2), "at_ms": now_ms - 50_000, "action": { "kind": "picked_up", "order_id": o, "code": code } },
        { "key": key(3), "at_ms": now_ms - 40_000, "action": { "kind": "position", "lat": 31.2401, "lng": 121.5011 } },
        { "key": key(4), "at_ms": now_ms - 30_000, "action": { "kind": "start_delivering", "order_id": o } },
        { "key": key(5), "at_ms": now_ms - 20_000, "action": { "kind": "delivered", "order_id": o, "pin": pin } },
    ]);

    // Another courier's phone cannot use this order, whatever it sends.
    let theirs = sync(&app, &second, &serde_json::json!([queue[4]])).await;
    assert!(theirs[0].starts_with("refused: "), "{theirs:?}");

    let first_send = sync(&app, &first, &queue).await;
    assert!(
        first_send[0].starts_with("refused: That code does not match"),
        "{first_send:?}"
    );
    assert_eq!(
        first_send[1..],
        ["applied", "applied", "applied", "applied"]
    );
    assert_eq!(order(&app, &s.cookie, o).await["status"], "delivered");

    // The answer was lost: the phone sends everything again. Nothing happens twice.
    let again = sync(&app, &first, &queue).await;
    assert!(again[0].starts_with("refused: "), "{again:?}");
    assert_eq!(
        again[1..],
        [
            "already_applied",
            "already_applied",
            "already_applied",
            "already_applied"
        ]
    );
    let transitions: Vec<String> = sqlx::query_scalar(
        "select to_status from order_events where order_id = $1::uuid and actor_kind = 'courier' order by id",
    )
    .bind(o)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(transitions, ["picked_up", "delivering", "delivered"]);
    let me = courier_id(&pool, FIRST).await;
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from courier_positions where courier_id = $1 and lat = 31.2401",
    )
    .bind(me)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        kept, 1,
        "the queued position is kept once, at the time it was taken"
    );

    // A key reused for something else is refused; malformed actions are refused with a reason.
    let reused = serde_json::json!([
        { "key": key(3), "at_ms": now_ms, "action": { "kind": "position", "lat": 31.0, "lng": 121.0 } },
        { "key": key(6), "at_ms": now_ms, "action": { "kind": "position", "lat": 95.0, "lng": 121.0 } },
        { "key": key(7), "at_ms": now_ms - 7 * 3_600_000, "action": { "kind": "position", "lat": 31.0, "lng": 121.0 } },
    ]);
    let out = sync(&app, &first, &reused).await;
    assert!(out[0].contains("used for another action"), "{out:?}");
    assert!(out[1].contains("not on Earth"), "{out:?}");
    assert!(out[2].contains("6 hours old"), "{out:?}");

    // Too many at once, anonymous, other roles: refused before anything is read.
    let many: Vec<Value> = (0..101u32)
        .map(|n| serde_json::json!({ "key": key(100 + n), "at_ms": now_ms, "action": { "kind": "position", "lat": 31.0, "lng": 121.0 } }))
        .collect();
    let res = app
        .post_json(
            "/api/courier_sync",
            &serde_json::json!({ "actions": many }),
            Some(&first),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = serde_json::json!({ "actions": [] });
    assert_eq!(
        app.post_json("/api/courier_sync", &body, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for who in [&s.cookie, &staff] {
        assert_eq!(
            app.post_json("/api/courier_sync", &body, Some(who))
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
    }

    // The courier's day: one delivery, paid.
    let midnight = (now_ms - 3_600_000).to_string();
    let (status, today) = call(
        &app,
        "/api/courier_today",
        &[("since_ms", &midnight)],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{today}");
    assert_eq!(today["delivered"], 1);
    assert!(today["earnings_fen"].as_i64().unwrap() > 0, "{today}");
    let (status, _) = call(&app, "/api/courier_today", &[("since_ms", "0")], &first).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The next server-sent event on a stream: (event name, data).
async fn next_event<B: AsRef<[u8]>>(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    text: &mut String,
) -> (String, String) {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            if let Some(event) = field("event:") {
                return (event, field("data:").unwrap_or_default());
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("courier feed too slow")
            .expect("courier feed ended")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_customer_follows_the_courier_only_while_the_order_is_carried(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-follow").await;
    let o = order_id.as_str();
    let first = online(&app, FIRST, BY_PHARMACY).await;
    plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let offer = offers(&app, &first).await.remove(0);
    answer(&app, &first, offer["id"].as_str().unwrap(), true).await;
    let tracking = |cookie: String| {
        let app = &app;
        async move { call(app, "/api/order_tracking", &[("order_id", o)], &cookie).await }
    };
    let (status, t) = tracking(s.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert!(t["destination"]["lat"].is_f64(), "{t}");
    assert!(
        t["courier"].is_null(),
        "not before the courier carries it: {t}"
    );

    // Only the order's customer may follow it.
    let feed = format!("{}/api/live/orders/{o}/courier", app.base);
    let get = |cookie: Option<String>| {
        let feed = feed.clone();
        async move {
            let mut req = client().get(feed);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send().await.unwrap()
        }
    };
    let res = app
        .post(
            "/api/signup",
            &[
                ("login", "13700003333"),
                ("password", "correct horse"),
                ("display_name", "Qian"),
            ],
            None,
        )
        .await;
    let stranger = session_cookie(res.headers()).unwrap();
    assert_eq!(get(None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(Some(first.clone())).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(Some(stranger.clone())).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(tracking(stranger).await.0, StatusCode::NOT_FOUND);
    assert_eq!(tracking(first.clone()).await.0, StatusCode::FORBIDDEN);

    let res = get(Some(s.cookie.clone())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    let mut text = String::new();
    assert_eq!(next_event(&mut body, &mut text).await.0, "hidden");
    // Positions while the courier rides to the store are not the customer's business.
    call(
        &app,
        "/api/courier_position",
        &[("lat", "31.2391"), ("lng", "121.5021")],
        &first,
    )
    .await;

    let staff = pharmacist(&app, &pool).await;
    pack(&app, &staff, o, &s.product).await;
    let code: String = sqlx::query_scalar("select handover_code from orders where id = $1::uuid")
        .bind(o)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, body_) = call(
        &app,
        "/api/courier_pickup",
        &[("order_id", o), ("code", &code)],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body_}");
    // Picked up: the customer sees where the courier is, then every move.
    let (event, data) = next_event(&mut body, &mut text).await;
    assert_eq!(event, "position", "{data}");
    assert!(data.contains("31.2391"), "{data}");
    call(
        &app,
        "/api/courier_position",
        &[("lat", "31.2402"), ("lng", "121.5033")],
        &first,
    )
    .await;
    let (event, data) = next_event(&mut body, &mut text).await;
    assert_eq!(
        (event.as_str(), data.contains("31.2402")),
        ("position", true),
        "{data}"
    );
    let (_, t) = tracking(s.cookie.clone()).await;
    assert_eq!(t["courier"]["name"], "王磊 Wang Lei", "{t}");

    // Delivered: the courier disappears from the customer's map for good.
    let pin = order(&app, &s.cookie, o).await["delivery_pin"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &app,
        "/api/courier_start_delivering",
        &[("order_id", o)],
        &first,
    )
    .await;
    let (status, body_) = call(
        &app,
        "/api/courier_deliver",
        &[("order_id", o), ("pin", &pin)],
        &first,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body_}");
    loop {
        let (event, _) = next_event(&mut body, &mut text).await;
        if event == "hidden" {
            break;
        }
    }
    call(
        &app,
        "/api/courier_position",
        &[("lat", "31.2500"), ("lng", "121.5100")],
        &first,
    )
    .await;
    let (_, t) = tracking(s.cookie.clone()).await;
    assert!(t["courier"].is_null(), "{t}");
}

#[sqlx::test(migrations = "../migrations")]
async fn operations_see_the_live_city_and_every_courier_move(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let order_id = paid_order(&app, &pool, &s, "key-dispatch-city").await;
    let first = online(&app, FIRST, BY_PHARMACY).await;
    plan_round(&pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let offer = offers(&app, &first).await.remove(0);
    answer(&app, &first, offer["id"].as_str().unwrap(), true).await;
    let ops = app.login_as("ops").await;

    // Anyone but operations is refused, before anything is read.
    let merchant = app.login_as("merchant").await;
    assert_eq!(
        app.post("/api/ops_live_city", &[], None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let feed = format!("{}/api/live/ops", app.base);
    assert_eq!(
        client().get(&feed).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    for who in [&s.cookie, &first, &merchant] {
        let (status, _) = call(&app, "/api/ops_live_city", &[], who).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let res = client()
            .get(&feed)
            .header("cookie", who.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }

    let (status, city) = call(&app, "/api/ops_live_city", &[], &ops).await;
    assert_eq!(status, StatusCode::OK, "{city}");
    let me = courier_id(&pool, FIRST).await.to_string();
    let courier = city["couriers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == me.as_str())
        .unwrap_or_else(|| panic!("{city}"));
    assert_eq!(
        (courier["status"].as_str(), courier["load"].as_i64()),
        (Some("busy"), Some(1))
    );
    let order = city["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == order_id.as_str())
        .unwrap_or_else(|| panic!("{city}"));
    assert_eq!(order["courier_name"], "王磊 Wang Lei");
    let route = city["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["courier_id"] == me.as_str())
        .unwrap_or_else(|| panic!("{city}"));
    assert_eq!(
        route["points"].as_array().unwrap().len(),
        3,
        "courier → store → door: {route}"
    );
    assert!(city["zones"].is_array(), "{city}");

    // Every move reaches the operations feed.
    let res = client()
        .get(&feed)
        .header("cookie", ops.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let (opening, _) = next_event(&mut body, &mut text).await;
    assert_eq!(
        opening, "orders",
        "a (re)connected page reads the city first"
    );
    // The live hub starts listening with its first subscriber, and nothing the feed sends
    // says when Postgres has the LISTEN (waiting for it in pg_stat_activity was not enough
    // on a loaded CI machine): give it the time that has held in CI.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    call(
        &app,
        "/api/courier_position",
        &[("lat", "31.2411"), ("lng", "121.5044")],
        &first,
    )
    .await;
    loop {
        let (event, data) = next_event(&mut body, &mut text).await;
        if event == "position" && data.contains(&me) {
            assert!(data.contains("31.2411"), "{data}");
            assert!(data.contains(r#""status":"busy""#), "{data}");
            break;
        }
    }
    // Starting a shift where the courier already was still reaches the map, with its state.
    let second = online(&app, SECOND, FURTHER).await;
    let them = courier_id(&pool, SECOND).await.to_string();
    let (status, _) = call(&app, "/api/courier_go_offline", &[], &second).await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (event, data) = next_event(&mut body, &mut text).await;
        if event == "position" && data.contains(&them) {
            seen.push(data);
        }
    }
    assert!(seen[0].contains(r#""status":"online""#), "{seen:?}");
    assert!(seen[1].contains(r#""status":"offline""#), "{seen:?}");
    let (status, _) = call(
        &app,
        "/api/courier_go_online",
        &[("lat", FURTHER.0), ("lng", FURTHER.1), ("shift_hours", "1")],
        &second,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    loop {
        let (event, data) = next_event(&mut body, &mut text).await;
        if event == "position" && data.contains(&them) {
            assert!(data.contains(r#""status":"online""#), "{data}");
            break;
        }
    }
}

/// The shopper's order, offered to and accepted by the first courier, packed by the pharmacy,
/// picked up and on its way: returns (order id, courier cookie, pharmacist cookie).
async fn at_the_door(
    app: &TestApp,
    pool: &PgPool,
    s: &Shopper,
    key: &str,
) -> (String, String, String) {
    let o = paid_order(app, pool, s, key).await;
    let courier = online(app, FIRST, BY_PHARMACY).await;
    plan_round(pool, &DispatchConfig::default(), "test")
        .await
        .unwrap();
    let offer = offers(app, &courier).await.remove(0);
    assert_eq!(
        answer(app, &courier, offer["id"].as_str().unwrap(), true)
            .await
            .0,
        StatusCode::OK
    );
    let staff = pharmacist(app, pool).await;
    pack(app, &staff, &o, &s.product).await;
    let code: String = sqlx::query_scalar("select handover_code from orders where id = $1::uuid")
        .bind(&o)
        .fetch_one(pool)
        .await
        .unwrap();
    for (path, form) in [
        (
            "/api/courier_pickup",
            vec![("order_id", o.as_str()), ("code", code.as_str())],
        ),
        (
            "/api/courier_start_delivering",
            vec![("order_id", o.as_str())],
        ),
    ] {
        let (status, body) = call(app, path, &form, &courier).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    (o, courier, staff)
}

async fn courier_status(pool: &PgPool) -> String {
    sqlx::query_scalar("select status from couriers where user_id = $1")
        .bind(courier_id(pool, FIRST).await)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_delivery_is_retried_then_brought_back_restocked_and_refunded(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let (o, courier, staff) = at_the_door(&app, &pool, &s, "key-door-fail").await;
    let fail = |reason: &'static str, follow_up: &'static str, who: Option<String>| {
        let (app, o) = (&app, o.clone());
        async move {
            let form = [
                ("order_id", o.as_str()),
                ("reason", reason),
                ("follow_up", follow_up),
            ];
            match who {
                Some(c) => call(app, "/api/courier_fail_delivery", &form, &c).await,
                None => json(app.post("/api/courier_fail_delivery", &form, None).await).await,
            }
        }
    };
    // Only the courier carrying it may report it.
    assert_eq!(
        fail("no_answer", "retry", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fail("no_answer", "retry", Some(s.cookie.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    let second = online(&app, SECOND, FURTHER).await;
    assert_eq!(
        fail("no_answer", "retry", Some(second)).await.0,
        StatusCode::NOT_FOUND
    );
    // Bad input is refused with the field named; a refusal cannot be retried.
    let (status, body) = fail("lost", "retry", Some(courier.clone())).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let (status, body) = fail("refused", "retry", Some(courier.clone())).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("follow_up"))
    );

    // Two tries that found nobody: the order stays on its way and the customer reads why.
    for (n, reason) in [(1, "no_answer"), (2, "wrong_address")] {
        let (status, body) = fail(reason, "retry", Some(courier.clone())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let view = order(&app, &s.cookie, &o).await;
        assert_eq!(view["status"], "delivering");
        let timeline = view["timeline"].to_string();
        assert!(
            timeline.contains(&format!("Attempt {n} failed")),
            "{timeline}"
        );
    }
    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &courier).await;
    assert_eq!(
        tasks[0]["attempts"],
        serde_json::json!(["no_answer", "wrong_address"])
    );
    // The third is the last: it can only go back.
    let (status, body) = fail("no_answer", "retry", Some(courier.clone())).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("follow_up"))
    );
    let (status, body) = fail("no_answer", "return", Some(courier.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        order(&app, &s.cookie, &o).await["status"],
        "delivery_failed"
    );
    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &courier).await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!(tasks[0]["kind"], "return");
    // With the goods still on board the courier stays busy and cannot end the shift.
    assert_eq!(courier_status(&pool).await, "busy");
    assert_eq!(
        call(&app, "/api/courier_go_offline", &[], &courier).await.0,
        StatusCode::CONFLICT
    );

    // The store takes them back: staff of other stores and customers cannot.
    let on_hand = || async {
        sqlx::query_scalar::<_, i32>("select on_hand from stock_levels where product_id = $1::uuid")
            .bind(&s.product)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = on_hand().await;
    let form = [("order_id", o.as_str()), ("restock", "true")];
    let other_store = app.login_as("merchant").await;
    assert_eq!(
        call(&app, "/api/merchant_receive_return", &form, &other_store)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "/api/merchant_receive_return", &form, &s.cookie)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, mo) = call(
        &app,
        "/api/merchant_order",
        &[("order_id", o.as_str())],
        &staff,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        mo["awaiting_return"]
            .as_str()
            .unwrap()
            .contains("no answer"),
        "{mo}"
    );
    let (status, refunded) = call(&app, "/api/merchant_receive_return", &form, &staff).await;
    assert_eq!(status, StatusCode::OK, "{refunded}");
    assert_eq!(on_hand().await, before + 2, "both boxes back on the shelf");
    // The goods are refunded; the ride (delivery fee, surcharge, tip) is not.
    let totals = sqlx::query!(
        "select total_fen - delivery_fee_fen - surcharge_fen - tip_fen as goods,
                (select sum(amount_fen) from refunds r where r.order_id = o.id)::bigint as refunds
         from orders o where id = $1::uuid",
        Uuid::parse_str(&o).unwrap()
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(totals.refunds, totals.goods);
    assert!(refunded.as_str().unwrap().starts_with('¥'), "{refunded}");
    assert_eq!(courier_status(&pool).await, "online", "free again");
    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &courier).await;
    assert_eq!(tasks, serde_json::json!([]));
    // Once is enough.
    assert_eq!(
        call(&app, "/api/merchant_receive_return", &form, &staff)
            .await
            .0,
        StatusCode::CONFLICT
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn restricted_goods_are_handed_over_only_after_the_id_check(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    // The check is made at the door from the product as the store marked it.
    let (o, courier, staff) = at_the_door(&app, &pool, &s, "key-door-id").await;
    let mark = |kind: &'static str, who: String| {
        let (app, s) = (&app, &s);
        async move {
            let form = [
                ("store_id", s.store.as_str()),
                ("product_id", s.product.as_str()),
                ("restricted", kind),
            ];
            call(app, "/api/merchant_set_restricted", &form, &who).await
        }
    };
    // Only the store's staff mark their products, with a kind we know.
    assert_eq!(
        mark("medicine", app.login_as("merchant").await).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mark("medicine", s.cookie.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = mark("weapons", staff.clone()).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("restricted"))
    );
    let (status, product) = mark("medicine", staff.clone()).await;
    assert_eq!(status, StatusCode::OK, "{product}");
    assert_eq!(product["restricted"], "medicine");

    let (_, tasks) = call(&app, "/api/courier_tasks", &[], &courier).await;
    assert_eq!(tasks[0]["restricted"], serde_json::json!(["medicine"]));
    let pin = order(&app, &s.cookie, &o).await["delivery_pin"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = call(
        &app,
        "/api/courier_deliver",
        &[("order_id", o.as_str()), ("pin", pin.as_str())],
        &courier,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id_checked"))
    );
    assert_eq!(order(&app, &s.cookie, &o).await["status"], "delivering");
    let (status, body) = call(
        &app,
        "/api/courier_deliver",
        &[
            ("order_id", o.as_str()),
            ("pin", pin.as_str()),
            ("id_checked", "true"),
        ],
        &courier,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = order(&app, &s.cookie, &o).await;
    assert_eq!(done["status"], "delivered");
    assert!(
        done["timeline"]
            .to_string()
            .contains("ID checked (medicine)"),
        "{done}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_door_photo_is_kept_small_and_shown_only_to_the_orders_people(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let s = shopper(&app, &pool).await;
    let (o2, courier, staff) = at_the_door(&app, &pool, &s, "key-door-photo").await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-a-real-image-but-png-bytes";
    let upload = |order_id: String, body: Vec<u8>, cookie: Option<String>| {
        let app = &app;
        async move {
            let mut req = client()
                .post(format!("{}/api/courier/orders/{order_id}/photo", app.base))
                .header("origin", app.base.as_str())
                .body(body);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send().await.unwrap().status()
        }
    };
    assert_eq!(
        upload(o2.clone(), png.to_vec(), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        upload(o2.clone(), png.to_vec(), Some(s.cookie.clone())).await,
        StatusCode::FORBIDDEN
    );
    let second = online(&app, SECOND, FURTHER).await;
    assert_eq!(
        upload(o2.clone(), png.to_vec(), Some(second.clone())).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        upload(o2.clone(), b"GIF89a".to_vec(), Some(courier.clone())).await,
        StatusCode::BAD_REQUEST
    );
    let mut big = png.to_vec();
    big.resize(1024 * 1024 + 1, 0);
    assert_eq!(
        upload(o2.clone(), big, Some(courier.clone())).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        upload(o2.clone(), png.to_vec(), Some(courier.clone())).await,
        StatusCode::NO_CONTENT
    );

    let photo = |cookie: Option<String>| {
        let (app, o2) = (&app, o2.clone());
        async move {
            let mut req = client().get(format!("{}/api/orders/{o2}/photo", app.base));
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let res = req.send().await.unwrap();
            (res.status(), res.bytes().await.unwrap().to_vec())
        }
    };
    for who in [
        s.cookie.clone(),
        courier.clone(),
        staff.clone(),
        app.login_as("ops").await,
    ] {
        let (status, bytes) = photo(Some(who)).await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, png));
    }
    assert_eq!(photo(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(photo(Some(second)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        photo(Some(app.login_as("merchant").await)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(order(&app, &s.cookie, &o2).await["delivery_photo"], true);
    // After delivery the order is closed to new photos a day later; an unrelated order never.
    set_cart(&app, &s.cookie, &s.product, "1").await;
    let other = paid_order(&app, &pool, &s, "key-door-photo-other").await;
    assert_eq!(
        order(&app, &s.cookie, &other).await["delivery_photo"],
        false
    );
    assert_eq!(
        upload(other, png.to_vec(), Some(courier)).await,
        StatusCode::NOT_FOUND
    );
}
