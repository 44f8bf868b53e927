//! Quotes and checkout: the server prices everything from its own data, and checkout turns a
//! quote into an order, reserving stock, in one transaction.
//!
//! SQL lives next to the rules here (deviation from `db.rs`): each query is used once and
//! reads best beside the decision it feeds.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::model::{Fulfilment, PlacedOrder, PricedLine, QuoteView, Slot, Totals};
use super::pricing::{self, PricingInput};
use crate::error::AppError;
use crate::money::Money;

/// A quote is honoured this long; after that checkout asks for a fresh one.
pub const QUOTE_TTL: Duration = Duration::from_secs(10 * 60);
/// Slots need at least this much notice beyond the store's preparation time.
const SLOT_LEAD_MIN: i32 = 20;

struct StoreForOrder {
    id: Uuid,
    name: String,
    lat: f64,
    lng: f64,
    delivery_radius_m: i32,
    prep_time_min: i32,
    min_order_fen: i64,
    packaging_fee_fen: i64,
    discount_threshold_fen: Option<i64>,
    discount_fen: Option<i64>,
    accepting_orders: bool,
    pickup_enabled: bool,
    open_now: bool,
    /// Paid orders the store has not packed yet.
    backlog: i64,
}

impl StoreForOrder {
    fn discount_rule(&self) -> Option<(Money, Money)> {
        Some((
            Money::from_fen(self.discount_threshold_fen?),
            Money::from_fen(self.discount_fen?),
        ))
    }
}

/// The store, or with `chain` every branch of that chain (the given store first).
async fn stores_for_order(
    pool: &PgPool,
    id: Uuid,
    chain: bool,
) -> Result<Vec<StoreForOrder>, AppError> {
    let stores = sqlx::query_as!(
        StoreForOrder,
        r#"select s.id, s.name, s.lat, s.lng, s.delivery_radius_m, s.prep_time_min,
                  s.min_order_fen, s.packaging_fee_fen, s.discount_threshold_fen, s.discount_fen,
                  s.accepting_orders, s.pickup_enabled,
                  store_open_at(s.id, s.time_zone, now()) as "open_now!",
                  (select count(*) from orders o
                    where o.store_id = s.id and o.status in ('placed', 'accepted', 'picking')) as "backlog!"
           from stores s
           where s.id = $1
              or ($2 and s.chain_id = (select chain_id from stores where id = $1))
           order by s.id <> $1, s.name"#,
        id,
        chain
    )
    .fetch_all(pool)
    .await?;
    if stores.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(stores)
}

/// The customer's cart at `cart_store`, priced now at `store` (the same store, or a branch of
/// its chain: the same name and unit is the same item there); refuses lines that cannot be
/// ordered there.
async fn cart_lines(
    pool: &PgPool,
    customer_id: Uuid,
    cart_store: Uuid,
    store: &StoreForOrder,
) -> Result<Vec<PricedLine>, Refusal> {
    let rows = sqlx::query!(
        r#"select cp.name as cart_name, i.quantity, p.id as "id?", p.name as "name?",
                  p.unit as "unit?", p.price_fen as "price_fen?", p.listed as "listed?",
                  p.available as "available?"
           from carts c
           join cart_items i on i.cart_id = c.id
           join products cp on cp.id = i.product_id
           left join lateral (
               select q.id, q.name, q.unit, q.price_fen, q.listed,
                      coalesce(s.on_hand - s.reserved, 0) as available
               from products q
               left join stock_levels s on s.store_id = q.store_id and s.product_id = q.id
               where q.store_id = $3
                 and (q.id = cp.id or (q.name = cp.name and q.unit = cp.unit))
               order by q.id = cp.id desc, q.listed desc, 6 desc
               limit 1
           ) p on true
           where c.customer_id = $1 and c.store_id = $2
           order by i.added_at, cp.name"#,
        customer_id,
        cart_store,
        store.id
    )
    .fetch_all(pool)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(id), Some(name), Some(unit), Some(price_fen), Some(listed), Some(available)) =
            (r.id, r.name, r.unit, r.price_fen, r.listed, r.available)
        else {
            return Err(Refusal::because(
                AppError::validation(
                    "cart",
                    format!("{} does not sell {}.", store.name, r.cart_name),
                ),
                format!("{} not sold there", r.cart_name),
            ));
        };
        if !listed {
            return Err(Refusal::because(
                AppError::validation(
                    "cart",
                    format!("{name} is no longer sold: remove it from your cart."),
                ),
                format!("{name} no longer sold"),
            ));
        }
        if r.quantity > available {
            let reason = if available <= 0 {
                format!("{name} sold out")
            } else {
                format!("only {available} {name} left")
            };
            return Err(Refusal::because(sold_out(&name, available), reason));
        }
        lines.push(PricedLine {
            product_id: id,
            name,
            unit,
            unit_price: Money::from_fen(price_fen),
            quantity: r.quantity,
        });
    }
    Ok(lines)
}

/// Why one store cannot take the cart: the error for the customer (when it is their store),
/// and in a few words for the note naming the branch that takes it instead.
struct Refusal {
    error: AppError,
    reason: Option<String>,
}

impl Refusal {
    fn because(error: AppError, reason: String) -> Refusal {
        Refusal {
            error,
            reason: Some(reason),
        }
    }
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Refusal {
        Refusal {
            error,
            reason: None,
        }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Refusal {
        AppError::from(e).into()
    }
}

fn sold_out(name: &str, available: i32) -> AppError {
    let message = if available <= 0 {
        format!("Sold out: {name} is gone. Remove it from your cart to go on.")
    } else {
        format!("Only {available} of {name} left: lower the quantity in your cart.")
    };
    AppError::validation("cart", message)
}

/// The strongest condition operations set on a zone containing this point: surcharge,
/// travel-time multiplier and a label.
pub async fn zone_condition_at(
    pool: &PgPool,
    lat: f64,
    lng: f64,
) -> Result<Option<(Money, f64, String)>, AppError> {
    let rows = sqlx::query!(
        r#"select z.name, z.polygon as "polygon: Json<Vec<[f64; 2]>>", c.kind, c.travel_multiplier, c.surcharge_fen
           from zone_conditions c join zones z on z.id = c.zone_id
           where c.starts_at <= now() and (c.ends_at is null or c.ends_at > now())"#
    )
    .fetch_all(pool)
    .await?;
    let best = rows
        .into_iter()
        .filter(|r| pricing::in_polygon(lat, lng, &r.polygon.0))
        .max_by_key(|r| r.surcharge_fen);
    Ok(best.map(|r| {
        let kind = match r.kind.as_str() {
            "rain" => "Rain 下雨",
            "storm" => "Storm 暴雨",
            _ => "Heavy traffic 拥堵",
        };
        (
            Money::from_fen(r.surcharge_fen),
            r.travel_multiplier,
            format!("{kind} in {}", r.name),
        )
    }))
}

/// 30-minute slots today and tomorrow within the store's opening hours and holiday exceptions (its time zone),
/// far enough ahead to prepare and deliver, with the ones at the store's cap marked full.
pub async fn slots(pool: &PgPool, store_id: Uuid) -> Result<Vec<Slot>, AppError> {
    let rows = sqlx::query!(
        r#"with s as (select id, time_zone, slot_capacity, prep_time_min from stores where id = $1),
                days as (select d, (now() at time zone s.time_zone)::date + d as day
                         from s, generate_series(0, 1) d),
                -- a holiday exception replaces that date's weekly hours (closed: no rows).
                hours as (
                    select days.d, days.day, h.opens, h.closes
                    from days
                    join store_hours h on h.store_id = $1 and h.weekday = extract(isodow from days.day)
                    where not exists (select 1 from store_hour_exceptions e
                                      where e.store_id = $1 and e.day = days.day)
                    union all
                    select days.d, days.day, e.opens, e.closes
                    from days
                    join store_hour_exceptions e on e.store_id = $1 and e.day = days.day
                    where e.opens is not null
                ),
                raw as (
                    select hours.d, gs as local_start
                    from hours
                    cross join lateral generate_series(hours.day + hours.opens,
                                                       hours.day + hours.closes - interval '30 minutes',
                                                       interval '30 minutes') gs
                )
           select (raw.local_start at time zone s.time_zone) as "starts_at!",
                  raw.d as "day!",
                  to_char(raw.local_start, 'HH24:MI') || '–' ||
                      to_char(raw.local_start + interval '30 minutes', 'HH24:MI') as "label!",
                  s.slot_capacity,
                  (select count(*) from orders o
                    where o.store_id = s.id
                      and o.scheduled_for = (raw.local_start at time zone s.time_zone)
                      and o.status not in ('cancelled', 'rejected', 'refunded')) as "taken!"
           from raw, s
           where (raw.local_start at time zone s.time_zone)
                 >= now() + make_interval(mins => s.prep_time_min + $2)
           order by 1"#,
        store_id,
        SLOT_LEAD_MIN
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Slot {
            starts_at: r.starts_at,
            label: format!(
                "{} {}",
                if r.day == 0 {
                    "今天 Today"
                } else {
                    "明天 Tomorrow"
                },
                r.label
            ),
            full: r.slot_capacity.is_some_and(|cap| r.taken >= i64::from(cap)),
        })
        .collect())
}

/// What the customer asks a price for.
pub struct QuoteRequest {
    pub store_id: Uuid,
    pub fulfilment: Fulfilment,
    pub address_id: Option<Uuid>,
    pub slot: Option<DateTime<Utc>>,
    pub tip: Money,
}

/// Where a delivery goes: the address, its position and the zone condition there.
struct Destination {
    address_id: Uuid,
    lat: f64,
    lng: f64,
    condition: Option<(Money, f64, String)>,
}

async fn destination(
    pool: &PgPool,
    customer_id: Uuid,
    address_id: Option<Uuid>,
) -> Result<Destination, AppError> {
    let address_id = match address_id {
        Some(id) => id,
        None => sqlx::query_scalar!(
            "select id from addresses where customer_id = $1 order by created_at desc, id desc limit 1",
            customer_id
        )
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| {
            AppError::validation(
                "address",
                "Add a delivery address first (or choose store pickup).",
            )
        })?,
    };
    let a = sqlx::query!(
        "select lat, lng from addresses where id = $1 and customer_id = $2",
        address_id,
        customer_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| AppError::validation("address", "Choose one of your addresses."))?;
    Ok(Destination {
        address_id,
        lat: a.lat,
        lng: a.lng,
        condition: zone_condition_at(pool, a.lat, a.lng).await?,
    })
}

/// Minutes each paid order waiting to be packed adds when branches are compared.
const BACKLOG_MIN_PER_ORDER: i64 = 2;

/// The cart priced at one store, with what ranks it among the branches of a chain.
struct Offer {
    store: StoreForOrder,
    lines: Vec<PricedLine>,
    totals: Totals,
    distance_m: Option<f64>,
    eta_min: i32,
    surcharge_reason: Option<String>,
}

impl Offer {
    /// Delivery time plus the store's backlog: lower is better.
    fn rank(&self) -> i64 {
        i64::from(self.eta_min) + self.store.backlog * BACKLOG_MIN_PER_ORDER
    }
}

/// Everything one store needs to take this cart now (or in the chosen slot). A refusal with
/// a `Validation` error says why it cannot.
async fn offer_at(
    pool: &PgPool,
    customer_id: Uuid,
    req: &QuoteRequest,
    store: StoreForOrder,
    to: Option<&Destination>,
) -> Result<Offer, Refusal> {
    if !store.accepting_orders {
        return Err(AppError::validation(
            "store",
            "This store is not taking orders right now. Try again later or choose another store.",
        )
        .into());
    }
    if req.fulfilment == Fulfilment::Pickup && !store.pickup_enabled {
        return Err(AppError::validation(
            "fulfilment",
            "This store does not offer pickup: choose delivery.",
        )
        .into());
    }
    let lines = cart_lines(pool, customer_id, req.store_id, &store).await?;
    match req.slot {
        Some(slot) => {
            let slots = slots(pool, store.id).await?;
            match slots.iter().find(|s| s.starts_at == slot) {
                None => {
                    return Err(AppError::validation(
                        "slot",
                        "That time is not available any more: choose another slot.",
                    )
                    .into());
                }
                Some(s) if s.full => {
                    return Err(AppError::validation(
                        "slot",
                        "That slot is full: choose another one.",
                    )
                    .into());
                }
                Some(_) => {}
            }
        }
        None if !store.open_now => {
            return Err(AppError::validation(
                "slot",
                "The store is closed now: choose a time slot when it is open.",
            )
            .into());
        }
        None => {}
    }
    let distance_m = to.map(|a| routing::haversine_m(store.lat, store.lng, a.lat, a.lng));
    let (surcharge, multiplier, surcharge_reason) = match to.and_then(|a| a.condition.clone()) {
        Some((s, m, why)) => (s, m, Some(why)),
        None => (Money::ZERO, 1.0, None),
    };
    let totals = pricing::price(&PricingInput {
        lines: &lines,
        fulfilment: req.fulfilment,
        packaging_fee: Money::from_fen(store.packaging_fee_fen),
        min_order: Money::from_fen(store.min_order_fen),
        distance_m,
        radius_m: store.delivery_radius_m,
        discount_rule: store.discount_rule(),
        surcharge,
        tip: req.tip,
    })?;
    let eta_min = match distance_m {
        Some(d) => crate::delivery::eta_minutes(store.prep_time_min, d, multiplier),
        None => store.prep_time_min,
    };
    Ok(Offer {
        store,
        lines,
        totals,
        distance_m,
        eta_min,
        surcharge_reason,
    })
}

/// Prices the customer's cart and keeps the quote (valid for [`QUOTE_TTL`]).
///
/// A delivery from a store of a chain goes to the branch that can take the whole cart and
/// delivers soonest, counting its backlog; the quote names that branch and its prices. When no
/// branch can, the customer is told why before paying.
pub async fn quote(
    pool: &PgPool,
    customer_id: Uuid,
    req: QuoteRequest,
) -> Result<QuoteView, AppError> {
    let stores =
        stores_for_order(pool, req.store_id, req.fulfilment == Fulfilment::Delivery).await?;
    let cart_empty = sqlx::query_scalar!(
        r#"select not exists (select 1 from carts c join cart_items i on i.cart_id = c.id
                              where c.customer_id = $1 and c.store_id = $2) as "empty!""#,
        customer_id,
        req.store_id
    )
    .fetch_one(pool)
    .await?;
    if cart_empty {
        return Err(AppError::validation(
            "cart",
            "Your cart at this store is empty: add something first.",
        ));
    }
    let to = match req.fulfilment {
        Fulfilment::Pickup => None,
        Fulfilment::Delivery => Some(destination(pool, customer_id, req.address_id).await?),
    };
    let branches = stores.len();
    let mut best: Option<Offer> = None;
    let mut cart_store_refusal: Option<Refusal> = None;
    for store in stores {
        let own = store.id == req.store_id;
        match offer_at(pool, customer_id, &req, store, to.as_ref()).await {
            Ok(offer) => {
                if best.as_ref().is_none_or(|b| offer.rank() < b.rank()) {
                    best = Some(offer);
                }
            }
            Err(
                r @ Refusal {
                    error: AppError::Validation { .. },
                    ..
                },
            ) if own => cart_store_refusal = Some(r),
            Err(Refusal {
                error: AppError::Validation { .. },
                ..
            }) => {}
            Err(r) => return Err(r.error),
        }
    }
    let Some(offer) = best else {
        let refusal = cart_store_refusal.map_or(AppError::NotFound, |r| r.error);
        return Err(match refusal {
            AppError::Validation { field, message } if branches > 1 => AppError::Validation {
                field,
                message: format!(
                    "{message} No other branch that delivers to this address can take the whole order either."
                ),
            },
            other => other,
        });
    };
    let store_choice = (offer.store.id != req.store_id).then(|| {
        let why = match cart_store_refusal {
            Some(Refusal {
                reason: Some(reason),
                ..
            }) => format!("your store can't take the whole cart now ({reason})"),
            Some(Refusal {
                error: AppError::Validation { message, .. },
                ..
            }) => format!("your store can't take this order now ({message})"),
            _ => "it delivers sooner".to_string(),
        };
        format!(
            "{} delivers this order: {why}. Prices are that branch's.",
            offer.store.name
        )
    });
    let discount_rule = offer
        .store
        .discount_rule()
        .map(|(t, off)| format!("Spend {t}, save {off} 满{t}减{off}"));
    let id = Uuid::now_v7();
    let ttl_secs = QUOTE_TTL.as_secs() as f64;
    let distance = offer.distance_m.map(|d| d.round() as i32);
    let address_id = to.as_ref().map(|a| a.address_id);
    let totals = offer.totals;
    let expires_at = sqlx::query_scalar!(
        r#"insert into quotes (id, customer_id, store_id, fulfilment, address_id, scheduled_for, lines,
                               items_fen, packaging_fen, delivery_fee_fen, surcharge_fen, discount_fen,
                               tip_fen, total_fen, distance_m, eta_min, expires_at, cart_store_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   now() + make_interval(secs => $17), $18)
           returning expires_at"#,
        id,
        customer_id,
        offer.store.id,
        req.fulfilment.as_str(),
        address_id,
        req.slot,
        Json(&offer.lines) as _,
        totals.items.fen(),
        totals.packaging.fen(),
        totals.delivery_fee.fen(),
        totals.surcharge.fen(),
        totals.discount.fen(),
        totals.tip.fen(),
        totals.total.fen(),
        distance,
        offer.eta_min,
        ttl_secs,
        req.store_id
    )
    .fetch_one(pool)
    .await?;
    Ok(QuoteView {
        id,
        store_id: offer.store.id,
        store_name: offer.store.name,
        store_choice,
        fulfilment: req.fulfilment,
        address_id,
        lines: offer.lines,
        totals,
        surcharge_reason: offer.surcharge_reason,
        discount_rule,
        distance_m: distance,
        eta_min: offer.eta_min,
        scheduled_for: req.slot,
        expires_at,
    })
}

/// A checkout's Idempotency-Key: what the client chose to make retries safe.
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(key: &str) -> Result<IdempotencyKey, AppError> {
        let ok = (8..=100).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(IdempotencyKey(key.to_string()))
        } else {
            Err(AppError::validation(
                "idempotency_key",
                "Send an Idempotency-Key of 8 to 100 letters, digits, '-' or '_'.",
            ))
        }
    }
}

pub(crate) fn random_digits(n: usize) -> Result<String, AppError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(bytes.iter().map(|b| char::from(b'0' + b % 10)).collect())
}

fn random_token() -> Result<String, AppError> {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The order a key already produced, or `None` when this is the key's first use. A key
/// reused with another request is refused.
async fn claim_key(
    tx: &mut Transaction<'_, Postgres>,
    customer_id: Uuid,
    key: &IdempotencyKey,
    request_hash: &[u8],
) -> Result<Option<Uuid>, AppError> {
    let inserted = sqlx::query!(
        "insert into idempotency_keys (scope, owner_id, key, request_hash) values ('checkout', $1, $2, $3)
         on conflict do nothing",
        customer_id,
        key.0,
        request_hash
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let first = sqlx::query!(
        "select request_hash, order_id from idempotency_keys where scope = 'checkout' and owner_id = $1 and key = $2",
        customer_id,
        key.0
    )
    .fetch_one(&mut **tx)
    .await?;
    if first.request_hash != request_hash {
        return Err(AppError::validation(
            "idempotency_key",
            "This Idempotency-Key was already used for a different checkout. Use a new key for a new order.",
        ));
    }
    first
        .order_id
        .map(Some)
        .ok_or_else(|| AppError::conflict("This checkout is still being processed. Try again."))
}

/// Takes `quantity` of each product off what is available, products in id order so two
/// checkouts never wait on each other in a cycle. Nothing is reserved if one line fails
/// (the caller's transaction rolls back).
pub async fn reserve_stock(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    lines: &BTreeMap<Uuid, (String, i32)>,
) -> Result<(), AppError> {
    for (product_id, (name, quantity)) in lines {
        let reserved = sqlx::query!(
            "update stock_levels set reserved = reserved + $3
             where store_id = $1 and product_id = $2 and on_hand - reserved >= $3",
            store_id,
            product_id,
            quantity
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if reserved == 0 {
            let available = sqlx::query_scalar!(
                "select on_hand - reserved from stock_levels where store_id = $1 and product_id = $2",
                store_id,
                product_id
            )
            .fetch_optional(&mut **tx)
            .await?
            .flatten()
            .unwrap_or(0);
            return Err(sold_out(name, available));
        }
    }
    Ok(())
}

/// Turns a quote into an order in `pending_payment`: re-checks prices and stock, reserves,
/// writes the order, its lines, the first event and an outbox row, all in one transaction.
/// The same key again returns the same order.
pub async fn place_order(
    pool: &PgPool,
    customer_id: Uuid,
    quote_id: Uuid,
    key: &IdempotencyKey,
    notes: &str,
    payment_ttl: Duration,
) -> Result<PlacedOrder, AppError> {
    let request_hash = Sha256::new()
        .chain_update(quote_id.as_bytes())
        .chain_update(notes.as_bytes())
        .finalize()
        .to_vec();
    let mut tx = pool.begin().await?;
    if let Some(order_id) = claim_key(&mut tx, customer_id, key, &request_hash).await? {
        tx.rollback().await?;
        let number = sqlx::query_scalar!("select number from orders where id = $1", order_id)
            .fetch_one(pool)
            .await?;
        return Ok(PlacedOrder { order_id, number });
    }
    let q = sqlx::query!(
        r#"select q.store_id, q.cart_store_id, q.fulfilment, q.address_id, q.scheduled_for,
                  q.lines as "lines: Json<Vec<PricedLine>>",
                  q.items_fen, q.packaging_fen, q.delivery_fee_fen, q.surcharge_fen, q.discount_fen,
                  q.tip_fen, q.total_fen, q.distance_m, q.eta_min, q.expires_at < now() as "expired!"
           from quotes q where q.id = $1 and q.customer_id = $2
           for update"#,
        quote_id,
        customer_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    // A separate statement after the lock: it sees an order another checkout of this quote
    // committed while we waited.
    let used_by = sqlx::query_scalar!("select number from orders where quote_id = $1", quote_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(number) = used_by {
        return Err(AppError::conflict(format!(
            "This quote was already ordered as {number}."
        )));
    }
    if q.expired {
        return Err(AppError::conflict(
            "Your quote expired. Check the new total and confirm again.",
        ));
    }
    let fulfilment = Fulfilment::parse(&q.fulfilment)?;
    let quoted = q.lines.0;

    // Prices, listing and store may have changed since the quote: the customer confirms again.
    let mut merged: BTreeMap<Uuid, (String, i32)> = BTreeMap::new();
    for l in &quoted {
        let e = merged.entry(l.product_id).or_insert((l.name.clone(), 0));
        e.1 += l.quantity;
    }
    let ids: Vec<Uuid> = merged.keys().copied().collect();
    let current = sqlx::query!(
        "select id, store_id, price_fen, listed, name from products where id = any($1)",
        &ids
    )
    .fetch_all(&mut *tx)
    .await?;
    for l in &quoted {
        let Some(p) = current.iter().find(|p| p.id == l.product_id) else {
            return Err(AppError::conflict(format!(
                "{} is no longer sold. Check your cart and confirm again.",
                l.name
            )));
        };
        if p.store_id != q.store_id {
            return Err(AppError::request(
                "The quote names a product of another store.",
            ));
        }
        if !p.listed {
            return Err(AppError::conflict(format!(
                "{} is no longer sold. Remove it from your cart and confirm again.",
                p.name
            )));
        }
        if p.price_fen != l.unit_price.fen() {
            return Err(AppError::conflict(format!(
                "The price of {} changed from {} to {}. Check the new total and confirm again.",
                p.name,
                l.unit_price,
                Money::from_fen(p.price_fen)
            )));
        }
    }
    let store = sqlx::query!(
        r#"select s.accepting_orders, s.time_zone, s.slot_capacity,
                  store_open_at(s.id, s.time_zone, now()) as "open_now!"
           from stores s where s.id = $1"#,
        q.store_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if !store.accepting_orders {
        return Err(AppError::conflict(
            "The store stopped taking orders a moment ago. Try again later.",
        ));
    }
    match q.scheduled_for {
        None if !store.open_now => {
            return Err(AppError::conflict(
                "The store has just closed: choose a time slot and confirm again.",
            ));
        }
        None => {}
        Some(slot) => {
            if let Some(cap) = store.slot_capacity {
                // Serialize scheduled checkouts of this store so a slot never takes more than its cap.
                // `no key update`: inserting orders for this store (a foreign key check)
                // takes `key share` on the same row and must not wait behind this lock.
                sqlx::query!(
                    "select id from stores where id = $1 for no key update",
                    q.store_id
                )
                .fetch_one(&mut *tx)
                .await?;
                let taken = sqlx::query_scalar!(
                    r#"select count(*) as "n!" from orders
                       where store_id = $1 and scheduled_for = $2
                         and status not in ('cancelled', 'rejected', 'refunded')"#,
                    q.store_id,
                    slot
                )
                .fetch_one(&mut *tx)
                .await?;
                if taken >= i64::from(cap) {
                    return Err(AppError::conflict(
                        "That slot has just filled up: choose another one.",
                    ));
                }
            }
        }
    }

    reserve_stock(&mut tx, q.store_id, &merged).await?;

    let (contact_name, contact_phone, detail, lat, lng) = match (fulfilment, q.address_id) {
        (Fulfilment::Delivery, Some(address_id)) => {
            let a = sqlx::query!(
                "select contact_name, phone, detail, lat, lng from addresses where id = $1 and customer_id = $2",
                address_id,
                customer_id
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                AppError::conflict("The delivery address was deleted: choose one and confirm again.")
            })?;
            (
                a.contact_name,
                a.phone,
                Some(a.detail),
                Some(a.lat),
                Some(a.lng),
            )
        }
        (Fulfilment::Delivery, None) => {
            return Err(AppError::conflict(
                "The delivery address was deleted: choose one and confirm again.",
            ));
        }
        (Fulfilment::Pickup, _) => {
            let u = sqlx::query!(
                "select display_name, phone from users where id = $1",
                customer_id
            )
            .fetch_one(&mut *tx)
            .await?;
            (
                u.display_name,
                u.phone.unwrap_or_default(),
                None,
                None,
                None,
            )
        }
    };
    let order_id = Uuid::now_v7();
    let pickup_code = match fulfilment {
        Fulfilment::Pickup => Some(random_digits(6)?),
        Fulfilment::Delivery => None,
    };
    let ttl_secs = payment_ttl.as_secs() as f64;
    let number = sqlx::query_scalar!(
        r#"insert into orders (id, number, customer_id, store_id, status, fulfilment, contact_name,
                               contact_phone, address_detail, dest_lat, dest_lng, notes, scheduled_for,
                               release_at, items_fen, packaging_fen, delivery_fee_fen, surcharge_fen,
                               discount_fen, tip_fen, total_fen, distance_m, eta_min, pickup_code,
                               tracking_token, quote_id, payment_expires_at, cart_store_id)
           values ($1, (select 'SD-' || to_char(now() at time zone $2, 'YYYYMMDD') || '-'
                               || lpad(n::text, greatest(4, length(n::text)), '0')
                        from nextval('order_number_seq') n),
                   $3, $4, 'pending_payment', $5, $6, $7, $8, $9, $10, $11, $12,
                   $12::timestamptz - make_interval(mins => $20 + 10),
                   $13, $14, $15, $16, $17, $18, $19, $21, $20, $22, $23, $24,
                   now() + make_interval(secs => $25), $26)
           returning number"#,
        order_id,
        store.time_zone,
        customer_id,
        q.store_id,
        fulfilment.as_str(),
        contact_name,
        contact_phone,
        detail,
        lat,
        lng,
        notes,
        q.scheduled_for,
        q.items_fen,
        q.packaging_fen,
        q.delivery_fee_fen,
        q.surcharge_fen,
        q.discount_fen,
        q.tip_fen,
        q.total_fen,
        q.eta_min,
        q.distance_m,
        pickup_code,
        random_token()?,
        quote_id,
        ttl_secs,
        q.cart_store_id
    )
    .fetch_one(&mut *tx)
    .await?;
    for l in &quoted {
        sqlx::query!(
            "insert into order_items (order_id, product_id, name, unit, unit_price_fen, quantity)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (order_id, product_id) do update set quantity = order_items.quantity + excluded.quantity",
            order_id,
            l.product_id,
            l.name,
            l.unit,
            l.unit_price.fen(),
            l.quantity
        )
        .execute(&mut *tx)
        .await?;
    }
    for (product_id, (_, quantity)) in &merged {
        sqlx::query!(
            "insert into reservations (order_id, store_id, product_id, quantity, expires_at)
             values ($1, $2, $3, $4, now() + make_interval(secs => $5))",
            order_id,
            q.store_id,
            product_id,
            quantity,
            ttl_secs
        )
        .execute(&mut *tx)
        .await?;
    }
    super::lifecycle::record_event(
        &mut tx,
        order_id,
        None,
        super::model::OrderStatus::PendingPayment,
        super::model::ActorKind::Customer,
        Some(customer_id),
        "",
    )
    .await?;
    super::lifecycle::enqueue(
        &mut tx,
        "order.created",
        serde_json::json!({ "order_id": order_id, "number": number }),
    )
    .await?;
    sqlx::query!(
        "update idempotency_keys set order_id = $3 where scope = 'checkout' and owner_id = $1 and key = $2",
        customer_id,
        key.0,
        order_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(PlacedOrder { order_id, number })
}

/// Totals as stored on a quote or order row.
pub fn totals_from_fen(
    items: i64,
    packaging: i64,
    delivery: i64,
    surcharge: i64,
    discount: i64,
    tip: i64,
    total: i64,
) -> Totals {
    Totals {
        items: Money::from_fen(items),
        packaging: Money::from_fen(packaging),
        delivery_fee: Money::from_fen(delivery),
        surcharge: Money::from_fen(surcharge),
        discount: Money::from_fen(discount),
        tip: Money::from_fen(tip),
        total: Money::from_fen(total),
    }
}
