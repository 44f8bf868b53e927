//! The live positions feed under load: couriers' phones post positions through the real
//! courier endpoint (`courier_sync`: session, idempotency key, history row, NOTIFY) while
//! customers follow their orders' couriers over SSE. Prints the positions per second the
//! server sustained and the delay from a phone's request to the event at the subscribed
//! page, against baselines measured in the same run (bare `update couriers` statements per
//! second on one connection; a bare NOTIFY → LISTEN round trip). Not a test: it asserts
//! nothing.
//!
//! `DATABASE_URL=postgres://…/postgres cargo run -p server --example live_bench [-- COURIERS SECS]`
//! creates (and drops) a scratch database `songda_live_bench` on that server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::state::{AppState, Settings};
use futures_util::StreamExt;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn line(name: &str, mut l: Vec<Duration>, base: Option<Duration>) -> Duration {
    l.sort();
    let p50 = percentile(&l, 0.5);
    let ratio = base.map_or(String::new(), |b| {
        format!(
            "  p50 = {:.1}× baseline",
            p50.as_secs_f64() / b.as_secs_f64()
        )
    });
    println!(
        "{name:<48} n={:<6} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms{ratio}",
        l.len(),
        p50.as_secs_f64() * 1000.0,
        percentile(&l, 0.99).as_secs_f64() * 1000.0,
        l.last().unwrap().as_secs_f64() * 1000.0,
    );
    p50
}

/// A latitude that carries a sequence number (a unique point per request), near Shanghai.
fn lat_for(seq: u64) -> f64 {
    31.0 + (seq % 10_000_000) as f64 * 1e-8
}

fn seq_of(lat: f64) -> u64 {
    ((lat - 31.0) / 1e-8).round() as u64
}

/// `n` couriers on shift, each carrying one order of its own customer. Returns
/// (courier, customer, order) triples.
async fn riders(pool: &PgPool, store: Uuid, n: usize) -> Vec<(Uuid, Uuid, Uuid)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (courier, customer, order) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for (id, role) in [(courier, "courier"), (customer, "customer")] {
            sqlx::query(
                "insert into users (id, email, display_name, password_hash, role)
                 values ($1, $2, $3, 'not a hash: synthetic accounts never log in', $4)",
            )
            .bind(id)
            .bind(format!("live-{id}@songda.test"))
            .bind(format!("Live {i}"))
            .bind(role)
            .execute(pool)
            .await
            .unwrap();
        }
        sqlx::query(
            "insert into couriers (user_id, vehicle, capacity, speed_kmh, home_lat, home_lng,
                                   status, lat, lng, position_at, shift_end, online_since)
             values ($1, 'ebike', 3, 18, 31.23, 121.50, 'busy', 31.23, 121.50, now(),
                     now() + interval '4 hours', now())",
        )
        .bind(courier)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into orders (id, number, customer_id, store_id, status, fulfilment, contact_name,
                                 contact_phone, items_fen, packaging_fen, delivery_fee_fen, surcharge_fen,
                                 discount_fen, tip_fen, total_fen, eta_min, tracking_token,
                                 payment_expires_at, paid_at, release_at, courier_id, dest_lat, dest_lng,
                                 address_detail)
             values ($1, $2, $3, $4, 'delivering', 'delivery', 'Bench', '13800000000',
                     1000, 0, 500, 0, 0, 0, 1500, 20, $5, now(), now(), now() + interval '1 day', $6,
                     31.24, 121.51, 'Bench road 1')",
        )
        .bind(order)
        .bind(format!("LIVE-{i}"))
        .bind(customer)
        .bind(store)
        .bind(format!("live-{order}"))
        .bind(courier)
        .execute(pool)
        .await
        .unwrap();
        out.push((courier, customer, order));
    }
    out
}

async fn cookie_for(pool: &PgPool, user: Uuid) -> String {
    let token = app::accounts::service::start_session(pool, user, Duration::from_secs(3600))
        .await
        .unwrap();
    format!("songda_session={}", token.0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let couriers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(300);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query("drop database if exists songda_live_bench with (force)")
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("create database songda_live_bench")
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!(
        "{}/songda_live_bench",
        admin_url.rsplit_once('/').unwrap().0
    );
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .unwrap();
    server::migrate(&pool).await.unwrap();
    server::seed::seed_demo_city(&pool).await.unwrap();
    let store: Uuid = sqlx::query_scalar("select id from stores order by slug limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let riders = riders(&pool, store, couriers).await;

    // The real router on a random port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(
        server::leptos_options(addr).unwrap(),
        pool.clone(),
        Settings::default(),
    );
    let router = server::build_app(state, 256 * 1024);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    // Baselines on the same database: NOTIFY → LISTEN, and bare position updates.
    let mut raw = PgListener::connect_with(&pool).await.unwrap();
    raw.listen("songda_bench").await.unwrap();
    let mut notify = Vec::with_capacity(200);
    for _ in 0..200 {
        let t = Instant::now();
        sqlx::query("select pg_notify('songda_bench', 'x')")
            .execute(&pool)
            .await
            .unwrap();
        raw.recv().await.unwrap();
        notify.push(t.elapsed());
    }
    let mut conn = pool.acquire().await.unwrap();
    let t = Instant::now();
    let mut bare = 0u64;
    while t.elapsed() < Duration::from_secs(2) {
        sqlx::query("update couriers set lat = $2, lng = 121.5 where user_id = $1")
            .bind(riders[bare as usize % riders.len()].0)
            .bind(lat_for(bare))
            .execute(&mut *conn)
            .await
            .unwrap();
        bare += 1;
    }
    let bare_rate = bare as f64 / t.elapsed().as_secs_f64();
    drop(conn);

    // Every customer follows their order's courier.
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for &(_, customer, order) in &riders {
        let res = client
            .get(format!("{base}/api/live/orders/{order}/courier"))
            .header("cookie", cookie_for(&pool, customer).await)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "feed: {}", res.status());
        let (sent, delays, received) = (sent.clone(), delays.clone(), received.clone());
        tokio::spawn(async move {
            let mut body = res.bytes_stream();
            let mut text = String::new();
            while let Some(Ok(bytes)) = body.next().await {
                text.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(i) = text.find("\n\n") {
                    let block: String = text.drain(..i + 2).collect();
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                        continue;
                    };
                    let Ok(p) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                        continue;
                    };
                    let Some(lat) = p["lat"].as_f64() else {
                        continue;
                    };
                    let at = sent.lock().unwrap().get(&seq_of(lat)).copied();
                    if let Some(at) = at {
                        delays.lock().unwrap().push(at.elapsed());
                        received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The phones: 32 connections in parallel, each posting one position at a time for its
    // couriers in turn, for `secs` seconds.
    let mut cookies = Vec::with_capacity(riders.len());
    for &(courier, _, _) in &riders {
        cookies.push(cookie_for(&pool, courier).await);
    }
    let cookies = Arc::new(cookies);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut phones = Vec::new();
    let request_times: Arc<Mutex<Vec<Duration>>> = Arc::default();
    for _ in 0..32 {
        let (client, base, cookies, next, sent, request_times) = (
            client.clone(),
            base.clone(),
            cookies.clone(),
            next.clone(),
            sent.clone(),
            request_times.clone(),
        );
        phones.push(tokio::spawn(async move {
            let mut ok = 0u64;
            while Instant::now() < deadline {
                let seq = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let cookie = &cookies[seq as usize % cookies.len()];
                let body = serde_json::json!({ "actions": [{
                    "key": Uuid::now_v7(),
                    "at_ms": chrono::Utc::now().timestamp_millis(),
                    "action": { "kind": "position", "lat": lat_for(seq), "lng": 121.5 },
                }]});
                let t = Instant::now();
                sent.lock().unwrap().insert(seq, t);
                let res = client
                    .post(format!("{base}/api/courier_sync"))
                    .header("cookie", cookie)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let text = res.text().await.unwrap();
                assert!(
                    status.is_success() && text.contains("\"applied\""),
                    "{status} {text}"
                );
                request_times.lock().unwrap().push(t.elapsed());
                ok += 1;
            }
            ok
        }));
    }
    let mut posted = 0;
    for p in phones {
        posted += p.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rate = posted as f64 / elapsed;
    let saturated = std::mem::take(&mut *delays.lock().unwrap());
    let saturated_requests = std::mem::take(&mut *request_times.lock().unwrap());
    let saturated_received = received.swap(0, std::sync::atomic::Ordering::Relaxed);

    // The city at its normal pace: every courier sends a position every 5 s.
    let pace = couriers as f64 / 5.0;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / pace));
    let paced_until = Instant::now() + Duration::from_secs(secs);
    let mut paced = Vec::new();
    while Instant::now() < paced_until {
        tick.tick().await;
        let seq = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (client, base, cookie, sent) = (
            client.clone(),
            base.clone(),
            cookies[seq as usize % cookies.len()].clone(),
            sent.clone(),
        );
        paced.push(tokio::spawn(async move {
            let body = serde_json::json!({ "actions": [{
                "key": Uuid::now_v7(),
                "at_ms": chrono::Utc::now().timestamp_millis(),
                "action": { "kind": "position", "lat": lat_for(seq), "lng": 121.5 },
            }]});
            sent.lock().unwrap().insert(seq, Instant::now());
            let res = client
                .post(format!("{base}/api/courier_sync"))
                .header("cookie", cookie)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
        }));
    }
    let paced_posted = paced.len();
    for p in paced {
        p.await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    println!(
        "live bench: {couriers} couriers on the move, {couriers} customers subscribed, {secs} s, 32 phones posting at once"
    );
    println!("baseline: bare `update couriers` on one connection  {bare_rate:>9.0} /s");
    println!(
        "positions through courier_sync (HTTP, session, key, history, NOTIFY)  {rate:>9.0} /s = {:.2}× baseline",
        rate / bare_rate
    );
    println!("events delivered to subscribed pages: {saturated_received} of {posted} positions");
    let base_p50 = line("baseline: NOTIFY → LISTEN", notify, None);
    line(
        "saturated: phone request → response",
        saturated_requests,
        Some(base_p50),
    );
    line(
        "saturated: phone request → event at the page",
        saturated,
        Some(base_p50),
    );
    println!(
        "normal pace ({pace:.0} positions/s): events delivered {} of {paced_posted}",
        received.load(std::sync::atomic::Ordering::Relaxed)
    );
    line(
        "paced: phone request → event at the page",
        delays.lock().unwrap().clone(),
        Some(base_p50),
    );

    drop(pool);
    sqlx::query("drop database songda_live_bench with (force)")
        .execute(&mut admin)
        .await
        .unwrap();
}
