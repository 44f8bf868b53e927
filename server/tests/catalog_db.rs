//! Database tests for the catalog console: the stock ledger always adds up to on hand, and
//! holiday exceptions change what "open" means everywhere.

use std::time::Duration;

use app::catalog::admin;
use app::catalog::admin_model::StockAdjustment;
use app::orders::checkout::{self, IdempotencyKey};
use app::orders::lifecycle;
use app::orders::model::ActorKind;
use sqlx::PgPool;
use uuid::Uuid;

const PHARMACY: &str = "kangjian-pharmacy-lujiazui";

async fn setup(pool: &PgPool) -> (Uuid, Uuid) {
    server::seed::seed_demo_city(pool).await.unwrap();
    let store: Uuid = sqlx::query_scalar("select id from stores where slug = $1")
        .bind(PHARMACY)
        .fetch_one(pool)
        .await
        .unwrap();
    let merchant: Uuid =
        sqlx::query_scalar("select id from users where email = 'merchant@songda.test'")
            .fetch_one(pool)
            .await
            .unwrap();
    (store, merchant)
}

/// Stock levels whose ledger does not add up (should be none), and the ledger's reasons seen.
async fn ledger_mismatches(pool: &PgPool) -> Vec<(Uuid, i32, i64)> {
    sqlx::query_as(
        "select s.product_id, s.on_hand, coalesce(l.total, 0)::bigint
         from stock_levels s
         left join (select store_id, product_id, sum(delta) as total, max(id) as last_id
                    from stock_ledger group by store_id, product_id) l
           on l.store_id = s.store_id and l.product_id = s.product_id
         left join stock_ledger last on last.id = l.last_id
         where s.on_hand <> coalesce(l.total, 0) or s.on_hand <> coalesce(last.on_hand_after, 0)",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn reasons(pool: &PgPool, product: Uuid) -> Vec<(String, i32)> {
    sqlx::query_as("select reason, delta from stock_ledger where product_id = $1 order by id")
        .bind(product)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn pay(pool: &PgPool, order_id: Uuid) {
    let mut tx = pool.begin().await.unwrap();
    let mut order = lifecycle::lock_order(&mut tx, order_id)
        .await
        .unwrap()
        .unwrap();
    lifecycle::mark_paid(&mut tx, &mut order, ActorKind::Provider)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn the_stock_ledger_adds_up_to_on_hand_on_every_path(pool: PgPool) {
    let (store, merchant) = setup(&pool).await;
    // The seed's stock arrived as opening lines.
    assert_eq!(ledger_mismatches(&pool).await, vec![]);
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from products where store_id = $1 and listed order by id limit 3",
    )
    .bind(store)
    .fetch_all(&pool)
    .await
    .unwrap();
    // A plain SQL write (as an operator might do) is ledgered too, inferred from its sign.
    sqlx::query("update stock_levels set on_hand = on_hand + 40 where product_id = any($1)")
        .bind(&ids)
        .execute(&pool)
        .await
        .unwrap();

    // By hand in the console.
    for (kind, n) in [("delivery", 12), ("damage", 3), ("count", 30)] {
        admin::adjust_stock(
            &pool,
            store,
            merchant,
            ids[0],
            StockAdjustment::parse(kind, n).unwrap(),
            Some(format!("{kind} test")),
        )
        .await
        .unwrap();
    }
    assert_eq!(ledger_mismatches(&pool).await, vec![]);

    // A CSV import: one count, one new product with opening stock.
    let name: String = sqlx::query_scalar("select name from products where id = $1")
        .bind(ids[1])
        .fetch_one(&pool)
        .await
        .unwrap();
    let price: i64 = sqlx::query_scalar("select price_fen from products where id = $1")
        .bind(ids[1])
        .fetch_one(&pool)
        .await
        .unwrap();
    let csv = format!(
        "product_id,category,name,unit,price,on_hand\n\
         {},Whatever,{name},盒,{}.{:02},25\n\
         ,New 新品,Vitamin C,瓶,19.9,14\n",
        ids[1],
        price / 100,
        price % 100
    );
    let report = admin::import_csv(&pool, store, merchant, &csv, true)
        .await
        .unwrap();
    assert_eq!(
        (report.updated, report.created, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(ledger_mismatches(&pool).await, vec![]);

    // Checkouts, payments (sales), and cancellations of paid orders (returns) and unpaid ones.
    let customers = server::loadgen::customers_with_carts(&pool, store, 6, |i| {
        vec![(ids[0], 1 + (i % 2) as i32), (ids[2], 2)]
    })
    .await
    .unwrap();
    let quotes = server::loadgen::pickup_quotes(&pool, store, &customers)
        .await
        .unwrap();
    let mut orders = Vec::new();
    for (i, (c, q)) in customers.iter().zip(&quotes).enumerate() {
        let key = IdempotencyKey::parse(&format!("ledger-{i}")).unwrap();
        let placed = checkout::place_order(&pool, *c, *q, &key, "", Duration::from_secs(900))
            .await
            .unwrap();
        orders.push((*c, placed.order_id));
    }
    for (i, (customer, order)) in orders.iter().enumerate() {
        if i % 2 == 0 {
            pay(&pool, *order).await;
        }
        if i % 3 == 0 {
            lifecycle::cancel_by_customer(&pool, *customer, *order, "test")
                .await
                .unwrap();
        }
    }
    assert_eq!(ledger_mismatches(&pool).await, vec![]);

    let seen = reasons(&pool, ids[0]).await;
    let kinds: Vec<&str> = seen.iter().map(|(r, _)| r.as_str()).collect();
    for expected in ["opening", "return", "delivery", "damage", "count", "sale"] {
        assert!(kinds.contains(&expected), "{expected} in {seen:?}");
    }
    assert!(
        seen.iter().all(|(r, d)| match r.as_str() {
            "sale" | "damage" => *d < 0,
            "return" | "delivery" => *d > 0,
            _ => true,
        }),
        "{seen:?}"
    );
    let imported = reasons(&pool, ids[1]).await;
    assert!(imported.iter().any(|(r, _)| r == "import"), "{imported:?}");

    // Who did it is kept for changes made by people.
    let actors: i64 = sqlx::query_scalar(
        "select count(*) from stock_ledger where product_id = $1 and reason in ('delivery', 'damage', 'count') and actor_id = $2",
    )
    .bind(ids[0])
    .bind(merchant)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(actors, 3);

    // History is not rewritten.
    let err = sqlx::query("update stock_ledger set delta = delta + 1 where product_id = $1")
        .bind(ids[0])
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_holiday_exception_closes_the_store_for_open_now_quotes_and_slots(pool: PgPool) {
    let (store, _) = setup(&pool).await;
    // The store keeps the clock of a zone where it is now around noon: near local midnight
    // tomorrow's first slot starts too soon to be offered, and the counts below would move
    // with the time of day the test runs at.
    sqlx::query(
        "update stores set time_zone = (
             select name from pg_timezone_names
             where name ~ '^Etc/GMT[+-][0-9]+$'
               and extract(hour from now() at time zone name) between 10 and 13
             order by name limit 1)
         where id = $1",
    )
    .bind(store)
    .execute(&pool)
    .await
    .unwrap();
    let open_now = || async {
        sqlx::query_scalar::<_, bool>(
            "select store_open_at(id, time_zone, now()) from stores where id = $1",
        )
        .bind(store)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    // The pharmacy is open around the clock.
    assert!(open_now().await);
    let today_slots = |slots: &[app::orders::model::Slot]| {
        slots.iter().filter(|s| s.label.starts_with("今天")).count()
    };
    let tomorrow_slots = |slots: &[app::orders::model::Slot]| {
        slots.iter().filter(|s| s.label.starts_with("明天")).count()
    };
    let before = checkout::slots(&pool, store).await.unwrap();
    assert_eq!(tomorrow_slots(&before), 48);

    // Closed all day today (in the store's time zone); special hours tomorrow.
    sqlx::query(
        "insert into store_hour_exceptions (store_id, day, note)
         select id, (now() at time zone time_zone)::date, '春节' from stores where id = $1",
    )
    .bind(store)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into store_hour_exceptions (store_id, day, opens, closes)
         select id, (now() at time zone time_zone)::date + 1, '10:00', '14:00' from stores where id = $1",
    )
    .bind(store)
    .execute(&pool)
    .await
    .unwrap();
    assert!(!open_now().await);
    let card = app::catalog::db::store_card(&pool, store)
        .await
        .unwrap()
        .unwrap();
    assert!(!card.open_now, "store lists say closed");
    let after = checkout::slots(&pool, store).await.unwrap();
    assert_eq!(today_slots(&after), 0, "no slots on a closed day");
    assert_eq!(tomorrow_slots(&after), 8, "10:00–14:00 in half hours");

    // An immediate checkout on a closed day is refused at the quote.
    let product: Uuid = sqlx::query_scalar(
        "select id from products where store_id = $1 and listed order by id limit 1",
    )
    .bind(store)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("update stock_levels set on_hand = 10, reserved = 0 where product_id = $1")
        .bind(product)
        .execute(&pool)
        .await
        .unwrap();
    let customers = server::loadgen::customers_with_carts(&pool, store, 1, |_| vec![(product, 1)])
        .await
        .unwrap();
    let err = server::loadgen::pickup_quotes(&pool, store, &customers)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            app::error::AppError::Validation { .. } | app::error::AppError::Conflict { .. }
        ),
        "{err:?}"
    );

    // Removing the exception opens it again.
    sqlx::query("delete from store_hour_exceptions where store_id = $1")
        .bind(store)
        .execute(&pool)
        .await
        .unwrap();
    assert!(open_now().await);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_ledger_stays_exact_when_imports_adjustments_and_checkouts_race(pool: PgPool) {
    let (store, merchant) = setup(&pool).await;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from products where store_id = $1 and listed order by id limit 4",
    )
    .bind(store)
    .fetch_all(&pool)
    .await
    .unwrap();
    sqlx::query("update stock_levels set on_hand = 200, reserved = 0 where product_id = any($1)")
        .bind(&ids)
        .execute(&pool)
        .await
        .unwrap();
    // Carts list the products in opposite orders; the CSV lists them in yet another order.
    let customers = server::loadgen::customers_with_carts(&pool, store, 30, |i| {
        let mut lines: Vec<(Uuid, i32)> = ids.iter().map(|id| (*id, 1)).collect();
        if i % 2 == 1 {
            lines.reverse();
        }
        lines
    })
    .await
    .unwrap();
    let quotes = server::loadgen::pickup_quotes(&pool, store, &customers)
        .await
        .unwrap();
    let mut csv = String::from("product_id,category,name,unit,price,on_hand\n");
    for id in [ids[2], ids[0], ids[3], ids[1]] {
        let (category, name, unit, price): (String, String, String, i64) = sqlx::query_as(
            "select c.name, p.name, p.unit, p.price_fen from products p
             join categories c on c.id = p.category_id where p.id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        csv.push_str(&format!(
            "{id},{category},{name},{unit},{}.{:02},150\n",
            price / 100,
            price % 100
        ));
    }
    let mut tasks = Vec::new();
    for (i, (c, q)) in customers.iter().zip(&quotes).enumerate() {
        let (db, c, q) = (pool.clone(), *c, *q);
        tasks.push(tokio::spawn(async move {
            let pool = db;
            let key = IdempotencyKey::parse(&format!("race-key-{i:04}")).unwrap();
            match checkout::place_order(&pool, c, q, &key, "", Duration::from_secs(900)).await {
                Ok(placed) if i % 2 == 0 => pay(&pool, placed.order_id).await,
                Ok(_) => {}
                // Stock is plentiful: the only refusal allowed is a price the import changed.
                Err(e) => panic!("checkout {i}: {e:?}"),
            }
        }));
        if i % 10 == 0 {
            let (pool, csv) = (pool.clone(), csv.clone());
            tasks.push(tokio::spawn(async move {
                admin::import_csv(&pool, store, merchant, &csv, true)
                    .await
                    .unwrap();
            }));
        }
        if i % 3 == 0 {
            let (pool, product) = (pool.clone(), ids[i % 4]);
            tasks.push(tokio::spawn(async move {
                let adj = StockAdjustment::parse("delivery", 2).unwrap();
                admin::adjust_stock(&pool, store, merchant, product, adj, None)
                    .await
                    .unwrap();
            }));
        }
    }
    let all = async {
        for t in tasks {
            t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("imports, adjustments and checkouts deadlocked or stalled");
    assert_eq!(ledger_mismatches(&pool).await, vec![]);
    let orders: i64 = sqlx::query_scalar("select count(*) from orders where store_id = $1")
        .bind(store)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 30);
}
