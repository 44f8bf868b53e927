//! Independent solution checker: recomputes feasibility and cost of a solution from the
//! instance text and the solution text alone.
//!
//! This module owns the *second opinion* on every plan the engine produces. It deliberately
//! shares no code with the rest of the crate (no `problem`, `solution`, `formats`, not even the
//! crate's geometry helpers): it parses both formats itself and replays each route from
//! scratch, so a bug in the solver's parsing, travel-time model or incremental schedule
//! bookkeeping cannot hide behind the same bug here. Only `std` and `serde_json` are used.
//!
//! # Li & Lim PDPTW (`check_lilim`, `check_lilim_routes`)
//! The instance is the benchmark text file: a first line `vehicles capacity speed`, then one
//! line per node `id x y demand ready due service pickup_index delivery_index` (node 0 is the
//! depot, ids must equal their line position, blank lines and `\r` are ignored). Travel time
//! is the unrounded Euclidean distance divided by `speed` (a speed of 0, found in ten of the
//! published files, is read as 1 with a warning). Each non-empty route leaves the
//! depot at time 0; service starts at `max(arrival, ready)` and must start by `due` (plus
//! 1e-6); the route must be back at the depot by the depot's `due`; the running sum of demand
//! stays within `[0, capacity]`; a pickup and its delivery are on one route, pickup first;
//! every customer is visited exactly once. The solution is `{"routes": [[node ids], ...]}`
//! without the depot; empty routes are ignored and not counted as vehicles. Using more routes
//! than the first line's vehicle count is reported as a *warning*, not a violation.
//! Report fields: `vehicles`, `distance` (including depot legs), `served` = pairs whose pickup
//! and delivery both appear, `unserved` = the other pairs, `cost` = `distance`; `travel_s` and
//! `late_s` are 0 (the benchmark has no seconds and no soft windows).
//! `parse_route_list` reads the best-known-solution text format (`Route 1 : 81 78 ...`).
//!
//! # O2O snapshots (`check_o2o`)
//! The instance is `o2o-pdptw/v1` JSON as described in `shared/bench/o2o-format.md`; travel
//! time is `floor(sqrt(dx² + dy²) · detour_factor / speed_mps + 0.5)` whole seconds. Couriers
//! start at their position at `available_from_s` and do not return (open routes). Hard rules:
//! each order at most once, pickup before drop-off on the same courier, on-board size never
//! above capacity, last departure no later than `shift_end_s` (an empty route is always fine),
//! at most one route per courier, only known couriers and orders. Lateness
//! `max(0, drop-off start − deliver_by_s)` and unserved orders are soft and only cost:
//! `travel_s_weight · travel_s + late_s_weight · late_s + unserved_penalty_s · unserved`.
//! Ids may be JSON strings or numbers; they are compared by their JSON text, so `7` and `"7"`
//! name the same courier. `distance` is reported as straight-line metres times the detour
//! factor (the distance the travel model charges for).
//!
//! **Songda extension of `o2o-pdptw/v1`** (live dispatch snapshots): a courier may carry
//! - `"on_board": [order ids]`: orders it has already picked up. Their size is on board from
//!   the start, the solution must not pick them up again (no pickup stop), and it must drop
//!   them off on this courier.
//! - `"committed": [order ids]`: orders promised to this courier whose pickup is still ahead.
//!   The solution must pick them up and drop them off on this courier.
//!
//! An order listed in these fields of two couriers (or twice) makes the instance invalid.
//!
//! Violations are human-readable strings. Routes are named by their 0-based index in the
//! solution's `routes` array (for O2O also by courier id) and positions by their 0-based index
//! within the route. Only malformed input (not JSON, missing fields, inconsistent instance)
//! returns `Err`; anything a solver could get wrong is a violation in the report.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// Slack on time-window checks: Li & Lim times are sums of unrounded square roots, and the
/// best known solutions were computed with other summation orders.
const TIME_EPS: f64 = 1e-6;
/// Slack on load checks; demands are integers, this only absorbs text-to-float noise.
const LOAD_EPS: f64 = 1e-9;
const O2O_SCHEMA: &str = "o2o-pdptw/v1";

/// What the checker found. `feasible()` is true when `violations` is empty; `warnings` never
/// make a solution infeasible.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    /// Non-empty routes.
    pub vehicles: usize,
    /// Li & Lim: total Euclidean length including depot legs. O2O: straight-line metres times
    /// the detour factor.
    pub distance: f64,
    /// Li & Lim: pickup-delivery pairs with both nodes visited. O2O: orders delivered validly.
    pub served: usize,
    /// Li & Lim: pairs not served. O2O: orders not served.
    pub unserved: usize,
    /// O2O: total travel seconds (0 for Li & Lim).
    pub travel_s: i64,
    /// O2O: total lateness seconds (0 for Li & Lim, whose windows are hard).
    pub late_s: i64,
    /// Li & Lim: `distance`. O2O: the objective of the instance.
    pub cost: f64,
    pub violations: Vec<String>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    /// True when no hard rule is broken.
    pub fn feasible(&self) -> bool {
        self.violations.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Li & Lim
// ---------------------------------------------------------------------------------------------

struct LlNode {
    x: f64,
    y: f64,
    demand: f64,
    ready: f64,
    due: f64,
    service: f64,
    /// For a delivery: its pickup node; 0 otherwise.
    pickup: usize,
    /// For a pickup: its delivery node; 0 otherwise.
    delivery: usize,
}

impl LlNode {
    fn kind(&self) -> &'static str {
        if self.delivery > 0 {
            "pickup"
        } else {
            "delivery"
        }
    }
}

struct LlInstance {
    vehicles: usize,
    capacity: f64,
    speed: f64,
    nodes: Vec<LlNode>,
    /// Oddities of the file that the check worked around.
    warnings: Vec<String>,
}

fn parse_field<T: std::str::FromStr>(tok: &str, what: &str, line_no: usize) -> Result<T, String> {
    tok.parse()
        .map_err(|_| format!("instance line {line_no}: `{tok}` is not a valid {what}"))
}

fn parse_lilim(text: &str) -> Result<LlInstance, String> {
    // Line numbers in messages count every line of the file, blank ones included.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let (head_no, head) = lines.next().ok_or("Li & Lim instance is empty")?;
    let head: Vec<&str> = head.split_whitespace().collect();
    if head.len() != 3 {
        return Err(format!(
            "instance line {head_no}: expected `vehicles capacity speed`, got {} fields",
            head.len()
        ));
    }
    let vehicles: usize = parse_field(head[0], "vehicle count", head_no)?;
    let capacity: f64 = parse_field(head[1], "capacity", head_no)?;
    let mut speed: f64 = parse_field(head[2], "speed", head_no)?;
    let mut warnings = Vec::new();
    // Ten of the published files (lc104, lr107, ...) say speed 0; the benchmark and its best
    // known solutions use unit speed throughout, so 0 means "unset", not "cannot move".
    if speed == 0.0 {
        speed = 1.0;
        warnings.push("instance speed is 0; using 1 as the benchmark does".to_string());
    }
    if !(speed.is_finite() && speed > 0.0) {
        return Err(format!(
            "instance line {head_no}: speed must be positive, got {speed}"
        ));
    }
    let mut nodes = Vec::new();
    for (no, line) in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 9 {
            return Err(format!(
                "instance line {no}: expected 9 fields `id x y demand ready due service pickup \
                 delivery`, got {}",
                f.len()
            ));
        }
        let id: usize = parse_field(f[0], "node id", no)?;
        if id != nodes.len() {
            return Err(format!(
                "instance line {no}: node id {id} out of sequence (expected {})",
                nodes.len()
            ));
        }
        nodes.push(LlNode {
            x: parse_field(f[1], "x coordinate", no)?,
            y: parse_field(f[2], "y coordinate", no)?,
            demand: parse_field(f[3], "demand", no)?,
            ready: parse_field(f[4], "ready time", no)?,
            due: parse_field(f[5], "due time", no)?,
            service: parse_field(f[6], "service time", no)?,
            pickup: parse_field(f[7], "pickup index", no)?,
            delivery: parse_field(f[8], "delivery index", no)?,
        });
    }
    if nodes.is_empty() {
        return Err("Li & Lim instance has no depot line".into());
    }
    // The pairing must be mutual, otherwise "pickup first" has no meaning.
    for (i, n) in nodes.iter().enumerate().skip(1) {
        match (n.pickup, n.delivery) {
            (0, 0) => {
                return Err(format!(
                    "instance: node {i} is neither a pickup nor a delivery"
                ));
            }
            (0, d) => {
                if nodes.get(d).is_none_or(|dn| dn.pickup != i) {
                    return Err(format!(
                        "instance: pickup {i} names delivery {d}, which does not name it back"
                    ));
                }
            }
            (p, 0) => {
                if nodes.get(p).is_none_or(|pn| pn.delivery != i) {
                    return Err(format!(
                        "instance: delivery {i} names pickup {p}, which does not name it back"
                    ));
                }
            }
            (p, d) => {
                return Err(format!(
                    "instance: node {i} is both a delivery (of {p}) and a pickup (for {d})"
                ));
            }
        }
    }
    Ok(LlInstance {
        vehicles,
        capacity,
        speed,
        nodes,
        warnings,
    })
}

fn euclid(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (ax - bx, ay - by);
    (dx * dx + dy * dy).sqrt()
}

/// Reads the best-known-solution text format: every line starting with `Route` holds the
/// node ids after its `:`. Other lines (instance name, authors, ...) are skipped, and so are
/// tokens that are not node ids; a node lost that way shows up as "missing" in the check.
pub fn parse_route_list(text: &str) -> Vec<Vec<usize>> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Route"))
        .filter_map(|l| l.split_once(':'))
        .map(|(_, ids)| {
            ids.split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect()
        })
        .collect()
}

/// Checks a Li & Lim solution given as JSON `{"routes": [[node ids without the depot], ...]}`.
pub fn check_lilim(instance_text: &str, solution_json: &str) -> Result<CheckReport, String> {
    let sol: Value = serde_json::from_str(solution_json)
        .map_err(|e| format!("solution is not valid JSON: {e}"))?;
    let routes = sol
        .get("routes")
        .and_then(Value::as_array)
        .ok_or("solution: expected an object with a `routes` array")?;
    let mut parsed = Vec::with_capacity(routes.len());
    for (r, route) in routes.iter().enumerate() {
        let ids = route
            .as_array()
            .ok_or_else(|| format!("solution: route {r} is not an array of node ids"))?;
        let mut out = Vec::with_capacity(ids.len());
        for (pos, id) in ids.iter().enumerate() {
            let v = id
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| {
                    format!("solution: route {r}, position {pos}: `{id}` is not a node id")
                })?;
            out.push(v);
        }
        parsed.push(out);
    }
    check_lilim_routes(instance_text, &parsed)
}

/// Checks a Li & Lim solution given as node-id lists (without the depot).
pub fn check_lilim_routes(
    instance_text: &str,
    routes: &[Vec<usize>],
) -> Result<CheckReport, String> {
    let inst = parse_lilim(instance_text)?;
    let nodes = &inst.nodes;
    let depot = &nodes[0];
    let mut rep = CheckReport {
        warnings: inst.warnings.clone(),
        ..CheckReport::default()
    };
    // Every (route, position) at which a node appears.
    let mut visits: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nodes.len()];

    for (r, route) in routes.iter().enumerate() {
        if route.is_empty() {
            continue;
        }
        rep.vehicles += 1;
        let (mut at, mut t, mut load) = (0usize, 0.0f64, 0.0f64);
        for (pos, &v) in route.iter().enumerate() {
            if v == 0 {
                rep.violations.push(format!(
                    "route {r}, position {pos}: node 0 is the depot; routes list customers only"
                ));
                continue;
            }
            let Some(node) = nodes.get(v) else {
                rep.violations.push(format!(
                    "route {r}, position {pos}: unknown node {v} (instance has nodes 0..{})",
                    nodes.len() - 1
                ));
                continue;
            };
            visits[v].push((r, pos));
            let d = euclid(nodes[at].x, nodes[at].y, node.x, node.y);
            rep.distance += d;
            let start = (t + d / inst.speed).max(node.ready);
            if start > node.due + TIME_EPS {
                rep.violations.push(format!(
                    "route {r}, position {pos}: time window: {} {v} starts service at {start:.4}, \
                     after its due time {}",
                    node.kind(),
                    node.due
                ));
            }
            t = start + node.service;
            let before = load;
            load += node.demand;
            // Report only where the load leaves the bounds, not at every node after it.
            if load > inst.capacity + LOAD_EPS && before <= inst.capacity + LOAD_EPS {
                rep.violations.push(format!(
                    "route {r}, position {pos}: capacity: load {load} exceeds capacity {} after \
                     {} {v}",
                    inst.capacity,
                    node.kind()
                ));
            }
            if load < -LOAD_EPS && before >= -LOAD_EPS {
                rep.violations.push(format!(
                    "route {r}, position {pos}: capacity: load {load} drops below 0 after {} {v}",
                    node.kind()
                ));
            }
            at = v;
        }
        let d = euclid(nodes[at].x, nodes[at].y, depot.x, depot.y);
        rep.distance += d;
        let back = t + d / inst.speed;
        if back > depot.due + TIME_EPS {
            rep.violations.push(format!(
                "route {r}: depot due: returns to the depot at {back:.4}, after its due time {}",
                depot.due
            ));
        }
    }

    let fmt_places = |places: &[(usize, usize)]| {
        places
            .iter()
            .map(|(r, p)| format!("route {r} position {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (v, places) in visits.iter().enumerate().skip(1) {
        let kind = nodes[v].kind();
        match places.len() {
            0 => rep
                .violations
                .push(format!("node missing: {kind} {v} is not visited")),
            1 => {}
            k => rep.violations.push(format!(
                "node visited twice: {kind} {v} is visited {k} times ({})",
                fmt_places(places)
            )),
        }
    }
    let mut pairs = 0;
    for (p, node) in nodes.iter().enumerate().skip(1) {
        if node.delivery == 0 {
            continue;
        }
        pairs += 1;
        let d = node.delivery;
        let (Some(&(rp, pp)), Some(&(rd, pd))) = (visits[p].first(), visits[d].first()) else {
            continue; // already reported as missing
        };
        rep.served += 1;
        if rp != rd {
            rep.violations.push(format!(
                "pair split across routes: pickup {p} is on route {rp}, its delivery {d} on \
                 route {rd}"
            ));
        } else if pd < pp {
            rep.violations.push(format!(
                "route {rp}: precedence: delivery {d} (position {pd}) comes before its pickup \
                 {p} (position {pp})"
            ));
        }
    }
    rep.unserved = pairs - rep.served;
    rep.cost = rep.distance;
    if rep.vehicles > inst.vehicles {
        rep.warnings.push(format!(
            "{} routes used, more than the instance's {} vehicles",
            rep.vehicles, inst.vehicles
        ));
    }
    Ok(rep)
}

// ---------------------------------------------------------------------------------------------
// O2O
// ---------------------------------------------------------------------------------------------

struct O2oCourier {
    id: String,
    x: f64,
    y: f64,
    available: i64,
    shift_end: i64,
    capacity: i64,
}

struct O2oOrder {
    id: String,
    pickup: (f64, f64),
    dropoff: (f64, f64),
    ready: i64,
    deliver_by: i64,
    pickup_service: i64,
    dropoff_service: i64,
    size: i64,
}

/// Which courier already holds an order, per the extension fields.
#[derive(Clone, Copy, PartialEq)]
enum Held {
    Free,
    OnBoard(usize),
    Committed(usize),
}

struct O2oInstance {
    detour: f64,
    speed: f64,
    weights: (f64, f64, f64),
    couriers: Vec<O2oCourier>,
    orders: Vec<O2oOrder>,
    held: Vec<Held>,
    courier_ix: HashMap<String, usize>,
    order_ix: HashMap<String, usize>,
}

impl O2oInstance {
    fn travel_s(&self, a: (f64, f64), b: (f64, f64)) -> i64 {
        let d = euclid(a.0, a.1, b.0, b.1);
        // The format's rounding, computed in f64 exactly as written in the spec.
        (d * self.detour / self.speed + 0.5).floor() as i64
    }
}

/// An id as its JSON text: a string as itself, a number as its decimal text.
fn id_text(v: &Value, ctx: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "{ctx}: id must be a string or a number, got `{other}`"
        )),
    }
}

fn field<'a>(obj: &'a Value, key: &str, ctx: &str) -> Result<&'a Value, String> {
    obj.get(key)
        .ok_or_else(|| format!("{ctx}: missing field `{key}`"))
}

fn f64_field(obj: &Value, key: &str, ctx: &str) -> Result<f64, String> {
    field(obj, key, ctx)?
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{ctx}: `{key}` must be a number"))
}

/// Integer seconds or sizes; `12.0` is accepted as 12 since some writers emit floats.
fn i64_field(obj: &Value, key: &str, ctx: &str) -> Result<i64, String> {
    let v = field(obj, key, ctx)?;
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(format!("{ctx}: `{key}` must be an integer, got `{v}`")),
    }
}

fn array_field<'a>(obj: &'a Value, key: &str, ctx: &str) -> Result<&'a Vec<Value>, String> {
    field(obj, key, ctx)?
        .as_array()
        .ok_or_else(|| format!("{ctx}: `{key}` must be an array"))
}

fn parse_o2o(text: &str) -> Result<O2oInstance, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("instance is not valid JSON: {e}"))?;
    let schema = v.get("schema").and_then(Value::as_str);
    if schema != Some(O2O_SCHEMA) {
        return Err(format!(
            "instance: `schema` must be \"{O2O_SCHEMA}\", got {schema:?}"
        ));
    }
    let travel = field(&v, "travel", "instance")?;
    let detour = f64_field(travel, "detour_factor", "instance travel")?;
    let speed = f64_field(travel, "speed_mps", "instance travel")?;
    if detour <= 0.0 || speed <= 0.0 {
        return Err("instance travel: detour_factor and speed_mps must be positive".into());
    }
    let obj = field(&v, "objective", "instance")?;
    let weights = (
        f64_field(obj, "travel_s_weight", "instance objective")?,
        f64_field(obj, "late_s_weight", "instance objective")?,
        f64_field(obj, "unserved_penalty_s", "instance objective")?,
    );

    let mut stores = HashMap::new();
    for (i, s) in array_field(&v, "stores", "instance")?.iter().enumerate() {
        let ctx = format!("instance store {i}");
        let id = id_text(field(s, "id", &ctx)?, &ctx)?;
        let at = (f64_field(s, "x", &ctx)?, f64_field(s, "y", &ctx)?);
        if stores.insert(id.clone(), at).is_some() {
            return Err(format!("instance: store id {id} appears twice"));
        }
    }

    let mut orders = Vec::new();
    let mut order_ix = HashMap::new();
    for (i, o) in array_field(&v, "orders", "instance")?.iter().enumerate() {
        let ctx = format!("instance order {i}");
        let id = id_text(field(o, "id", &ctx)?, &ctx)?;
        let store = id_text(field(o, "store", &ctx)?, &ctx)?;
        let pickup = *stores
            .get(&store)
            .ok_or_else(|| format!("{ctx} (id {id}): unknown store {store}"))?;
        let drop = field(o, "dropoff", &ctx)?;
        let dctx = format!("{ctx} dropoff");
        if order_ix.insert(id.clone(), orders.len()).is_some() {
            return Err(format!("instance: order id {id} appears twice"));
        }
        orders.push(O2oOrder {
            pickup,
            dropoff: (f64_field(drop, "x", &dctx)?, f64_field(drop, "y", &dctx)?),
            ready: i64_field(o, "ready_at_s", &ctx)?,
            deliver_by: i64_field(o, "deliver_by_s", &ctx)?,
            pickup_service: i64_field(o, "pickup_service_s", &ctx)?,
            dropoff_service: i64_field(o, "dropoff_service_s", &ctx)?,
            size: i64_field(o, "size", &ctx)?,
            id,
        });
    }

    let mut couriers = Vec::new();
    let mut courier_ix = HashMap::new();
    let mut held = vec![Held::Free; orders.len()];
    for (i, c) in array_field(&v, "couriers", "instance")?.iter().enumerate() {
        let ctx = format!("instance courier {i}");
        let id = id_text(field(c, "id", &ctx)?, &ctx)?;
        if courier_ix.insert(id.clone(), i).is_some() {
            return Err(format!("instance: courier id {id} appears twice"));
        }
        for (key, on_board) in [("on_board", true), ("committed", false)] {
            let Some(list) = c.get(key) else { continue };
            let list = list
                .as_array()
                .ok_or_else(|| format!("{ctx}: `{key}` must be an array"))?;
            for oid in list {
                let oid = id_text(oid, &ctx)?;
                let &o = order_ix
                    .get(&oid)
                    .ok_or_else(|| format!("{ctx} (id {id}): `{key}` names unknown order {oid}"))?;
                if held[o] != Held::Free {
                    return Err(format!(
                        "instance: order {oid} is listed in on_board/committed more than once"
                    ));
                }
                held[o] = if on_board {
                    Held::OnBoard(i)
                } else {
                    Held::Committed(i)
                };
            }
        }
        couriers.push(O2oCourier {
            x: f64_field(c, "x", &ctx)?,
            y: f64_field(c, "y", &ctx)?,
            available: i64_field(c, "available_from_s", &ctx)?,
            shift_end: i64_field(c, "shift_end_s", &ctx)?,
            capacity: i64_field(c, "capacity", &ctx)?,
            id,
        });
    }
    Ok(O2oInstance {
        detour,
        speed,
        weights,
        couriers,
        orders,
        held,
        courier_ix,
        order_ix,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum StopKind {
    Pickup,
    Dropoff,
}

/// Where a stop of an order appears: courier, route index, position in the route.
#[derive(Clone, Copy)]
struct Seen {
    courier: usize,
    route: usize,
    pos: usize,
}

/// Checks an `o2o-pdptw/v1` solution (with the Songda extension, see the module doc).
pub fn check_o2o(instance_json: &str, solution_json: &str) -> Result<CheckReport, String> {
    let inst = parse_o2o(instance_json)?;
    let sol: Value = serde_json::from_str(solution_json)
        .map_err(|e| format!("solution is not valid JSON: {e}"))?;
    let routes = array_field(&sol, "routes", "solution")?;

    // Parse the whole solution first so malformed input is an error, not half a report.
    let mut parsed: Vec<(String, Vec<(String, StopKind)>)> = Vec::with_capacity(routes.len());
    for (r, route) in routes.iter().enumerate() {
        let ctx = format!("solution route {r}");
        let courier = id_text(field(route, "courier", &ctx)?, &ctx)?;
        let mut stops = Vec::new();
        for (k, stop) in array_field(route, "stops", &ctx)?.iter().enumerate() {
            let sctx = format!("{ctx} stop {k}");
            let order = id_text(field(stop, "order", &sctx)?, &sctx)?;
            let kind = match field(stop, "type", &sctx)?.as_str() {
                Some("pickup") => StopKind::Pickup,
                Some("dropoff") => StopKind::Dropoff,
                _ => return Err(format!("{sctx}: `type` must be \"pickup\" or \"dropoff\"")),
            };
            stops.push((order, kind));
        }
        parsed.push((courier, stops));
    }

    let mut rep = CheckReport::default();
    let n = inst.orders.len();
    let mut pickups: Vec<Vec<Seen>> = vec![Vec::new(); n];
    let mut dropoffs: Vec<Vec<Seen>> = vec![Vec::new(); n];
    let mut route_of: Vec<Option<usize>> = vec![None; inst.couriers.len()];

    // Orders already on board at time 0, per courier.
    let mut initial: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); inst.couriers.len()];
    for (o, h) in inst.held.iter().enumerate() {
        if let Held::OnBoard(c) = *h {
            initial[c].insert(o);
        }
    }
    let load_of = |set: &BTreeSet<usize>| set.iter().map(|&o| inst.orders[o].size).sum::<i64>();
    for (c, courier) in inst.couriers.iter().enumerate() {
        let load = load_of(&initial[c]);
        if load > courier.capacity {
            rep.violations.push(format!(
                "courier {}: capacity: starts with on-board size {load} above capacity {}",
                courier.id, courier.capacity
            ));
        }
    }

    for (r, (cid, stops)) in parsed.iter().enumerate() {
        let Some(&c) = inst.courier_ix.get(cid) else {
            rep.violations
                .push(format!("route {r}: unknown courier {cid}"));
            continue;
        };
        if let Some(first) = route_of[c] {
            // A second route cannot be replayed meaningfully; its orders count as unserved.
            rep.violations.push(format!(
                "route {r}: courier {cid} already has route {first}; at most one route per courier"
            ));
            continue;
        }
        route_of[c] = Some(r);
        if stops.is_empty() {
            continue;
        }
        rep.vehicles += 1;
        let courier = &inst.couriers[c];
        let mut at = (courier.x, courier.y);
        let mut t = courier.available;
        // The on-board set rather than a running sum: a drop-off without a pickup must not
        // lower the load and hide an overload elsewhere.
        let mut on_board = initial[c].clone();
        let mut over = load_of(&on_board) > courier.capacity;
        let mut replayed = false;
        for (pos, (oid, kind)) in stops.iter().enumerate() {
            let Some(&o) = inst.order_ix.get(oid) else {
                rep.violations.push(format!(
                    "route {r} (courier {cid}), position {pos}: unknown order {oid}"
                ));
                continue;
            };
            replayed = true;
            let order = &inst.orders[o];
            let seen = Seen {
                courier: c,
                route: r,
                pos,
            };
            let target = if *kind == StopKind::Pickup {
                order.pickup
            } else {
                order.dropoff
            };
            let leg = inst.travel_s(at, target);
            rep.travel_s += leg;
            rep.distance += euclid(at.0, at.1, target.0, target.1) * inst.detour;
            let arrival = t + leg;
            at = target;
            match kind {
                StopKind::Pickup => {
                    pickups[o].push(seen);
                    let start = arrival.max(order.ready);
                    t = start + order.pickup_service;
                    on_board.insert(o);
                    let load = load_of(&on_board);
                    if load > courier.capacity && !over {
                        rep.violations.push(format!(
                            "route {r} (courier {cid}), position {pos}: capacity: on-board size \
                             {load} exceeds capacity {} after picking up order {oid}",
                            courier.capacity
                        ));
                    }
                    over = load > courier.capacity;
                }
                StopKind::Dropoff => {
                    dropoffs[o].push(seen);
                    rep.late_s += (arrival - order.deliver_by).max(0);
                    t = arrival + order.dropoff_service;
                    on_board.remove(&o);
                    over = load_of(&on_board) > courier.capacity;
                }
            }
        }
        if replayed && t > courier.shift_end {
            rep.violations.push(format!(
                "route {r} (courier {cid}): shift end: last departure at {t} s is after \
                 shift_end_s {}",
                courier.shift_end
            ));
        }
    }

    // Order-level rules, once per order so that one mistake gives one message.
    let courier_id = |c: usize| &inst.couriers[c].id;
    for (o, order) in inst.orders.iter().enumerate() {
        let oid = &order.id;
        let (ps, ds) = (&pickups[o], &dropoffs[o]);
        if ps.len() > 1 {
            rep.violations.push(format!(
                "order {oid} picked up {} times (routes {}); each order at most once",
                ps.len(),
                ps.iter()
                    .map(|s| s.route.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if ds.len() > 1 {
            rep.violations.push(format!(
                "order {oid} dropped off {} times (routes {}); each order at most once",
                ds.len(),
                ds.iter()
                    .map(|s| s.route.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let served = match inst.held[o] {
            Held::OnBoard(c0) => {
                if let Some(p) = ps.first() {
                    rep.violations.push(format!(
                        "order {oid} is already on board courier {} but route {} (courier {}) \
                         picks it up again",
                        courier_id(c0),
                        p.route,
                        courier_id(p.courier)
                    ));
                }
                match ds.first() {
                    None => {
                        rep.violations.push(format!(
                            "order {oid} is on board courier {} but is never dropped off",
                            courier_id(c0)
                        ));
                        false
                    }
                    Some(d) if d.courier != c0 => {
                        rep.violations.push(format!(
                            "order {oid} is on board courier {} but is dropped off by courier {}",
                            courier_id(c0),
                            courier_id(d.courier)
                        ));
                        false
                    }
                    Some(_) => ps.is_empty() && ds.len() == 1,
                }
            }
            held => {
                let ok = match (ps.first(), ds.first()) {
                    (None, None) => false,
                    (None, Some(d)) => {
                        rep.violations.push(format!(
                            "order {oid} is dropped off on route {} (courier {}) without a pickup",
                            d.route,
                            courier_id(d.courier)
                        ));
                        false
                    }
                    (Some(p), None) => {
                        rep.violations.push(format!(
                            "order {oid} is picked up on route {} (courier {}) but never dropped \
                             off",
                            p.route,
                            courier_id(p.courier)
                        ));
                        false
                    }
                    (Some(p), Some(d)) if p.courier != d.courier => {
                        rep.violations.push(format!(
                            "order {oid} is picked up by courier {} but dropped off by courier {}",
                            courier_id(p.courier),
                            courier_id(d.courier)
                        ));
                        false
                    }
                    (Some(p), Some(d)) if d.pos < p.pos => {
                        rep.violations.push(format!(
                            "route {} (courier {}): order {oid} is dropped off (position {}) \
                             before it is picked up (position {})",
                            p.route,
                            courier_id(p.courier),
                            d.pos,
                            p.pos
                        ));
                        false
                    }
                    (Some(_), Some(_)) => true,
                };
                if let Held::Committed(c0) = held {
                    let by = ps.first().or(ds.first()).map(|s| s.courier);
                    match by {
                        None => rep.violations.push(format!(
                            "order {oid} is committed to courier {} but is not served",
                            courier_id(c0)
                        )),
                        Some(c) if c != c0 => rep.violations.push(format!(
                            "order {oid} is committed to courier {} but is served by courier {}",
                            courier_id(c0),
                            courier_id(c)
                        )),
                        Some(_) => {}
                    }
                }
                ok && ps.len() == 1 && ds.len() == 1
            }
        };
        if served {
            rep.served += 1;
        }
    }
    rep.unserved = n - rep.served;
    let (a, b, c) = inst.weights;
    rep.cost = a * rep.travel_s as f64 + b * rep.late_s as f64 + c * rep.unserved as f64;
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::{Path, PathBuf};

    // ---- Li & Lim ---------------------------------------------------------------------------

    fn lilim_dir() -> PathBuf {
        // A copy of the 100 set (instances, bks.csv, best known solutions) is committed
        // with the tests, so they never depend on a checkout beside the project.
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lilim100"));
        assert!(
            dir.join("bks.csv").is_file(),
            "Li & Lim 100 set not found at {}",
            dir.display()
        );
        dir
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    struct BksRow {
        name: String,
        set: String,
        vehicles: usize,
        distance: f64,
        file: String,
    }

    fn bks_rows(dir: &Path) -> Vec<BksRow> {
        let text = read(&dir.join("bks.csv"));
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("bks.csv is empty").split(',').collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .unwrap_or_else(|| panic!("bks.csv has no `{name}` column"))
        };
        let (ci, cs, cv, cd, cf) = (
            col("instance"),
            col("set"),
            col("bks_vehicles"),
            col("bks_distance"),
            col("solution_file"),
        );
        lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(',').map(str::trim).collect();
                BksRow {
                    name: f[ci].to_string(),
                    set: f[cs].to_string(),
                    vehicles: f[cv].parse().expect("bks_vehicles"),
                    distance: f[cd].parse().expect("bks_distance"),
                    file: f[cf].to_string(),
                }
            })
            .collect()
    }

    fn lc101() -> (String, Vec<Vec<usize>>) {
        let dir = lilim_dir();
        let inst = read(&dir.join("lc101.txt"));
        let sol = read(&dir.join("bks_solutions/lc101.10_828.9369.txt"));
        (inst, parse_route_list(&sol))
    }

    #[test]
    fn lc101_best_known_solution_is_feasible_with_10_vehicles_and_828_9369() {
        let (inst, routes) = lc101();
        assert_eq!(routes.len(), 10);
        let rep = check_lilim_routes(&inst, &routes).unwrap();
        assert!(rep.feasible(), "{:?}", rep.violations);
        assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
        assert_eq!(rep.vehicles, 10);
        assert!(
            (rep.distance - 828.9369).abs() < 0.001,
            "distance {}",
            rep.distance
        );
        assert_eq!((rep.served, rep.unserved), (53, 0));
        assert_eq!(rep.cost, rep.distance);
    }

    #[test]
    fn every_best_known_solution_of_the_100_set_checks_out() {
        let dir = lilim_dir();
        let rows: Vec<BksRow> = bks_rows(&dir)
            .into_iter()
            .filter(|r| r.set == "100")
            .collect();
        assert_eq!(
            rows.len(),
            56,
            "bks.csv should list 56 instances of the 100 set"
        );
        let (mut failures, mut feasible, mut worst) = (Vec::new(), 0, 0.0f64);
        for row in &rows {
            let inst = read(&dir.join(format!("{}.txt", row.name)));
            let routes = parse_route_list(&read(&dir.join(&row.file)));
            let rep =
                check_lilim_routes(&inst, &routes).unwrap_or_else(|e| panic!("{}: {e}", row.name));
            feasible += usize::from(rep.feasible());
            worst = worst.max((rep.distance - row.distance).abs());
            if !rep.feasible()
                || rep.unserved != 0
                || rep.vehicles != row.vehicles
                || (rep.distance - row.distance).abs() > 0.01
            {
                failures.push(format!(
                    "{}: vehicles {} (bks {}), distance {:.4} (bks {:.4}), unserved {}, {:?}",
                    row.name,
                    rep.vehicles,
                    row.vehicles,
                    rep.distance,
                    row.distance,
                    rep.unserved,
                    rep.violations
                ));
            }
        }
        eprintln!(
            "Li & Lim 100 BKS: {feasible} of {} feasible, largest distance deviation {worst:.2e}",
            rows.len()
        );
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    fn has(rep: &CheckReport, needles: &[&str]) -> bool {
        rep.violations
            .iter()
            .any(|v| needles.iter().all(|n| v.contains(n)))
    }

    #[test]
    fn lc101_with_a_delivery_moved_before_its_pickup_breaks_precedence() {
        let (inst, mut routes) = lc101();
        // Route 8 (0-based index 8) of the BKS is `5 3 7 ... 75`; 3 is the pickup of 75.
        let i3 = routes[8].iter().position(|&v| v == 3).unwrap();
        let i75 = routes[8].iter().position(|&v| v == 75).unwrap();
        routes[8].swap(i3, i75);
        let rep = check_lilim_routes(&inst, &routes).unwrap();
        assert!(!rep.feasible());
        assert!(
            has(&rep, &["route 8", "precedence", "delivery 75", "pickup 3"]),
            "{:?}",
            rep.violations
        );
    }

    #[test]
    fn lc101_with_a_node_dropped_reports_it_missing() {
        let (inst, mut routes) = lc101();
        routes[0].retain(|&v| v != 104);
        let rep = check_lilim_routes(&inst, &routes).unwrap();
        assert!(has(&rep, &["node missing", "104"]), "{:?}", rep.violations);
        assert_eq!(rep.unserved, 1);
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
    }

    #[test]
    fn lc101_with_a_node_duplicated_reports_it_twice() {
        let (inst, mut routes) = lc101();
        routes[1].push(57);
        let rep = check_lilim_routes(&inst, &routes).unwrap();
        assert!(
            has(&rep, &["visited twice", " 57 ", "route 1 position 0"]),
            "{:?}",
            rep.violations
        );
    }

    #[test]
    fn more_routes_than_vehicles_is_a_warning_not_a_violation() {
        let one_vehicle = "1 10 1\n0 0 0 0 0 1000 0 0 0\n1 1 0 1 0 1000 0 0 2\n\
                           2 2 0 -1 0 1000 0 1 0\n3 0 1 1 0 1000 0 0 4\n4 0 2 -1 0 1000 0 3 0\n";
        let rep = check_lilim_routes(one_vehicle, &[vec![1, 2], vec![3, 4]]).unwrap();
        assert!(rep.feasible(), "{:?}", rep.violations);
        assert_eq!(rep.vehicles, 2);
        assert_eq!(rep.warnings.len(), 1, "{:?}", rep.warnings);
        assert!(rep.warnings[0].contains("2 routes"), "{:?}", rep.warnings);
    }

    /// Depot at the origin, pair 1→2 along x, pair 3→4 along y; capacity 10, demand 6 each.
    /// Each pair route is 10 + 10 + 20 = 40 long.
    const TINY: &str = "3\t10\t1\r\n\
        0\t0\t0\t0\t0\t1000\t0\t0\t0\r\n\
        \r\n\
        1\t10\t0\t6\t0\t1000\t5\t0\t2\r\n\
        2\t20\t0\t-6\t0\t1000\t5\t1\t0\r\n\
        3\t0\t10\t6\t0\t1000\t5\t0\t4\r\n\
        4\t0\t20\t-6\t0\t1000\t5\t3\t0\r\n";

    #[test]
    fn tiny_instance_with_crlf_tabs_and_blank_lines_is_feasible() {
        let rep = check_lilim(TINY, r#"{"routes": [[1, 2], [], [3, 4]]}"#).unwrap();
        assert!(rep.feasible(), "{:?}", rep.violations);
        assert_eq!(rep.vehicles, 2, "empty routes are not vehicles");
        assert!((rep.distance - 80.0).abs() < 1e-9);
        assert_eq!(
            (rep.served, rep.unserved, rep.travel_s, rep.late_s),
            (2, 0, 0, 0)
        );
    }

    #[test]
    fn speed_zero_is_read_as_unit_speed_with_a_warning() {
        let rep =
            check_lilim_routes(&TINY.replacen("\t1\r\n", "\t0\r\n", 1), &[vec![1, 2]]).unwrap();
        assert!((rep.distance - 40.0).abs() < 1e-9);
        assert!(
            rep.warnings.iter().any(|w| w.contains("speed is 0")),
            "{:?}",
            rep.warnings
        );
        assert!(has(&rep, &["node missing", "pickup 3"]));
    }

    #[test]
    fn overload_is_reported_once_where_it_happens() {
        let rep = check_lilim_routes(TINY, &[vec![1, 3, 2, 4]]).unwrap();
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(
            &rep,
            &["route 0, position 1", "capacity", "load 12", "pickup 3"]
        ));
    }

    #[test]
    fn late_service_and_late_return_are_reported() {
        // Node 2 due at 20: arrival 10 + 5 service + 10 travel = 25 > 20. Depot due 60: the
        // route 1 2 is back at 10 + 5 + 10 + 5 + 20 = 50, fine; 3 4 after it would not be.
        let depot_60 = TINY.replace("0\t0\t0\t0\t0\t1000", "0\t0\t0\t0\t0\t60");
        let inst = depot_60.replace("2\t20\t0\t-6\t0\t1000", "2\t20\t0\t-6\t0\t20");
        let rep = check_lilim_routes(&inst, &[vec![1, 2], vec![3, 4]]).unwrap();
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(
            &rep,
            &[
                "route 0, position 1",
                "time window",
                "delivery 2",
                "25.0000"
            ]
        ));
        // One route for both pairs: node 4 is left at 72.36, back at the depot at 92.36 > 60.
        let rep = check_lilim_routes(&depot_60, &[vec![1, 2, 3, 4]]).unwrap();
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(
            has(&rep, &["route 0", "depot due", "92.36"]),
            "{:?}",
            rep.violations
        );
    }

    #[test]
    fn split_pair_unknown_node_and_depot_in_route_are_violations() {
        let rep = check_lilim_routes(TINY, &[vec![1, 4], vec![3, 2, 9, 0]]).unwrap();
        assert!(has(
            &rep,
            &[
                "pair split across routes",
                "pickup 1",
                "route 0",
                "delivery 2",
                "route 1"
            ]
        ));
        assert!(has(
            &rep,
            &["pair split across routes", "pickup 3", "route 1"]
        ));
        assert!(has(&rep, &["route 1, position 2", "unknown node 9"]));
        assert!(has(&rep, &["route 1, position 3", "depot"]));
    }

    #[test]
    fn malformed_lilim_input_is_an_error() {
        assert!(check_lilim(TINY, "not json").is_err());
        assert!(check_lilim(TINY, r#"{"routes": [[1, -2]]}"#).is_err());
        assert!(check_lilim(TINY, r#"{"paths": []}"#).is_err());
        assert!(check_lilim_routes("", &[]).is_err());
        assert!(check_lilim_routes("3 10 1\n0 0 0 0 0 10 0 0\n", &[]).is_err());
        assert!(
            check_lilim_routes("3 10 1\n0 0 0 0 0 10 0 0 0\n1 0 0 1 0 9 0 0 2\n", &[]).is_err()
        );
    }

    #[test]
    fn route_list_parser_reads_only_route_lines() {
        let text = "Instance name : x\r\nRoute 1 : 1 2\r\nSolution\r\nRoute 2 :\t3 4 \r\n";
        assert_eq!(parse_route_list(text), vec![vec![1, 2], vec![3, 4]]);
    }

    // ---- O2O --------------------------------------------------------------------------------

    /// Two stores, two couriers (one with a numeric id), three orders (one with a numeric id).
    /// Travel factor 1.2 / 4 = 0.3 s per metre, rounded half up.
    fn o2o_instance() -> Value {
        json!({
            "schema": "o2o-pdptw/v1",
            "name": "tiny",
            "units": {"distance": "m", "time": "s"},
            "travel": {"detour_factor": 1.2, "speed_mps": 4.0},
            "objective": {"travel_s_weight": 1.0, "late_s_weight": 2.0, "unserved_penalty_s": 600.0},
            "stores": [{"id": "s1", "x": 0, "y": 0}, {"id": "s2", "x": 3000, "y": 4000}],
            "couriers": [
                {"id": "c1", "x": 0, "y": 400, "available_from_s": 0, "shift_end_s": 3600,
                 "capacity": 2},
                {"id": 7, "x": 3000, "y": 4300, "available_from_s": 100, "shift_end_s": 3600,
                 "capacity": 1}
            ],
            "orders": [
                {"id": "o1", "store": "s1", "dropoff": {"x": 1200, "y": 1600},
                 "created_at_s": 0, "ready_at_s": 60, "deliver_by_s": 700,
                 "pickup_service_s": 30, "dropoff_service_s": 60, "size": 1},
                {"id": "o2", "store": "s1", "dropoff": {"x": 1200, "y": 2100},
                 "created_at_s": 0, "ready_at_s": 200, "deliver_by_s": 1800,
                 "pickup_service_s": 30, "dropoff_service_s": 60, "size": 1},
                {"id": 3, "store": "s2", "dropoff": {"x": 3100, "y": 4100},
                 "created_at_s": 0, "ready_at_s": 0, "deliver_by_s": 250,
                 "pickup_service_s": 30, "dropoff_service_s": 60, "size": 1, "extra": true}
            ]
        })
    }

    fn stop(order: Value, kind: &str) -> Value {
        json!({"order": order, "type": kind})
    }

    fn o2o_check(inst: &Value, routes: Value) -> CheckReport {
        check_o2o(&inst.to_string(), &json!({ "routes": routes }).to_string()).unwrap()
    }

    fn full_routes() -> Value {
        json!([
            {"courier": "c1", "stops": [stop(json!("o1"), "pickup"), stop(json!("o2"), "pickup"),
                                        stop(json!("o1"), "dropoff"), stop(json!("o2"), "dropoff")]},
            {"courier": "7", "stops": [stop(json!(3), "pickup"), stop(json!("3"), "dropoff")]}
        ])
    }

    #[test]
    fn o2o_hand_computed_cost() {
        // c1 from (0,400), t=0: to s1 400 m → 120 s, arrive 120, o1 ready 60 → start 120,
        //   leave 150; pick o2 at the same store: 0 s, arrive 150, ready 200 → leave 230;
        //   to o1's drop-off (1200,1600) 2000 m → 600 s, arrive 830, due 700 → 130 s late,
        //   leave 890; to (1200,2100) 500 m → 150 s, arrive 1040, due 1800 → on time, leave 1100.
        //   Travel 120 + 0 + 600 + 150 = 870 s.
        // 7 (named "7" in the solution) from (3000,4300), t=100: to s2 300 m → 90 s, arrive
        //   190, leave 220; to (3100,4100) √20000 = 141.42 m → 42.43 → 42 s, arrive 262, due 250
        //   → 12 s late, leave 322. Travel 132 s.
        // Cost = 1·(870 + 132) + 2·(130 + 12) + 600·0 = 1002 + 284 = 1286.
        let rep = o2o_check(&o2o_instance(), full_routes());
        assert!(rep.feasible(), "{:?}", rep.violations);
        assert_eq!((rep.vehicles, rep.served, rep.unserved), (2, 3, 0));
        assert_eq!((rep.travel_s, rep.late_s), (1002, 142));
        assert!((rep.cost - 1286.0).abs() < 1e-9, "cost {}", rep.cost);
        let metres = 400.0 + 2000.0 + 500.0 + 300.0 + 20000f64.sqrt();
        assert!((rep.distance - metres * 1.2).abs() < 1e-6);
    }

    #[test]
    fn o2o_unserved_order_costs_the_penalty_and_empty_routes_are_fine() {
        // c1 serves only o1: 120 s to s1, leave 150, 600 s to the drop-off, arrive 750 → 50 s
        // late. Courier 7 has an empty route. Cost = 720 + 2·50 + 600·2 = 2020.
        let routes = json!([
            {"courier": "c1", "stops": [stop(json!("o1"), "pickup"), stop(json!("o1"), "dropoff")]},
            {"courier": 7, "stops": []}
        ]);
        let rep = o2o_check(&o2o_instance(), routes);
        assert!(rep.feasible(), "{:?}", rep.violations);
        assert_eq!((rep.vehicles, rep.served, rep.unserved), (1, 1, 2));
        assert_eq!((rep.travel_s, rep.late_s), (720, 50));
        assert!((rep.cost - 2020.0).abs() < 1e-9, "cost {}", rep.cost);
    }

    #[test]
    fn o2o_capacity_violation() {
        // Courier 7 has capacity 1 and picks up order 3 and then o1 (last departure 3412 s).
        let routes = json!([{"courier": 7, "stops": [
            stop(json!(3), "pickup"), stop(json!("o1"), "pickup"),
            stop(json!("o1"), "dropoff"), stop(json!(3), "dropoff")]}]);
        let rep = o2o_check(&o2o_instance(), routes);
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(
            &rep,
            &[
                "route 0 (courier 7), position 1",
                "capacity",
                "size 2",
                "o1"
            ]
        ));
    }

    #[test]
    fn o2o_shift_end_violation() {
        let mut inst = o2o_instance();
        inst["couriers"][1]["shift_end_s"] = json!(300); // courier 7 leaves its last stop at 322
        let rep = o2o_check(&inst, full_routes());
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(&rep, &["route 1 (courier 7)", "shift end", "322"]));
        // A courier with nothing to do is never late for its shift end.
        inst["couriers"][1]["shift_end_s"] = json!(50);
        let rep = o2o_check(&inst, json!([{"courier": 7, "stops": []}]));
        assert!(rep.feasible(), "{:?}", rep.violations);
    }

    #[test]
    fn o2o_dropoff_before_pickup_violation() {
        let routes = json!([{"courier": "c1", "stops": [
            stop(json!("o1"), "dropoff"), stop(json!("o1"), "pickup")]}]);
        let rep = o2o_check(&o2o_instance(), routes);
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(
            &rep,
            &[
                "order o1",
                "dropped off (position 0) before it is picked up"
            ]
        ));
        assert_eq!(rep.served, 0);
    }

    #[test]
    fn o2o_order_served_twice_violation() {
        let routes = json!([
            {"courier": "c1", "stops": [stop(json!("o1"), "pickup"), stop(json!("o1"), "dropoff")]},
            {"courier": 7, "stops": [stop(json!("o1"), "pickup"), stop(json!("o1"), "dropoff")]}
        ]);
        let rep = o2o_check(&o2o_instance(), routes);
        assert!(
            has(&rep, &["order o1 picked up 2 times", "routes 0, 1"]),
            "{:?}",
            rep.violations
        );
        assert!(
            has(&rep, &["order o1 dropped off 2 times"]),
            "{:?}",
            rep.violations
        );
    }

    #[test]
    fn o2o_on_board_order_is_dropped_without_pickup_and_counts_against_capacity() {
        let mut inst = o2o_instance();
        inst["couriers"][0]["on_board"] = json!(["o1"]);
        // c1 carries o1 from the start: to o1's drop-off straight away is feasible.
        let routes = json!([{"courier": "c1", "stops": [stop(json!("o1"), "dropoff")]}]);
        let rep = o2o_check(&inst, routes);
        assert!(rep.feasible(), "{:?}", rep.violations);
        assert_eq!(rep.served, 1);
        // Capacity 2 holds o1 (on board) and o2 but not order 3 as well (last departure 3074 s).
        let routes = json!([{"courier": "c1", "stops": [
            stop(json!("o2"), "pickup"), stop(json!(3), "pickup"), stop(json!(3), "dropoff"),
            stop(json!("o1"), "dropoff"), stop(json!("o2"), "dropoff")]}]);
        let rep = o2o_check(&inst, routes);
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(&rep, &["position 1", "capacity", "size 3"]));
    }

    #[test]
    fn o2o_on_board_order_picked_up_again_violation() {
        let mut inst = o2o_instance();
        inst["couriers"][0]["on_board"] = json!(["o1"]);
        let routes = json!([{"courier": "c1", "stops": [
            stop(json!("o1"), "pickup"), stop(json!("o1"), "dropoff")]}]);
        let rep = o2o_check(&inst, routes);
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(
            &rep,
            &[
                "order o1 is already on board courier c1",
                "picks it up again"
            ]
        ));
        assert_eq!(rep.served, 0);
    }

    #[test]
    fn o2o_on_board_order_must_be_dropped_by_its_courier() {
        let mut inst = o2o_instance();
        inst["couriers"][0]["on_board"] = json!(["o1"]);
        let rep = o2o_check(&inst, json!([]));
        assert!(has(
            &rep,
            &["order o1 is on board courier c1 but is never dropped off"]
        ));
        let rep = o2o_check(
            &inst,
            json!([{"courier": 7, "stops": [stop(json!("o1"), "dropoff")]}]),
        );
        assert!(
            has(
                &rep,
                &["on board courier c1 but is dropped off by courier 7"]
            ),
            "{:?}",
            rep.violations
        );
    }

    #[test]
    fn o2o_committed_order_on_the_wrong_courier_violation() {
        let mut inst = o2o_instance();
        inst["couriers"][1]["committed"] = json!(["o1"]);
        let rep = o2o_check(&inst, full_routes());
        assert_eq!(rep.violations.len(), 1, "{:?}", rep.violations);
        assert!(has(
            &rep,
            &["order o1 is committed to courier 7 but is served by courier c1"]
        ));
        // Leaving it unserved is not allowed either.
        let rep = o2o_check(&inst, json!([]));
        assert!(has(
            &rep,
            &["order o1 is committed to courier 7 but is not served"]
        ));
    }

    #[test]
    fn o2o_unknown_ids_split_orders_and_duplicate_couriers_are_violations() {
        let routes = json!([
            {"courier": "c9", "stops": []},
            {"courier": "c1", "stops": [stop(json!("o1"), "pickup"), stop(json!("nope"), "pickup")]},
            {"courier": 7, "stops": [stop(json!("o1"), "dropoff")]},
            {"courier": "7", "stops": []}
        ]);
        let rep = o2o_check(&o2o_instance(), routes);
        assert!(
            has(&rep, &["route 0: unknown courier c9"]),
            "{:?}",
            rep.violations
        );
        assert!(has(
            &rep,
            &["route 1 (courier c1), position 1: unknown order nope"]
        ));
        assert!(has(
            &rep,
            &["order o1 is picked up by courier c1 but dropped off by courier 7"]
        ));
        assert!(has(&rep, &["route 3: courier 7 already has route 2"]));
        assert_eq!(rep.violations.len(), 4, "{:?}", rep.violations);
    }

    #[test]
    fn o2o_picked_up_but_never_dropped_off_violation() {
        let routes = json!([{"courier": "c1", "stops": [stop(json!("o2"), "pickup")]}]);
        let rep = o2o_check(&o2o_instance(), routes);
        assert!(has(
            &rep,
            &["order o2 is picked up on route 0 (courier c1) but never dropped off"]
        ));
        assert_eq!(rep.unserved, 3);
    }

    #[test]
    fn malformed_o2o_input_is_an_error() {
        let inst = o2o_instance();
        let ok = json!({"routes": []}).to_string();
        assert!(check_o2o("{", &ok).is_err());
        let mut wrong = inst.clone();
        wrong["schema"] = json!("o2o-pdptw/v2");
        assert!(
            check_o2o(&wrong.to_string(), &ok)
                .unwrap_err()
                .contains("schema")
        );
        let mut dup = inst.clone();
        dup["couriers"][0]["committed"] = json!(["o1"]);
        dup["couriers"][1]["on_board"] = json!(["o1"]);
        assert!(check_o2o(&dup.to_string(), &ok).is_err());
        let bad_type =
            json!({"routes": [{"courier": "c1", "stops": [{"order": "o1", "type": "x"}]}]});
        assert!(check_o2o(&inst.to_string(), &bad_type.to_string()).is_err());
        let bad_id = json!({"routes": [{"courier": null, "stops": []}]});
        assert!(check_o2o(&inst.to_string(), &bad_id.to_string()).is_err());
        assert!(check_o2o(&inst.to_string(), "[]").is_err());
    }
}
