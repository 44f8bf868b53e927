//! Live dispatch rules (server only): turn the database into a routing snapshot, solve it with
//! the engine, and turn the plan into offers, assignments, ETAs and recorded decisions.
//! The planner proposes; couriers accept or decline within the offer's deadline; expired and
//! declined offers free their orders for the next round.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use routing::problem::{NO_LIMIT, NodeSpec, Objective, Problem, Request, Vehicle};
use routing::solution::Solution;
use routing::solver::{SolveOptions, solve};
use serde_json::json;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::delivery::{COURIER_SPEED_M_S, DETOUR};
use crate::error::AppError;
use crate::orders::pricing;

/// How the planner behaves; the defaults suit a city of e-bikes.
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    /// How long a courier has to answer an offer.
    pub offer_ttl: Duration,
    /// Time the engine may spend on one round.
    pub solve_budget: Duration,
    /// A courier silent for longer than this is planned as if offline.
    pub stale_position: Duration,
    /// A courier who declined or let an offer expire is not offered that order for this long.
    pub refusal_cooldown: Duration,
    /// A packed order whose planned pickup slipped this far past what the courier accepted
    /// goes back to the pool: the courier has fallen behind.
    pub behind_limit: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            offer_ttl: Duration::from_secs(30),
            solve_budget: Duration::from_millis(400),
            stale_position: Duration::from_secs(180),
            refusal_cooldown: Duration::from_secs(600),
            behind_limit: Duration::from_secs(600),
        }
    }
}

/// What one planning round did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundOutcome {
    pub round_id: Option<Uuid>,
    pub orders: usize,
    pub couriers: usize,
    pub offers: usize,
    pub unserved: usize,
    pub released: usize,
    pub solve_ms: u64,
}

struct CourierRow {
    id: Uuid,
    lat: f64,
    lng: f64,
    capacity: i32,
    shift_end: Option<DateTime<Utc>>,
    has_pending_offer: bool,
}

struct OrderRow {
    id: Uuid,
    number: String,
    status: String,
    store_lat: f64,
    store_lng: f64,
    dest_lat: f64,
    dest_lng: f64,
    ready_at: DateTime<Utc>,
    deliver_by: DateTime<Utc>,
    courier_id: Option<Uuid>,
    offered_to: Option<Uuid>,
    earnings_fen: i64,
}

/// What leaving an order unserved costs the plan, in seconds of travel (a day).
const UNSERVED_PENALTY_S: f64 = 86_400.0;

/// Statuses in which an order still needs a courier's ride (dispatch may assign before the
/// store accepts).
pub(crate) const OPEN: [&str; 6] = [
    "placed",
    "accepted",
    "picking",
    "ready",
    "picked_up",
    "delivering",
];

fn on_board(status: &str) -> bool {
    matches!(status, "picked_up" | "delivering")
}

/// Offers past their deadline: the orders go back to the pool and the courier is not asked
/// again about them for a while. Returns how many offers expired.
pub async fn expire_offers(pool: &PgPool, cfg: &DispatchConfig) -> Result<usize, AppError> {
    let mut tx = pool.begin().await?;
    let expired = sqlx::query!(
        "update offers set status = 'expired', answered_at = now()
         where id in (select id from offers where status = 'pending' and expires_at <= now()
                      for update skip locked)
         returning id, courier_id"
    )
    .fetch_all(&mut *tx)
    .await?;
    for offer in &expired {
        release_offer(
            &mut tx,
            offer.id,
            offer.courier_id,
            "expired",
            "No answer before the offer's deadline",
            cfg,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(expired.len())
}

/// Frees the orders of an answered-no offer and remembers the refusal.
async fn release_offer(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    offer_id: Uuid,
    courier_id: Uuid,
    kind: &str,
    reason: &str,
    cfg: &DispatchConfig,
) -> Result<(), AppError> {
    let cooldown = cfg.refusal_cooldown.as_secs_f64();
    let orders = sqlx::query_scalar!(
        "update orders o set offered_to = null
         from offer_orders oo where oo.offer_id = $1 and oo.order_id = o.id and o.offered_to = $2
         returning o.id",
        offer_id,
        courier_id
    )
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into offer_refusals (order_id, courier_id, until)
         select unnest($1::uuid[]), $2, now() + make_interval(secs => $3)
         on conflict (order_id, courier_id) do update set until = excluded.until",
        &orders,
        courier_id,
        cooldown
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into dispatch_decisions (id, order_id, courier_id, kind, reason)
         select gen_random_uuid(), unnest($1::uuid[]), $2, $3, $4",
        &orders,
        courier_id,
        kind,
        reason
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A courier answers an offer. Accepting makes the orders theirs; declining frees them.
pub async fn answer_offer(
    pool: &PgPool,
    courier_id: Uuid,
    offer_id: Uuid,
    accept: bool,
    cfg: &DispatchConfig,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let offer = sqlx::query!(
        "select status, expires_at <= now() as \"expired!\" from offers
         where id = $1 and courier_id = $2 for update",
        offer_id,
        courier_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if offer.status != "pending" {
        return Err(AppError::conflict(
            "This offer has already been answered or has expired.",
        ));
    }
    if offer.expired {
        return Err(AppError::conflict(
            "This offer has expired; it goes to someone else.",
        ));
    }
    if accept {
        sqlx::query!(
            "update offers set status = 'accepted', answered_at = now() where id = $1",
            offer_id
        )
        .execute(&mut *tx)
        .await?;
        let orders = sqlx::query_scalar!(
            "update orders o set courier_id = $2, offered_to = null, committed_pickup_at = o.planned_pickup_at
             from offer_orders oo where oo.offer_id = $1 and oo.order_id = o.id and o.offered_to = $2
             returning o.id",
            offer_id,
            courier_id
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into dispatch_decisions (id, order_id, courier_id, kind, reason, actor_id)
             select gen_random_uuid(), unnest($1::uuid[]), $2, 'accepted', 'Courier accepted the offer', $2",
            &orders,
            courier_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "update couriers set status = 'busy' where user_id = $1 and status = 'online'",
            courier_id
        )
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query!(
            "update offers set status = 'declined', answered_at = now() where id = $1",
            offer_id
        )
        .execute(&mut *tx)
        .await?;
        release_offer(
            &mut tx,
            offer_id,
            courier_id,
            "declined",
            "Courier declined the offer",
            cfg,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Orders held by couriers who went offline, went silent or fell behind (not yet picked up)
/// go back to the pool, with the decision recorded.
async fn release_from_absent(pool: &PgPool, cfg: &DispatchConfig) -> Result<usize, AppError> {
    let stale = cfg.stale_position.as_secs_f64();
    let mut tx = pool.begin().await?;
    let released = sqlx::query!(
        "update orders o set courier_id = null
         from couriers c
         where c.user_id = o.courier_id and o.dispatch_pinned = false
           and o.status in ('placed', 'accepted', 'picking', 'ready')
           and (c.status = 'offline' or c.position_at is null
                or c.position_at < now() - make_interval(secs => $1))
         returning o.id, c.user_id as courier_id, c.status",
        stale
    )
    .fetch_all(&mut *tx)
    .await?;
    // Behind: the order waits packed at the store, but the courier's planned arrival has
    // slipped past what they accepted by more than the limit (a store that is late to pack
    // moves the pickup too, so only packed orders count).
    let behind = sqlx::query!(
        r#"with late as (
               select id, courier_id,
                      extract(epoch from planned_pickup_at - committed_pickup_at)::bigint / 60 as late_min
               from orders
               where courier_id is not null and dispatch_pinned = false and status = 'ready'
                 and planned_pickup_at > committed_pickup_at + make_interval(secs => $1)
               for update
           )
           update orders o set courier_id = null, committed_pickup_at = null
           from late where o.id = late.id
           returning late.id as "id!", late.courier_id as "courier_id!", late.late_min as "late_min!""#,
        cfg.behind_limit.as_secs_f64()
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in &behind {
        sqlx::query!(
            "insert into dispatch_decisions (id, order_id, courier_id, kind, reason)
             values (gen_random_uuid(), $1, $2, 'released', $3)",
            r.id,
            r.courier_id,
            format!(
                "Courier fell behind: the pickup slipped {} min past what they accepted",
                r.late_min
            )
        )
        .execute(&mut *tx)
        .await?;
    }
    for r in &released {
        let reason = if r.status == "offline" {
            "Courier went offline before pickup"
        } else {
            "Courier stopped sending positions before pickup"
        };
        sqlx::query!(
            "insert into dispatch_decisions (id, order_id, courier_id, kind, reason)
             values (gen_random_uuid(), $1, $2, 'released', $3)",
            r.id,
            r.courier_id,
            reason
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(released.len() + behind.len())
}

/// The travel multiplier at a point: the strongest active zone condition containing it.
struct Conditions(Vec<(Vec<[f64; 2]>, f64)>);

impl Conditions {
    async fn load(pool: &PgPool) -> Result<Conditions, AppError> {
        let rows = sqlx::query!(
            r#"select z.polygon as "polygon: Json<Vec<[f64; 2]>>", c.travel_multiplier
               from zone_conditions c join zones z on z.id = c.zone_id
               where c.starts_at <= now() and (c.ends_at is null or c.ends_at > now())"#
        )
        .fetch_all(pool)
        .await?;
        Ok(Conditions(
            rows.into_iter()
                .map(|r| (r.polygon.0, r.travel_multiplier))
                .collect(),
        ))
    }

    fn multiplier(&self, lat: f64, lng: f64) -> f64 {
        self.0
            .iter()
            .filter(|(poly, _)| pricing::in_polygon(lat, lng, poly))
            .map(|(_, m)| *m)
            .fold(1.0, f64::max)
    }
}

/// One planning round: expire offers, release orders of absent couriers, solve the city and
/// offer each courier the new orders the plan gives them (one pending offer per courier).
pub async fn plan_round(
    pool: &PgPool,
    cfg: &DispatchConfig,
    trigger: &str,
) -> Result<RoundOutcome, AppError> {
    plan_round_from(pool, cfg, trigger, &mut PlanMemory::default()).await
}

/// The last plan, by database ids: each courier's stops as (order, is pickup).
#[derive(Clone, Debug, Default)]
pub struct PlanMemory(HashMap<Uuid, Vec<(Uuid, bool)>>);

impl PlanMemory {
    /// The remembered stops of one courier, in driving order.
    pub fn stops_of(&self, courier: Uuid) -> &[(Uuid, bool)] {
        self.0.get(&courier).map_or(&[], Vec::as_slice)
    }

    /// The remembered routes as stop lists of this round's problem, keeping only stops that
    /// still make sense (order still open, still allowed on that courier, pickup not done);
    /// `None` when nothing is remembered or the old plan no longer fits.
    fn initial(
        &self,
        snap: &Snapshot,
        couriers: &[CourierRow],
        orders: &[OrderRow],
    ) -> Option<Solution> {
        if self.0.is_empty() {
            return None;
        }
        let p = &snap.problem;
        let order_index: HashMap<Uuid, usize> =
            orders.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
        let lists: Vec<Vec<usize>> = couriers
            .iter()
            .enumerate()
            .map(|(v, c)| {
                let stops: Vec<(usize, usize)> = self
                    .0
                    .get(&c.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|(order, is_pickup)| {
                        let r = *order_index.get(order)?;
                        let req = &p.requests[r];
                        if !p.allowed(r, v) || (*is_pickup && req.on_board) {
                            return None;
                        }
                        Some((r, if *is_pickup { req.pickup } else { req.delivery }))
                    })
                    .collect();
                // Keep whole orders only: both stops, or the drop-off of one on board.
                stops
                    .iter()
                    .filter(|(r, _)| {
                        let req = &p.requests[*r];
                        let count = stops.iter().filter(|(q, _)| q == r).count();
                        count == 2 || (req.on_board && count == 1)
                    })
                    .map(|(_, node)| *node)
                    .collect()
            })
            .collect();
        Solution::from_routes(p, &lists).ok()
    }

    fn remember(
        &mut self,
        snap: &Snapshot,
        couriers: &[CourierRow],
        orders: &[OrderRow],
        plan: &Solution,
    ) {
        let p = &snap.problem;
        self.0 = plan
            .routes
            .iter()
            .filter(|r| !r.is_empty())
            .map(|route| {
                let stops = route
                    .stops()
                    .iter()
                    .map(|&node| {
                        let r = p.request_of[node];
                        (orders[r].id, node == p.requests[r].pickup)
                    })
                    .collect();
                (couriers[route.vehicle].id, stops)
            })
            .collect();
    }
}

/// A planning round that starts from the previous round's plan (the leader keeps it), so a
/// new order is inserted into the routes couriers are already driving before the search.
pub async fn plan_round_from(
    pool: &PgPool,
    cfg: &DispatchConfig,
    trigger: &str,
    memory: &mut PlanMemory,
) -> Result<RoundOutcome, AppError> {
    expire_offers(pool, cfg).await?;
    let released = release_from_absent(pool, cfg).await?;
    let stale = cfg.stale_position.as_secs_f64();
    let couriers: Vec<CourierRow> = sqlx::query!(
        r#"select c.user_id, c.lat as "lat!", c.lng as "lng!", c.capacity, c.shift_end,
                  exists (select 1 from offers f where f.courier_id = c.user_id and f.status = 'pending')
                      as "pending!"
           from couriers c
           where c.status in ('online', 'busy') and c.lat is not null and c.lng is not null
             and c.position_at >= now() - make_interval(secs => $1)
             and (c.shift_end is null or c.shift_end > now())
           order by c.user_id"#,
        stale
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| CourierRow {
        id: r.user_id,
        lat: r.lat,
        lng: r.lng,
        capacity: r.capacity,
        shift_end: r.shift_end,
        has_pending_offer: r.pending,
    })
    .collect();
    let open: Vec<String> = OPEN.iter().map(|s| s.to_string()).collect();
    // Ready time: ready already, else the store's estimate from acceptance, else its default
    // prep time from payment. Deadline: the end of the booked slot, else the ETA promised at
    // checkout (or after acceptance).
    let orders: Vec<OrderRow> = sqlx::query!(
        r#"select o.id, o.number, o.status, s.lat as store_lat, s.lng as store_lng,
                  o.dest_lat as "dest_lat!", o.dest_lng as "dest_lng!",
                  coalesce(o.ready_at,
                           o.accepted_at + make_interval(mins => coalesce(o.prep_estimate_min, s.prep_time_min)),
                           coalesce(o.release_at, o.paid_at, now()) + make_interval(mins => s.prep_time_min))
                      as "ready_at!",
                  coalesce(o.scheduled_for + interval '30 minutes',
                           coalesce(o.paid_at, now()) + make_interval(mins => o.eta_min)) as "deliver_by!",
                  o.courier_id, o.offered_to,
                  o.delivery_fee_fen + o.tip_fen as "earnings!"
           from orders o join stores s on s.id = o.store_id
           where o.fulfilment = 'delivery' and o.status = any($1)
             and coalesce(o.release_at, o.paid_at, now()) <= now() + interval '15 minutes'
           order by o.id"#,
        &open
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| OrderRow {
        id: r.id,
        number: r.number,
        status: r.status,
        store_lat: r.store_lat,
        store_lng: r.store_lng,
        dest_lat: r.dest_lat,
        dest_lng: r.dest_lng,
        ready_at: r.ready_at,
        deliver_by: r.deliver_by,
        courier_id: r.courier_id,
        offered_to: r.offered_to,
        earnings_fen: r.earnings,
    })
    .collect();
    let refusals: Vec<(Uuid, Uuid)> =
        sqlx::query!("select order_id, courier_id from offer_refusals where until > now()")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.order_id, r.courier_id))
            .collect();
    let conditions = Conditions::load(pool).await?;
    let now = Utc::now();
    let snapshot = Snapshot::build(&couriers, &orders, &refusals, &conditions, now)?;
    let mut outcome = RoundOutcome {
        orders: orders.len(),
        couriers: couriers.len(),
        released,
        ..RoundOutcome::default()
    };
    if orders.is_empty() || couriers.is_empty() {
        outcome.unserved = orders.iter().filter(|o| o.courier_id.is_none()).count();
        return Ok(outcome);
    }
    let budget = cfg.solve_budget;
    let problem = snapshot.problem.clone();
    let initial = memory.initial(&snapshot, &couriers, &orders);
    let started = Instant::now();
    let plan = tokio::task::spawn_blocking(move || {
        let opts = SolveOptions {
            seed: 1,
            time_limit: budget,
            ..SolveOptions::default()
        };
        solve(&problem, initial, &opts, &mut |_| {})
    })
    .await
    .map_err(|e| AppError::internal(format!("dispatch solve panicked: {e}")))?;
    outcome.solve_ms = started.elapsed().as_millis() as u64;
    outcome.unserved = plan.unassigned.len();
    memory.remember(&snapshot, &couriers, &orders, &plan);
    apply_plan(
        pool,
        cfg,
        &snapshot,
        &couriers,
        &orders,
        &plan,
        trigger,
        now,
        &mut outcome,
    )
    .await?;
    Ok(outcome)
}

/// The routing problem for one round, with the maps back to database ids.
struct Snapshot {
    problem: Problem,
    /// `o2o-pdptw/v1` JSON of the same snapshot (projected to metres) for offline replay.
    json: serde_json::Value,
}

impl Snapshot {
    fn build(
        couriers: &[CourierRow],
        orders: &[OrderRow],
        refusals: &[(Uuid, Uuid)],
        conditions: &Conditions,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, AppError> {
        let secs = |t: DateTime<Utc>| (t - now).num_milliseconds() as f64 / 1000.0;
        let courier_index: HashMap<Uuid, usize> = couriers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let mut points: Vec<(f64, f64)> = Vec::new();
        let mut nodes = Vec::new();
        let mut requests = Vec::new();
        for o in orders {
            let pickup = nodes.len();
            points.push((o.store_lat, o.store_lng));
            nodes.push(NodeSpec {
                ready: secs(o.ready_at).max(0.0),
                due: NO_LIMIT,
                deadline: NO_LIMIT,
                service: 120.0,
            });
            points.push((o.dest_lat, o.dest_lng));
            nodes.push(NodeSpec {
                ready: 0.0,
                due: NO_LIMIT,
                deadline: secs(o.deliver_by),
                service: 180.0,
            });
            // Held orders stay with their courier; offered ones too until answered.
            let holder = o
                .courier_id
                .or(o.offered_to)
                .and_then(|c| courier_index.get(&c).copied());
            let forbidden = refusals
                .iter()
                .filter(|(order, _)| *order == o.id)
                .filter_map(|(_, c)| courier_index.get(c).copied())
                .collect();
            requests.push(Request {
                id: o.id.to_string(),
                pickup,
                delivery: pickup + 1,
                size: 1,
                fixed_vehicle: holder,
                on_board: holder.is_some() && on_board(&o.status),
                forbidden_vehicles: forbidden,
            });
        }
        let end = nodes.len() + couriers.len();
        let mut vehicles = Vec::new();
        for (v, c) in couriers.iter().enumerate() {
            points.push((c.lat, c.lng));
            nodes.push(NodeSpec::depot());
            vehicles.push(Vehicle {
                id: c.id.to_string(),
                start_node: end - couriers.len() + v,
                end_node: end,
                start_time: 0.0,
                end_due: c.shift_end.map_or(NO_LIMIT, |t| secs(t).max(0.0)),
                capacity: c.capacity.max(1),
            });
        }
        points.push((0.0, 0.0));
        nodes.push(NodeSpec::depot());
        // Orders on board of a courier who is not planned (offline, silent) cannot be served by
        // anyone else: leave them out of the fixed set so the problem stays consistent.
        for (r, o) in orders.iter().enumerate() {
            if requests[r].fixed_vehicle.is_none() && on_board(&o.status) {
                requests[r].forbidden_vehicles = (0..couriers.len()).collect();
            }
        }
        let multipliers: Vec<f64> = points
            .iter()
            .map(|&(lat, lng)| conditions.multiplier(lat, lng))
            .collect();
        let travel = |a: usize, b: usize| {
            if a == end || b == end {
                return 0.0;
            }
            let (pa, pb) = (points[a], points[b]);
            let d = routing::haversine_m(pa.0, pa.1, pb.0, pb.1);
            routing::travel_time_s(
                d,
                DETOUR,
                COURIER_SPEED_M_S,
                multipliers[a].max(multipliers[b]),
            )
            .round()
        };
        // A late delivery beats none: an order is left out only when no courier can carry it
        // (capacity, shift ends), never because it would be late.
        let objective = Objective {
            travel_weight: 1.0,
            late_weight: 5.0,
            unserved_penalty: UNSERVED_PENALTY_S,
            minimize_vehicles: false,
        };
        let json = o2o_json(couriers, orders, &points, &nodes, now);
        let problem = Problem::new(
            format!("live-{}", now.format("%Y%m%dT%H%M%S")),
            nodes,
            travel,
            requests,
            vehicles,
            objective,
        )
        .map_err(|e| AppError::internal(format!("dispatch snapshot: {e}")))?;
        Ok(Snapshot { problem, json })
    }
}

/// The snapshot as `o2o-pdptw/v1` (coordinates projected to metres around the first point),
/// so a round can be replayed with `routing solve`.
fn o2o_json(
    couriers: &[CourierRow],
    orders: &[OrderRow],
    points: &[(f64, f64)],
    nodes: &[NodeSpec],
    now: DateTime<Utc>,
) -> serde_json::Value {
    let origin = points.first().copied().unwrap_or((0.0, 0.0));
    let project = |(lat, lng): (f64, f64)| {
        let y = (lat - origin.0).to_radians() * 6_371_008.8;
        let x = (lng - origin.1).to_radians() * 6_371_008.8 * origin.0.to_radians().cos();
        (x.round(), y.round())
    };
    let stores: Vec<_> = orders
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let (x, y) = project(points[2 * i]);
            json!({"id": format!("pickup-{i}"), "x": x, "y": y})
        })
        .collect();
    let order_list: Vec<_> = orders
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let (x, y) = project(points[2 * i + 1]);
            json!({
                "id": o.id, "number": o.number, "store": format!("pickup-{i}"), "dropoff": {"x": x, "y": y},
                "created_at_s": 0, "ready_at_s": nodes[2 * i].ready.round(),
                "deliver_by_s": nodes[2 * i + 1].deadline.round(),
                "pickup_service_s": 120, "dropoff_service_s": 180, "size": 1,
            })
        })
        .collect();
    let courier_list: Vec<_> = couriers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (x, y) = project(points[2 * orders.len() + i]);
            let held = |pick: bool| -> Vec<Uuid> {
                orders
                    .iter()
                    .filter(|o| {
                        o.courier_id.or(o.offered_to) == Some(c.id) && on_board(&o.status) == pick
                    })
                    .map(|o| o.id)
                    .collect()
            };
            json!({
                "id": c.id, "x": x, "y": y, "available_from_s": 0,
                "shift_end_s": c.shift_end.map_or(86_400, |t| (t - now).num_seconds().max(0)),
                "capacity": c.capacity, "on_board": held(true), "committed": held(false),
            })
        })
        .collect();
    json!({
        "schema": "o2o-pdptw/v1",
        "name": format!("live-{}", now.to_rfc3339()),
        "units": {"distance": "m", "time": "s"},
        "travel": {"detour_factor": DETOUR, "speed_mps": COURIER_SPEED_M_S},
        "objective": {"travel_s_weight": 1.0, "late_s_weight": 5.0, "unserved_penalty_s": UNSERVED_PENALTY_S},
        "stores": stores,
        "couriers": courier_list,
        "orders": order_list,
    })
}

#[expect(clippy::too_many_arguments, reason = "one round's inputs, each used")]
async fn apply_plan(
    pool: &PgPool,
    cfg: &DispatchConfig,
    snap: &Snapshot,
    couriers: &[CourierRow],
    orders: &[OrderRow],
    plan: &Solution,
    trigger: &str,
    now: DateTime<Utc>,
    outcome: &mut RoundOutcome,
) -> Result<(), AppError> {
    let p = &snap.problem;
    let round_id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "insert into dispatch_rounds (id, trigger, orders, couriers, unserved, cost, solve_ms, snapshot)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        round_id,
        trigger,
        orders.len() as i32,
        couriers.len() as i32,
        plan.unassigned.len() as i32,
        plan.cost(p),
        outcome.solve_ms as i32,
        snap.json
    )
    .execute(&mut *tx)
    .await?;
    let at = |s: f64| now + chrono::Duration::milliseconds((s * 1000.0) as i64);
    let ttl = cfg.offer_ttl.as_secs_f64();
    for route in &plan.routes {
        if route.is_empty() {
            continue;
        }
        let courier = &couriers[route.vehicle];
        let mut new_orders: Vec<(usize, i32, i32)> = Vec::new();
        let mut seq = HashMap::new();
        for (k, &node) in route.stops().iter().enumerate() {
            let r = p.request_of[node];
            let entry = seq.entry(r).or_insert((k as i32, k as i32));
            entry.1 = k as i32;
            let ord = &orders[r];
            let start = route.start[k + 1];
            if node == p.requests[r].pickup {
                sqlx::query!(
                    "update orders set planned_pickup_at = $2, planned_at = now() where id = $1",
                    ord.id,
                    at(start)
                )
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query!(
                    "update orders set planned_dropoff_at = $2, planned_at = now() where id = $1",
                    ord.id,
                    at(start)
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        for (&r, &(first, last)) in &seq {
            let o = &orders[r];
            if o.courier_id.is_none() && o.offered_to.is_none() {
                new_orders.push((r, first, last));
            }
        }
        if new_orders.is_empty() || courier.has_pending_offer {
            continue;
        }
        new_orders.sort_by_key(|x| x.1);
        // Offer only while every order is still free (another server or an answer may have
        // moved one since the snapshot).
        let ids: Vec<Uuid> = new_orders.iter().map(|(r, _, _)| orders[*r].id).collect();
        let free = sqlx::query_scalar!(
            "select id from orders where id = any($1) and courier_id is null and offered_to is null
             and dispatch_pinned = false for update",
            &ids
        )
        .fetch_all(&mut *tx)
        .await?;
        if free.len() != ids.len() {
            continue;
        }
        let offer_id = Uuid::now_v7();
        let earnings: i64 = new_orders
            .iter()
            .map(|(r, _, _)| orders[*r].earnings_fen)
            .sum();
        let distance_m = (route.travel * COURIER_SPEED_M_S / DETOUR).round() as i32;
        sqlx::query!(
            "insert into offers (id, courier_id, round_id, expires_at, earnings_fen, distance_m)
             values ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)",
            offer_id,
            courier.id,
            round_id,
            ttl,
            earnings,
            distance_m
        )
        .execute(&mut *tx)
        .await?;
        let batch = new_orders.len();
        for (r, first, last) in &new_orders {
            let o = &orders[*r];
            sqlx::query!(
                "insert into offer_orders (offer_id, order_id, pickup_seq, dropoff_seq) values ($1, $2, $3, $4)",
                offer_id,
                o.id,
                first,
                last
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "update orders set offered_to = $2 where id = $1",
                o.id,
                courier.id
            )
            .execute(&mut *tx)
            .await?;
            let reason = format!(
                "Planned on this courier's route (stop {} and {} of {}); {}",
                first + 1,
                last + 1,
                route.stops().len(),
                if batch > 1 {
                    format!("batched with {} other orders", batch - 1)
                } else {
                    "single order".into()
                }
            );
            sqlx::query!(
                "insert into dispatch_decisions (id, round_id, order_id, courier_id, kind, reason, cost_delta)
                 values (gen_random_uuid(), $1, $2, $3, 'offered', $4, $5)",
                round_id,
                o.id,
                courier.id,
                reason,
                route.cost(p)
            )
            .execute(&mut *tx)
            .await?;
        }
        outcome.offers += 1;
    }
    tx.commit().await?;
    outcome.round_id = Some(round_id);
    Ok(())
}

/// Starts a shift: online at this position until `shift_hours` from now.
pub async fn go_online(
    pool: &PgPool,
    courier_id: Uuid,
    lat: f64,
    lng: f64,
    shift_hours: u32,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "update couriers set status = case when status = 'busy' then 'busy' else 'online' end,
                lat = $2, lng = $3, position_at = now(),
                shift_end = now() + make_interval(hours => $4), online_since = coalesce(online_since, now())
         where user_id = $1",
        courier_id,
        lat,
        lng,
        shift_hours as i32
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    append_position(&mut tx, courier_id, lat, lng).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends a shift. Goods on board must be delivered first; pending offers are withdrawn and
/// orders promised but not yet picked up go back to the pool.
pub async fn go_offline(pool: &PgPool, courier_id: Uuid) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "select user_id from couriers where user_id = $1 for update",
        courier_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let carrying = sqlx::query_scalar!(
        r#"select count(*) as "n!" from orders where courier_id = $1
           and (status in ('picked_up', 'delivering') or (status = 'delivery_failed' and returned_at is null))"#,
        courier_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if carrying > 0 {
        return Err(AppError::conflict(format!(
            "You still carry {carrying} order(s): deliver them (or bring them back to the store) before going offline."
        )));
    }
    let pending = sqlx::query_scalar!(
        "update offers set status = 'withdrawn', answered_at = now()
         where courier_id = $1 and status = 'pending' returning id",
        courier_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let cfg = DispatchConfig {
        refusal_cooldown: Duration::ZERO,
        ..DispatchConfig::default()
    };
    for offer in pending {
        release_offer(
            &mut tx,
            offer,
            courier_id,
            "withdrawn",
            "Courier went offline",
            &cfg,
        )
        .await?;
    }
    sqlx::query!(
        "update couriers set status = 'offline', online_since = null, shift_end = null where user_id = $1",
        courier_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // Orders held but not picked up are released by the next round (with the decision).
    release_from_absent(pool, &DispatchConfig::default()).await?;
    Ok(())
}

/// A new position: the courier's live state and the (retention-limited) history.
pub async fn record_position(
    pool: &PgPool,
    courier_id: Uuid,
    lat: f64,
    lng: f64,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let now = sqlx::query_scalar!(r#"select now() as "now!""#)
        .fetch_one(&mut *tx)
        .await?;
    record_position_in(&mut tx, courier_id, lat, lng, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A position taken at `at` (a queued one arrives late): kept in the history, and the
/// courier's current position moves only if it is newer than the last one.
pub async fn record_position_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    courier_id: Uuid,
    lat: f64,
    lng: f64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let online = sqlx::query_scalar!(
        "select status from couriers where user_id = $1 for update",
        courier_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    if online.is_none_or(|s| s == "offline") {
        return Err(AppError::conflict(
            "Go online first: positions are only kept during a shift.",
        ));
    }
    sqlx::query!(
        "update couriers set lat = $2, lng = $3, position_at = $4
         where user_id = $1 and (position_at is null or position_at < $4)",
        courier_id,
        lat,
        lng,
        at
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into courier_positions (courier_id, at, lat, lng) values ($1, $2, $3, $4)",
        courier_id,
        at,
        lat,
        lng
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Pending offers of one courier, newest first, with their orders in stop order.
pub async fn offers_for(
    pool: &PgPool,
    courier_id: Uuid,
) -> Result<Vec<super::model::OfferView>, AppError> {
    let rows = sqlx::query!(
        r#"select f.id, extract(epoch from f.expires_at - now())::bigint as "expires_in!",
                  f.earnings_fen, f.distance_m, o.id as order_id, o.number, s.name as store_name,
                  s.address as store_address, oo.pickup_seq, oo.dropoff_seq,
                  s.lat as store_lat, s.lng as store_lng, o.dest_lat as "dest_lat!", o.dest_lng as "dest_lng!"
           from offers f
           join offer_orders oo on oo.offer_id = f.id
           join orders o on o.id = oo.order_id
           join stores s on s.id = o.store_id
           where f.courier_id = $1 and f.status = 'pending' and f.expires_at > now()
           order by f.created_at desc, f.id, oo.pickup_seq"#,
        courier_id
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<super::model::OfferView> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|o| o.id != r.id) {
            out.push(super::model::OfferView {
                id: r.id,
                expires_in_s: r.expires_in.max(0),
                earnings_fen: r.earnings_fen,
                distance_m: r.distance_m,
                orders: Vec::new(),
            });
        }
        if let Some(offer) = out.last_mut() {
            offer.orders.push(super::model::OfferOrder {
                order_id: r.order_id,
                number: r.number,
                store_name: r.store_name,
                store_address: r.store_address,
                pickup_seq: r.pickup_seq,
                dropoff_seq: r.dropoff_seq,
                dropoff_distance_m: routing::haversine_m(
                    r.store_lat,
                    r.store_lng,
                    r.dest_lat,
                    r.dest_lng,
                )
                .round() as i32,
            });
        }
    }
    Ok(out)
}

/// A manual reassignment by operations: the order goes to `courier_id` and is pinned there.
/// A pending offer that contains it is withdrawn (its other orders go back to the pool).
pub async fn reassign(
    pool: &PgPool,
    ops_id: Uuid,
    order_id: Uuid,
    courier_id: Uuid,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    // Offers before the order, the order `answer_offer` locks them in: a courier answering
    // at the same moment waits instead of deadlocking.
    sqlx::query!(
        "select f.id from offers f join offer_orders oo on oo.offer_id = f.id
         where oo.order_id = $1 and f.status = 'pending' for update of f",
        order_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let order = sqlx::query!(
        "select status, fulfilment, courier_id from orders where id = $1 for update",
        order_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if order.fulfilment != "delivery"
        || !["placed", "accepted", "picking", "ready"].contains(&order.status.as_str())
    {
        return Err(AppError::conflict(
            "Only delivery orders not yet picked up can be reassigned.",
        ));
    }
    let courier = sqlx::query!(
        "select status from couriers where user_id = $1 for update",
        courier_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::validation("courier_id", "No such courier."))?;
    if courier.status == "offline" {
        return Err(AppError::validation(
            "courier_id",
            "That courier is offline: pick one on shift.",
        ));
    }
    let offers = sqlx::query!(
        "select f.id, f.courier_id from offers f join offer_orders oo on oo.offer_id = f.id
         where oo.order_id = $1 and f.status = 'pending' for update of f",
        order_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let cfg = DispatchConfig {
        refusal_cooldown: Duration::ZERO,
        ..DispatchConfig::default()
    };
    for f in offers {
        sqlx::query!(
            "update offers set status = 'withdrawn', answered_at = now() where id = $1",
            f.id
        )
        .execute(&mut *tx)
        .await?;
        release_offer(
            &mut tx,
            f.id,
            f.courier_id,
            "withdrawn",
            "Operations reassigned an order of this offer",
            &cfg,
        )
        .await?;
    }
    sqlx::query!(
        "update orders set courier_id = $2, offered_to = null, dispatch_pinned = true where id = $1",
        order_id,
        courier_id
    )
    .execute(&mut *tx)
    .await?;
    let reason = match order.courier_id {
        Some(previous) if previous != courier_id => {
            format!("Reassigned by operations from courier {previous}")
        }
        _ => "Assigned by operations".to_string(),
    };
    sqlx::query!(
        "insert into dispatch_decisions (id, order_id, courier_id, kind, reason, actor_id)
         values (gen_random_uuid(), $1, $2, 'reassigned', $3, $4)",
        order_id,
        courier_id,
        reason,
        ops_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Zones with their active condition.
pub async fn zones(pool: &PgPool) -> Result<Vec<crate::ops::model::ZoneView>, AppError> {
    let rows = sqlx::query!(
        r#"select z.id, z.name, z.polygon as "polygon: Json<Vec<[f64; 2]>>",
                  c.id as "condition_id?", c.kind as "kind?", c.travel_multiplier as "travel_multiplier?",
                  c.surcharge_fen as "surcharge_fen?", c.ends_at
           from zones z
           left join lateral (
               select * from zone_conditions c
               where c.zone_id = z.id and c.starts_at <= now() and (c.ends_at is null or c.ends_at > now())
               order by c.starts_at desc limit 1
           ) c on true
           order by z.name
           limit 200"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::ops::model::ZoneView {
            id: r.id,
            name: r.name,
            polygon: r.polygon.0,
            condition: match (r.condition_id, r.kind, r.travel_multiplier, r.surcharge_fen) {
                (Some(id), Some(kind), Some(travel_multiplier), Some(surcharge_fen)) => {
                    Some(crate::ops::model::ZoneConditionView {
                        id,
                        kind,
                        travel_multiplier,
                        surcharge_fen,
                        ends_at: r.ends_at,
                    })
                }
                _ => None,
            },
        })
        .collect())
}

pub async fn create_zone(
    pool: &PgPool,
    ops_id: Uuid,
    name: &str,
    polygon: &[[f64; 2]],
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    let taken = sqlx::query_scalar!(
        "insert into zones (id, name, polygon) values ($1, $2, $3)
         on conflict (name) do nothing returning id",
        id,
        name,
        Json(polygon) as _
    )
    .fetch_optional(pool)
    .await?;
    if taken.is_none() {
        return Err(AppError::validation(
            "name",
            "A zone with that name exists: pick another.",
        ));
    }
    tracing::info!(%ops_id, zone = %id, "zone created");
    Ok(id)
}

pub async fn set_zone_condition(
    pool: &PgPool,
    ops_id: Uuid,
    zone_id: Uuid,
    kind: &str,
    travel_multiplier: f64,
    surcharge_fen: i64,
    hours: u32,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("select id from zones where id = $1 for update", zone_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    // One condition per zone at a time: the new one replaces what is active.
    sqlx::query!(
        "update zone_conditions set ends_at = now()
         where zone_id = $1 and starts_at <= now() and (ends_at is null or ends_at > now())",
        zone_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into zone_conditions (id, zone_id, kind, travel_multiplier, surcharge_fen, starts_at, ends_at, created_by)
         values ($1, $2, $3, $4, $5, now(), now() + make_interval(hours => $6), $7)",
        Uuid::now_v7(),
        zone_id,
        kind,
        travel_multiplier,
        surcharge_fen,
        hours as i32,
        ops_id
    )
    .execute(&mut *tx)
    .await?;
    // Dispatch re-plans with the new travel times now, not at its next tick.
    sqlx::query!("select pg_notify('songda_dispatch', 'zone_conditions')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn end_zone_condition(pool: &PgPool, condition_id: Uuid) -> Result<(), AppError> {
    let ended = sqlx::query!(
        "update zone_conditions set ends_at = now()
         where id = $1 and (ends_at is null or ends_at > now()) returning id",
        condition_id
    )
    .fetch_optional(pool)
    .await?;
    if ended.is_none() {
        return Err(AppError::NotFound);
    }
    sqlx::query!("select pg_notify('songda_dispatch', 'zone_conditions')")
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn decisions(
    pool: &PgPool,
    order_id: Uuid,
) -> Result<Vec<crate::ops::model::DecisionView>, AppError> {
    let rows = sqlx::query!(
        "select d.at, d.kind, u.display_name as \"courier?\", d.reason, d.cost_delta
         from dispatch_decisions d left join users u on u.id = d.courier_id
         where d.order_id = $1 order by d.at, d.id limit 500",
        order_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::ops::model::DecisionView {
            at: r.at,
            kind: r.kind,
            courier: r.courier,
            reason: r.reason,
            cost_delta: r.cost_delta,
        })
        .collect())
}

/// One point of a courier's position history.
async fn append_position(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    courier_id: Uuid,
    lat: f64,
    lng: f64,
) -> Result<(), AppError> {
    sqlx::query!(
        "insert into courier_positions (courier_id, lat, lng) values ($1, $2, $3)",
        courier_id,
        lat,
        lng
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes planning rounds (with their snapshots) older than `rounds_keep` and courier
/// positions older than `positions_keep`, a few thousand rows per statement so no lock is
/// held for long. Decisions stay: they are the audit trail. Returns (rounds, positions).
pub async fn purge_history(
    pool: &PgPool,
    rounds_keep: Duration,
    positions_keep: Duration,
) -> Result<(u64, u64), AppError> {
    const BATCH: i64 = 5000;
    let mut rounds = 0;
    loop {
        let n = sqlx::query!(
            "delete from dispatch_rounds where id in (
                 select id from dispatch_rounds where at < now() - make_interval(secs => $1) limit $2)",
            rounds_keep.as_secs_f64(),
            BATCH
        )
        .execute(pool)
        .await?
        .rows_affected();
        rounds += n;
        if n < BATCH as u64 {
            break;
        }
    }
    let mut positions = 0;
    loop {
        let n = sqlx::query!(
            "delete from courier_positions where ctid = any(array(
                 select ctid from courier_positions where at < now() - make_interval(secs => $1) limit $2))",
            positions_keep.as_secs_f64(),
            BATCH
        )
        .execute(pool)
        .await?
        .rows_affected();
        positions += n;
        if n < BATCH as u64 {
            break;
        }
    }
    Ok((rounds, positions))
}
