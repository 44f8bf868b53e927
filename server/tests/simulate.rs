//! The simulator drives the city through the real services: simulated customers order and pay
//! in the sandbox, simulated staff pack, dispatch offers, simulated couriers accept and ride.
//! Orders placed by people are left alone.

mod common;

use std::time::Duration;

use common::shop::*;
use server::simulate::{SimConfig, run_simulator};
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn the_simulated_city_orders_pays_packs_dispatches_and_rides(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    // A person's order, placed before the simulation starts: nobody simulated may touch it.
    let s = shopper(&app, &pool).await;
    let person = paid_order(&app, &pool, &s, "key-sim-person").await;

    let sim = SimConfig {
        orders_per_min: 120.0,
        couriers: 6,
        prep: Duration::from_secs(5),
        seed: 7,
    };
    let city = tokio::spawn(run_simulator(app.state.clone(), sim));
    let leader = tokio::spawn(server::dispatch::run_dispatcher(app.state.clone()));

    // Some simulated order went all the way to "packed, with a courier who accepted it".
    let (assigned_ready, paid): (i64, i64) = eventually_within(
        Duration::from_secs(90),
        "a simulated order is packed and has its courier",
        || async {
            sqlx::query_as::<_, (i64, i64)>(
                "select count(*) filter (where o.status in ('ready', 'picked_up', 'delivering', 'delivered')
                                          and o.courier_id is not null),
                        count(*) filter (where o.paid_at is not null)
                 from orders o join users u on u.id = o.customer_id
                 where u.email like 'sim-customer-%'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        },
        |(ready, _)| *ready > 0,
    )
    .await;
    assert!(assigned_ready >= 1 && paid >= assigned_ready);
    // Paid through the sandbox provider: its ledger has the payment, and the order's
    // payment row was settled by the provider's signed notification.
    let settled: i64 = sqlx::query_scalar(
        "select count(*) from payments p join orders o on o.id = p.order_id
         join users u on u.id = o.customer_id
         where u.email like 'sim-customer-%' and p.status = 'succeeded'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(settled >= paid, "{settled} settled for {paid} paid");

    // Couriers ride: each reports positions, and they move.
    let moving: i64 = eventually_within(
        Duration::from_secs(30),
        "simulated couriers move",
        || async {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from (select courier_id from courier_positions
                                       group by courier_id having count(distinct (lat, lng)) > 1) m",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        },
        |n| *n > 0,
    )
    .await;
    assert!(moving >= 1);
    // The demo courier account is a person's: never driven.
    let demo_online: bool = sqlx::query_scalar(
        "select c.status <> 'offline' from couriers c join users u on u.id = c.user_id
         where u.email = 'courier@songda.test'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!demo_online);
    city.abort();
    leader.abort();
    // The person's order waits for real store staff.
    assert_eq!(order(&app, &s.cookie, &person).await["status"], "placed");
}
