//! `songda --simulate`: the demo city comes alive. Simulated customers order at a steady rate
//! and pay through the sandbox provider (the real signed notification comes back over HTTP);
//! simulated store staff accept, pick and pack those orders; simulated couriers go online,
//! accept their offers, ride their planned routes (positions every few seconds), scan the
//! label's code at the store and deliver with the customer's PIN.
//!
//! Everything goes through the same services the pages call, so the simulator is also a load
//! test of dispatch: raise `SONGDA_SIM_ORDERS_PER_MIN` and `SONGDA_SIM_COURIERS`.
//! Orders placed by people are left to people: simulated staff only touch simulated orders,
//! and the demo courier account is never driven.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use app::dispatch::model::StopKind;
use app::dispatch::service::DispatchConfig;
use app::error::AppError;
use app::money::Money;
use app::orders::checkout::{self, IdempotencyKey, QuoteRequest};
use app::orders::model::{CartQuantity, Fulfilment, OrderStatus};
use app::state::AppState;
use routing::rng::Rng;
use sqlx::PgPool;
use uuid::Uuid;

/// How the simulation runs (`SONGDA_SIM_*`).
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// New customer orders per minute across the city.
    pub orders_per_min: f64,
    /// Couriers driven by the simulator (seeded couriers other than the demo account).
    pub couriers: usize,
    /// Store preparation time for simulated orders.
    pub prep: Duration,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            orders_per_min: 4.0,
            couriers: 12,
            prep: Duration::from_secs(90),
            seed: 1,
        }
    }
}

const CUSTOMERS: usize = 24;
const TICK: Duration = Duration::from_secs(1);
/// Positions go to the server this often (the courier app throttles the same way).
const POSITION_EVERY: Duration = Duration::from_secs(4);
/// Couriers ride the straight line at the planner's speed over its detour factor, so their
/// arrival matches the planned times.
const RIDE_M_PER_S: f64 = app::delivery::COURIER_SPEED_M_S / app::delivery::DETOUR;
/// Close enough to a stop to act there.
const AT_STOP_M: f64 = 25.0;
/// Simulated customers' e-mail prefix: simulated staff act only on these customers' orders.
const CUSTOMER_PREFIX: &str = "sim-customer-";

struct Courier {
    id: Uuid,
    lat: f64,
    lng: f64,
    last_report: Option<Instant>,
}

struct Customer {
    id: Uuid,
    address_id: Uuid,
    lat: f64,
    lng: f64,
}

/// Simulated people, created once (they survive restarts: the same accounts are reused).
struct City {
    customers: Vec<Customer>,
    /// Simulated staff member of each store.
    staff: HashMap<Uuid, Uuid>,
    couriers: Vec<Courier>,
}

/// Runs until the server stops. Errors of one step are logged and the city goes on.
pub async fn run_simulator(state: AppState, cfg: SimConfig) {
    let Some(sandbox) = state.payments.sandbox.clone() else {
        tracing::error!(
            "the simulator pays through the sandbox provider, which is off (SONGDA_PAYMENT_SANDBOX=false): not simulating"
        );
        return;
    };
    let mut rng = Rng::new(cfg.seed);
    let mut city = loop {
        match setup(&state.pool, &cfg, &mut rng).await {
            Ok(city) => break city,
            Err(e) => {
                tracing::warn!("simulator setup failed: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    tracing::info!(
        "simulating {} orders/min with {} couriers and {} customers",
        cfg.orders_per_min,
        city.couriers.len(),
        city.customers.len()
    );
    let dispatch = DispatchConfig {
        offer_ttl: state.settings.offer_ttl,
        ..Default::default()
    };
    let mut due = 0.0;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        due += cfg.orders_per_min * TICK.as_secs_f64() / 60.0;
        while due >= 1.0 {
            due -= 1.0;
            let who = &city.customers[rng.below(city.customers.len())];
            match order(&state, who, &mut rng).await {
                Ok(Some(id)) => match pay(&state, who.id, id, &sandbox).await {
                    Ok(()) => {}
                    Err(e) => tracing::warn!("simulated payment failed: {e}"),
                },
                Ok(None) => {}
                Err(e) => tracing::debug!("simulated order not placed: {e}"),
            }
        }
        if let Err(e) = staff_work(&state.pool, &city.staff, cfg.prep).await {
            tracing::warn!("simulated store staff: {e}");
        }
        for c in &mut city.couriers {
            if let Err(e) = ride(&state.pool, c, &dispatch, &mut rng).await {
                tracing::warn!(courier = %c.id, "simulated courier: {e}");
            }
        }
    }
}

async fn setup(pool: &PgPool, cfg: &SimConfig, rng: &mut Rng) -> Result<City, AppError> {
    let stores =
        sqlx::query!("select id, slug, lat, lng, delivery_radius_m from stores order by slug")
            .fetch_all(pool)
            .await?;
    if stores.is_empty() {
        return Err(AppError::request(
            "there are no stores: the simulator needs the demo city (SONGDA_DEMO=true)",
        ));
    }
    let mut staff = HashMap::new();
    for s in &stores {
        let id = sim_user(
            pool,
            &format!("sim-staff-{}@songda.test", s.slug),
            "模拟店员 Sim staff",
            "merchant",
        )
        .await?;
        sqlx::query!(
            "insert into store_members (store_id, user_id, role) values ($1, $2, 'staff')
             on conflict do nothing",
            s.id,
            id
        )
        .execute(pool)
        .await?;
        staff.insert(s.id, id);
    }
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let id = sim_user(
            pool,
            &format!("{CUSTOMER_PREFIX}{i:02}@songda.test"),
            &format!("模拟顾客 Sim customer {i}"),
            "customer",
        )
        .await?;
        let existing = sqlx::query!(
            "select id, lat, lng from addresses where customer_id = $1 order by created_at limit 1",
            id
        )
        .fetch_optional(pool)
        .await?;
        let (address_id, lat, lng) = match existing {
            Some(a) => (a.id, a.lat, a.lng),
            None => {
                // A home within reach of one store (and usually of several).
                let s = &stores[i % stores.len()];
                let reach = f64::from(s.delivery_radius_m) * 0.6 / 111_000.0;
                let lat = s.lat + (rng.unit() * 2.0 - 1.0) * reach;
                let lng = s.lng + (rng.unit() * 2.0 - 1.0) * reach;
                let address_id = Uuid::now_v7();
                sqlx::query!(
                    "insert into addresses (id, customer_id, label, contact_name, phone, detail, lat, lng)
                     values ($1, $2, 'Home', $3, '13800000000', $4, $5, $6)",
                    address_id,
                    id,
                    format!("模拟顾客 {i}"),
                    format!("模拟小区 Sim Residence {} 号楼 {}室", i + 1, 101 + i),
                    lat,
                    lng
                )
                .execute(pool)
                .await?;
                (address_id, lat, lng)
            }
        };
        customers.push(Customer {
            id,
            address_id,
            lat,
            lng,
        });
    }
    // Every seeded courier except the demo login, which a person may be using.
    let demo = app::demo::ACCOUNTS
        .iter()
        .find(|(r, _)| *r == app::accounts::model::Role::Courier)
        .map(|(_, login)| *login)
        .unwrap_or_default();
    let rows = sqlx::query!(
        r#"select c.user_id, coalesce(c.lat, c.home_lat) as "lat!", coalesce(c.lng, c.home_lng) as "lng!"
           from couriers c join users u on u.id = c.user_id
           where u.email <> $1 and c.home_lat is not null
           order by u.email limit $2"#,
        demo,
        cfg.couriers as i64
    )
    .fetch_all(pool)
    .await?;
    let mut couriers = Vec::with_capacity(rows.len());
    for r in rows {
        app::dispatch::service::go_online(pool, r.user_id, r.lat, r.lng, 12).await?;
        couriers.push(Courier {
            id: r.user_id,
            lat: r.lat,
            lng: r.lng,
            last_report: Some(Instant::now()),
        });
    }
    Ok(City {
        customers,
        staff,
        couriers,
    })
}

/// The account with this e-mail (created without a usable password: nobody logs in as it).
async fn sim_user(pool: &PgPool, email: &str, name: &str, role: &str) -> Result<Uuid, AppError> {
    sqlx::query!(
        "insert into users (id, email, display_name, password_hash, role)
         values ($1, $2, $3, 'not a hash: simulated accounts never log in', $4)
         on conflict do nothing",
        Uuid::now_v7(),
        email,
        name,
        role
    )
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar!("select id from users where email = $1", email)
            .fetch_one(pool)
            .await?,
    )
}

/// One customer fills a cart at a store that delivers to them now and checks out. `None`
/// when no store can (all closed at night, say).
async fn order(state: &AppState, who: &Customer, rng: &mut Rng) -> Result<Option<Uuid>, AppError> {
    let pool = &state.pool;
    let stores = sqlx::query!(
        r#"select s.id, s.lat, s.lng, s.delivery_radius_m, s.min_order_fen from stores s
           where s.accepting_orders and store_open_at(s.id, s.time_zone, now())
           order by s.id"#
    )
    .fetch_all(pool)
    .await?;
    let near: Vec<_> = stores
        .iter()
        .filter(|s| {
            routing::haversine_m(s.lat, s.lng, who.lat, who.lng)
                < f64::from(s.delivery_radius_m) * 0.9
        })
        .collect();
    if near.is_empty() {
        return Ok(None);
    }
    let store = near[rng.below(near.len())];
    let products = sqlx::query!(
        r#"select p.id, p.price_fen from products p join stock_levels l on l.product_id = p.id
           where p.store_id = $1 and p.listed and l.on_hand - l.reserved >= 3
           order by p.id"#,
        store.id
    )
    .fetch_all(pool)
    .await?;
    if products.is_empty() {
        return Ok(None);
    }
    // Whatever is left in this customer's cart there from an earlier try goes first.
    sqlx::query!(
        "delete from carts where customer_id = $1 and store_id = $2",
        who.id,
        store.id
    )
    .execute(pool)
    .await?;
    let mut cart: HashMap<Uuid, (i64, i32)> = HashMap::new();
    let lines = 1 + rng.below(3);
    let total = |cart: &HashMap<Uuid, (i64, i32)>| {
        cart.values()
            .map(|(price, qty)| price * i64::from(*qty))
            .sum::<i64>()
    };
    // A few lines, then more until the store's minimum (with a margin: a branch of a chain
    // may price a little differently).
    for k in 0.. {
        if k >= lines && total(&cart) >= store.min_order_fen + 500 {
            break;
        }
        if k > 12 {
            return Ok(None);
        }
        let p = &products[rng.below(products.len())];
        let line = cart.entry(p.id).or_insert((p.price_fen, 0));
        line.1 = (line.1 + 1 + rng.below(2) as i32).min(3);
        app::orders::service::set_quantity(pool, who.id, p.id, CartQuantity::parse(line.1)?)
            .await?;
    }
    let quote = checkout::quote(
        pool,
        who.id,
        QuoteRequest {
            store_id: store.id,
            fulfilment: Fulfilment::Delivery,
            address_id: Some(who.address_id),
            slot: None,
            tip: Money::ZERO,
        },
    )
    .await?;
    let key = IdempotencyKey::parse(&format!("sim-{}", Uuid::now_v7().simple()))?;
    let placed =
        checkout::place_order(pool, who.id, quote.id, &key, "", state.settings.payment_ttl).await?;
    Ok(Some(placed.order_id))
}

/// The payer approves on the sandbox page: the provider sends its signed notification.
async fn pay(
    state: &AppState,
    customer: Uuid,
    order_id: Uuid,
    sandbox: &app::payments::sandbox::SandboxProvider,
) -> Result<(), AppError> {
    let url =
        app::payments::service::start_payment(&state.pool, &state.payments, customer, order_id)
            .await?;
    let id = url
        .rsplit('/')
        .next()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| AppError::request(format!("unexpected payment page {url}")))?;
    sandbox.decide(id, true).await
}

/// Simulated staff accept new simulated orders, then pick and pack them in `prep`.
async fn staff_work(
    pool: &PgPool,
    staff: &HashMap<Uuid, Uuid>,
    prep: Duration,
) -> Result<(), AppError> {
    let rows = sqlx::query!(
        r#"select o.id, o.store_id, o.status, coalesce(o.accepted_at <= now() - make_interval(secs => $2), false) as "packed!"
           from orders o join users u on u.id = o.customer_id
           where u.email like $1 and o.status in ('placed', 'accepted', 'picking')
           order by o.id limit 200"#,
        format!("{CUSTOMER_PREFIX}%"),
        prep.as_secs_f64()
    )
    .fetch_all(pool)
    .await?;
    let prep_min = prep.as_secs().div_ceil(60).max(1) as i32;
    for r in rows {
        let Some(&user) = staff.get(&r.store_id) else {
            continue;
        };
        let status = OrderStatus::parse(&r.status)?;
        let done = match status {
            OrderStatus::Placed => app::orders::merchant::accept(pool, user, r.id, prep_min).await,
            _ if r.packed => pack(pool, user, r.id).await,
            _ => Ok(()),
        };
        if let Err(e) = done {
            tracing::debug!(order = %r.id, "simulated staff: {e}");
        }
    }
    Ok(())
}

async fn pack(pool: &PgPool, user: Uuid, order_id: Uuid) -> Result<(), AppError> {
    let lines = sqlx::query_scalar!(
        "select product_id from order_items where order_id = $1 and picked_at is null",
        order_id
    )
    .fetch_all(pool)
    .await?;
    for product in lines {
        app::orders::merchant::tick_line(pool, user, order_id, product, true).await?;
    }
    app::orders::merchant::mark_ready(pool, user, order_id).await
}

/// One second of a courier's life: answer offers, move towards the next stop, act there.
async fn ride(
    pool: &PgPool,
    c: &mut Courier,
    dispatch: &DispatchConfig,
    rng: &mut Rng,
) -> Result<(), AppError> {
    for offer in app::dispatch::service::offers_for(pool, c.id).await? {
        // Now and then a courier declines: dispatch must find someone else.
        let accept = rng.unit() >= 0.05;
        app::dispatch::service::answer_offer(pool, c.id, offer.id, accept, dispatch).await?;
    }
    let stops = app::dispatch::tasks::tasks_for(pool, c.id).await?;
    if let Some(stop) = stops.first() {
        let d = routing::haversine_m(c.lat, c.lng, stop.lat, stop.lng);
        let step = RIDE_M_PER_S * TICK.as_secs_f64();
        if d > AT_STOP_M {
            let f = (step / d).min(1.0);
            c.lat += (stop.lat - c.lat) * f;
            c.lng += (stop.lng - c.lng) * f;
        } else {
            match stop.kind {
                StopKind::Pickup if stop.status == OrderStatus::Ready => {
                    // Scanning the label: its code is on the bag.
                    let code = sqlx::query_scalar!(
                        "select handover_code from orders where id = $1",
                        stop.order_id
                    )
                    .fetch_one(pool)
                    .await?
                    .unwrap_or_default();
                    app::orders::merchant::courier_pickup(pool, c.id, stop.order_id, &code).await?;
                }
                // Not packed yet: wait at the counter.
                StopKind::Pickup => {}
                StopKind::Dropoff => {
                    // At the door the customer reads the PIN from their order page.
                    let pin = sqlx::query_scalar!(
                        "select delivery_pin from orders where id = $1",
                        stop.order_id
                    )
                    .fetch_one(pool)
                    .await?
                    .unwrap_or_default();
                    // The simulated courier checks the ID of whoever takes restricted goods.
                    let id_checked = !stop.restricted.is_empty();
                    app::dispatch::tasks::deliver(pool, c.id, stop.order_id, &pin, id_checked)
                        .await?;
                }
                // Simulated deliveries do not fail; a person's failed delivery is theirs.
                StopKind::Return => {}
            }
        }
        // Heading for a drop-off: that order is on its way.
        if let Some(next) = stops.iter().find(|s| s.kind == StopKind::Dropoff)
            && stops.first().is_some_and(|s| s.order_id == next.order_id)
            && next.status == OrderStatus::PickedUp
        {
            app::dispatch::tasks::start_delivering(pool, c.id, next.order_id).await?;
        }
    }
    if c.last_report.is_none_or(|t| t.elapsed() >= POSITION_EVERY) {
        app::dispatch::service::record_position(pool, c.id, c.lat, c.lng).await?;
        c.last_report = Some(Instant::now());
    }
    Ok(())
}
