//! Checkout latency and throughput on the real database, printed against a baseline measured
//! in the same run (a one-row write transaction), so the numbers mean something on any
//! machine. Not a test: it asserts nothing about time.
//!
//! `DATABASE_URL=postgres://…/postgres cargo run -p server --example checkout_bench [-- N]`
//! creates (and drops) a scratch database `songda_bench` on that server.

use std::time::{Duration, Instant};

use app::orders::checkout::{self, IdempotencyKey};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(900);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Run {
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Run {
    fn line(&self, name: &str, base_p50: Option<Duration>) {
        let mut l = self.latencies.clone();
        l.sort();
        let p50 = percentile(&l, 0.5);
        let ratio = base_p50.map_or(String::new(), |b| {
            format!(
                "  p50 = {:.1}× baseline",
                p50.as_secs_f64() / b.as_secs_f64()
            )
        });
        println!(
            "{name:<34} n={:<5} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  {:>7.0}/s{ratio}",
            l.len(),
            ms(p50),
            ms(percentile(&l, 0.99)),
            ms(*l.last().unwrap_or(&Duration::ZERO)),
            l.len() as f64 / self.wall.as_secs_f64()
        );
    }
}

async fn baseline(pool: &PgPool, n: usize) -> Run {
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(
            "insert into app_meta (key, value) values ($1, 'x') on conflict (key) do update set value = 'y'",
        )
        .bind(format!("bench-{i}"))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        latencies.push(t.elapsed());
    }
    Run {
        latencies,
        wall: start.elapsed(),
    }
}

async fn checkouts(pool: &PgPool, customers: &[Uuid], quotes: &[Uuid], concurrency: usize) -> Run {
    let start = Instant::now();
    let jobs: Vec<(Uuid, Uuid, usize)> = customers
        .iter()
        .zip(quotes)
        .enumerate()
        .map(|(i, (c, q))| (*c, *q, i))
        .collect();
    let mut latencies = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(concurrency) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|(c, q, i)| {
                let (pool, c, q, i) = (pool.clone(), *c, *q, *i);
                tokio::spawn(async move {
                    let key =
                        IdempotencyKey::parse(&format!("bench-{concurrency}-{i:06}")).unwrap();
                    let t = Instant::now();
                    checkout::place_order(&pool, c, q, &key, "", TTL)
                        .await
                        .expect("checkout");
                    t.elapsed()
                })
            })
            .collect();
        for t in tasks {
            latencies.push(t.await.unwrap());
        }
    }
    Run {
        latencies,
        wall: start.elapsed(),
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(400);
    let admin = std::env::var("DATABASE_URL").expect("set DATABASE_URL to a PostgreSQL server");
    let mut conn = PgConnection::connect(&admin).await.expect("connect");
    sqlx::query("drop database if exists songda_bench with (force)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("create database songda_bench")
        .execute(&mut conn)
        .await
        .unwrap();
    let url = format!(
        "{}/songda_bench",
        admin.rsplit_once('/').expect("a database URL").0
    );
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .unwrap();
    server::migrate(&pool).await.unwrap();
    server::seed::seed_demo_city(&pool).await.unwrap();
    let store: Uuid =
        sqlx::query_scalar("select id from stores where slug = 'kangjian-pharmacy-lujiazui'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let products: Vec<Uuid> =
        sqlx::query_scalar("select id from products where store_id = $1 order by id limit 3")
            .bind(store)
            .fetch_all(&pool)
            .await
            .unwrap();
    sqlx::query(
        "update stock_levels set on_hand = 1000000, reserved = 0 where product_id = any($1)",
    )
    .bind(&products)
    .execute(&pool)
    .await
    .unwrap();
    eprintln!("preparing {n} customers with 3-line carts and their quotes…");
    let customers = server::loadgen::customers_with_carts(&pool, store, 2 * n, |i| {
        products.iter().map(|p| (*p, 1 + (i % 3) as i32)).collect()
    })
    .await
    .unwrap();
    let quotes = server::loadgen::pickup_quotes(&pool, store, &customers)
        .await
        .unwrap();

    println!(
        "Songda checkout benchmark ({} build, {} cores)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let base = baseline(&pool, n).await;
    let mut sorted = base.latencies.clone();
    sorted.sort();
    let base_p50 = percentile(&sorted, 0.5);
    base.line("baseline: 1-row write transaction", None);
    let one = checkouts(&pool, &customers[..n], &quotes[..n], 1).await;
    one.line("checkout, one at a time", Some(base_p50));
    let many = checkouts(&pool, &customers[n..], &quotes[n..], 16).await;
    many.line("checkout, 16 concurrent", Some(base_p50));
    pool.close().await;
    sqlx::query("drop database songda_bench with (force)")
        .execute(&mut conn)
        .await
        .unwrap();
}
