//! How fast a store's board hears a change: from the commit of an `order_events` row to the
//! `board` event on the store's live feed (SSE over real HTTP), and how long the board then
//! takes to re-read itself with many open orders. Printed against a baseline measured in the
//! same run (a bare Postgres NOTIFY → LISTEN round trip). Not a test: it asserts nothing.
//!
//! `DATABASE_URL=postgres://…/postgres cargo run -p server --example board_bench [-- N]`
//! creates (and drops) a scratch database `songda_board_bench` on that server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::state::{AppState, Settings};
use futures_util::StreamExt;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection};
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
        "{name:<44} n={:<4} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms{ratio}",
        l.len(),
        p50.as_secs_f64() * 1000.0,
        percentile(&l, 0.99).as_secs_f64() * 1000.0,
        l.last().unwrap().as_secs_f64() * 1000.0,
    );
    p50
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query("drop database if exists songda_board_bench with (force)")
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("create database songda_board_bench")
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!(
        "{}/songda_board_bench",
        admin_url.rsplit_once('/').unwrap().0
    );
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .unwrap();
    server::migrate(&pool).await.unwrap();
    server::seed::seed_demo_city(&pool).await.unwrap();

    // The demo merchant's first store, with `open` paid orders waiting on its board.
    let open = 300;
    let (store, merchant, customer): (Uuid, Uuid, Uuid) = sqlx::query_as(
        "select s.id, m.user_id, (select id from users where role = 'customer' limit 1)
         from stores s join store_members m on m.store_id = s.id order by s.slug limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let orders: Vec<Uuid> = (0..open).map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "insert into orders (id, number, customer_id, store_id, status, fulfilment, contact_name,
                             contact_phone, items_fen, packaging_fen, delivery_fee_fen, surcharge_fen,
                             discount_fen, tip_fen, total_fen, eta_min, tracking_token,
                             payment_expires_at, paid_at, release_at)
         select id, 'BENCH-' || ord, $2, $3, 'placed', 'pickup', 'Bench', '13800000000',
                1000, 0, 0, 0, 0, 0, 1000, 20, 'bench-' || id, now(), now(), now() + interval '1 day'
         from unnest($1::uuid[]) with ordinality as t(id, ord)",
    )
    .bind(&orders)
    .bind(customer)
    .bind(store)
    .execute(&pool)
    .await
    .unwrap();

    // The real router on a random port, and the merchant's session.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(
        server::leptos_options(addr).unwrap(),
        pool.clone(),
        Settings::default(),
    );
    let router = server::build_app(state, 64 * 1024);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let token = app::accounts::service::start_session(&pool, merchant, Duration::from_secs(3600))
        .await
        .unwrap();
    let cookie = format!("songda_session={}", token.0);
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");

    // Baseline: NOTIFY → LISTEN on the same server, no HTTP.
    let mut raw = PgListener::connect_with(&pool).await.unwrap();
    raw.listen("songda_bench").await.unwrap();
    let mut baseline = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        sqlx::query("select pg_notify('songda_bench', 'x')")
            .execute(&pool)
            .await
            .unwrap();
        raw.recv().await.unwrap();
        baseline.push(t.elapsed());
    }

    // The store feed: skip the greeting event, then time each change to its event.
    let feed = client
        .get(format!("{base}/api/live/stores/{store}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(feed.status().is_success(), "feed: {}", feed.status());
    let mut feed = feed.bytes_stream();
    let mut text = String::new();
    let mut events = 0;
    let mut next_event = async || loop {
        if let Some(i) = text.find("\n\n") {
            let chunk: String = text.drain(..i + 2).collect();
            if chunk.contains("event: board") {
                events += 1;
                return;
            }
            continue;
        }
        let bytes = feed.next().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&bytes));
    };
    next_event().await;
    let mut heard = Vec::with_capacity(n);
    for i in 0..n {
        let order = orders[i % orders.len()];
        let t = Instant::now();
        sqlx::query(
            "insert into order_events (order_id, from_status, to_status, actor_kind, reason)
             values ($1, 'placed', 'placed', 'system', 'bench')",
        )
        .bind(order)
        .execute(&pool)
        .await
        .unwrap();
        next_event().await;
        heard.push(t.elapsed());
    }

    // The board re-read the page does after each event.
    let mut reads = Vec::with_capacity(n.min(100));
    for _ in 0..n.min(100) {
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/store_board"))
            .header("cookie", &cookie)
            .form(&[("store_id", store.to_string())])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        res.bytes().await.unwrap();
        reads.push(t.elapsed());
    }

    println!("board bench: {n} changes, {open} open orders on the board, events heard {events}");
    let base_p50 = line("baseline: NOTIFY → LISTEN", baseline, None);
    line(
        "change → board event (SSE over HTTP)",
        heard,
        Some(base_p50),
    );
    line(
        &format!("board re-read ({open} open orders)"),
        reads,
        Some(base_p50),
    );

    drop(pool);
    sqlx::query("drop database songda_board_bench with (force)")
        .execute(&mut admin)
        .await
        .unwrap();
}
