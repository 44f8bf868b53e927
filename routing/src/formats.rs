//! Reading problems from text and writing solutions as JSON: the Li & Lim benchmark files and
//! `o2o-pdptw/v1` snapshots (see `../shared/bench/o2o-format.md`). Text in, values out: the
//! caller does the file I/O.
//!
//! Our extension of `o2o-pdptw/v1`, ignored by readers that do not know it: a courier may list
//! `"on_board": [order ids]` (picked up: only the drop-off remains, on this courier) and
//! `"committed": [order ids]` (promised to this courier, pickup still ahead). Live dispatch
//! snapshots use both.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::problem::{NO_LIMIT, NodeSpec, Objective, Problem, Request, Vehicle};
use crate::solution::Solution;

/// Which format a text is in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    LiLim,
    O2o,
}

pub fn detect(text: &str) -> Format {
    if text.trim_start().starts_with('{') {
        Format::O2o
    } else {
        Format::LiLim
    }
}

/// A parsed Li & Lim instance: the problem plus its declared fleet size.
pub fn parse_lilim(name: &str, text: &str) -> Result<Problem, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head: Vec<f64> = numbers(lines.next().ok_or("empty instance")?, 1)?;
    if head.len() < 2 {
        return Err("line 1: expected `vehicles capacity speed`".into());
    }
    let (fleet, capacity) = (head[0] as usize, head[1] as i32);
    let speed = head.get(2).copied().filter(|s| *s > 0.0).unwrap_or(1.0);
    struct Row {
        x: f64,
        y: f64,
        demand: f64,
        ready: f64,
        due: f64,
        service: f64,
        pickup: usize,
        delivery: usize,
    }
    let mut rows = Vec::new();
    for (k, line) in lines.enumerate() {
        let v = numbers(line, k + 2)?;
        if v.len() < 9 {
            return Err(format!(
                "line {}: expected 9 fields, found {}",
                k + 2,
                v.len()
            ));
        }
        if v[0] as usize != rows.len() {
            return Err(format!("line {}: node ids must run 0, 1, 2, …", k + 2));
        }
        rows.push(Row {
            x: v[1],
            y: v[2],
            demand: v[3],
            ready: v[4],
            due: v[5],
            service: v[6],
            pickup: v[7] as usize,
            delivery: v[8] as usize,
        });
    }
    if rows.is_empty() {
        return Err("no depot line".into());
    }
    let n = rows.len();
    let nodes: Vec<NodeSpec> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| NodeSpec {
            ready: r.ready,
            due: if i == 0 { NO_LIMIT } else { r.due },
            deadline: NO_LIMIT,
            service: r.service,
        })
        .collect();
    let mut requests = Vec::new();
    for (i, r) in rows.iter().enumerate().skip(1) {
        if r.pickup == 0 && r.delivery > 0 {
            let d = r.delivery;
            if d >= n || rows[d].pickup != i {
                return Err(format!("node {i}: delivery {d} does not point back"));
            }
            if r.demand < 0.0 {
                return Err(format!("node {i}: a pickup with negative demand"));
            }
            requests.push(Request {
                id: i.to_string(),
                pickup: i,
                delivery: d,
                size: r.demand as i32,
                fixed_vehicle: None,
                on_board: false,
                forbidden_vehicles: Vec::new(),
            });
        }
    }
    if requests.len() * 2 != n - 1 {
        return Err("every customer must be a pickup or a delivery of exactly one pair".into());
    }
    let depot_due = rows[0].due;
    let vehicles = (0..fleet.max(1))
        .map(|v| Vehicle {
            id: v.to_string(),
            start_node: 0,
            end_node: 0,
            start_time: 0.0,
            end_due: depot_due,
            capacity,
        })
        .collect();
    let xy: Vec<(f64, f64)> = rows.iter().map(|r| (r.x, r.y)).collect();
    Problem::new(
        name,
        nodes,
        |a, b| (xy[a].0 - xy[b].0).hypot(xy[a].1 - xy[b].1) / speed,
        requests,
        vehicles,
        Objective {
            travel_weight: 1.0,
            late_weight: 0.0,
            unserved_penalty: 1e6,
            minimize_vehicles: true,
        },
    )
}

fn numbers(line: &str, line_no: usize) -> Result<Vec<f64>, String> {
    line.split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| format!("line {line_no}: `{t}` is not a number"))
        })
        .collect()
}

/// `{"routes": [[node ids], ...]}` with the used routes only.
pub fn lilim_solution_json(sol: &Solution) -> String {
    let routes: Vec<&[usize]> = sol
        .routes
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.stops())
        .collect();
    json!({ "routes": routes }).to_string()
}

#[derive(Deserialize)]
struct O2oInstance {
    schema: String,
    #[serde(default)]
    name: String,
    travel: O2oTravel,
    objective: O2oObjective,
    stores: Vec<O2oStore>,
    couriers: Vec<O2oCourier>,
    orders: Vec<O2oOrder>,
}

#[derive(Deserialize)]
struct O2oTravel {
    detour_factor: f64,
    speed_mps: f64,
}

#[derive(Deserialize)]
struct O2oObjective {
    travel_s_weight: f64,
    late_s_weight: f64,
    unserved_penalty_s: f64,
}

#[derive(Deserialize)]
struct O2oStore {
    id: Value,
    x: f64,
    y: f64,
}

#[derive(Deserialize)]
struct O2oCourier {
    id: Value,
    x: f64,
    y: f64,
    available_from_s: f64,
    shift_end_s: f64,
    capacity: i32,
    #[serde(default)]
    on_board: Vec<Value>,
    #[serde(default)]
    committed: Vec<Value>,
}

#[derive(Deserialize)]
struct O2oPoint {
    x: f64,
    y: f64,
}

#[derive(Deserialize)]
struct O2oOrder {
    id: Value,
    store: Value,
    dropoff: O2oPoint,
    ready_at_s: f64,
    deliver_by_s: f64,
    pickup_service_s: f64,
    dropoff_service_s: f64,
    size: i32,
}

/// An id as text, whether the file wrote it as a string or a number.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `o2o-pdptw/v1` travel time: rounded seconds along the detoured straight line.
pub fn o2o_travel_s(dx: f64, dy: f64, detour: f64, speed: f64) -> f64 {
    ((dx * dx + dy * dy).sqrt() * detour / speed + 0.5).floor()
}

/// Parses an `o2o-pdptw/v1` snapshot. Nodes: a pickup and a drop-off per order, a start per
/// courier, and one shared virtual end (open routes: arriving there costs nothing, so its
/// due time bounds the last departure).
pub fn parse_o2o(text: &str) -> Result<Problem, String> {
    let inst: O2oInstance = serde_json::from_str(text).map_err(|e| format!("snapshot: {e}"))?;
    if inst.schema != "o2o-pdptw/v1" {
        return Err(format!(
            "unknown schema `{}` (expected o2o-pdptw/v1)",
            inst.schema
        ));
    }
    if inst.travel.speed_mps <= 0.0 || inst.travel.detour_factor <= 0.0 {
        return Err("travel: speed and detour must be positive".into());
    }
    let stores: std::collections::HashMap<String, (f64, f64)> = inst
        .stores
        .iter()
        .map(|s| (id_text(&s.id), (s.x, s.y)))
        .collect();
    let mut order_index = std::collections::HashMap::new();
    for (i, o) in inst.orders.iter().enumerate() {
        if order_index.insert(id_text(&o.id), i).is_some() {
            return Err(format!("order {} appears twice", id_text(&o.id)));
        }
    }
    let mut xy: Vec<(f64, f64)> = Vec::new();
    let mut nodes = Vec::new();
    let mut requests = Vec::new();
    for o in &inst.orders {
        let store = stores.get(&id_text(&o.store)).ok_or_else(|| {
            format!(
                "order {}: unknown store {}",
                id_text(&o.id),
                id_text(&o.store)
            )
        })?;
        if o.size < 0 {
            return Err(format!("order {}: negative size", id_text(&o.id)));
        }
        let pickup = nodes.len();
        xy.push(*store);
        nodes.push(NodeSpec {
            ready: o.ready_at_s,
            due: NO_LIMIT,
            deadline: NO_LIMIT,
            service: o.pickup_service_s,
        });
        xy.push((o.dropoff.x, o.dropoff.y));
        nodes.push(NodeSpec {
            ready: 0.0,
            due: NO_LIMIT,
            deadline: o.deliver_by_s,
            service: o.dropoff_service_s,
        });
        requests.push(Request {
            id: id_text(&o.id),
            pickup,
            delivery: pickup + 1,
            size: o.size,
            fixed_vehicle: None,
            on_board: false,
            forbidden_vehicles: Vec::new(),
        });
    }
    let end = nodes.len() + inst.couriers.len();
    let mut vehicles = Vec::new();
    for (v, c) in inst.couriers.iter().enumerate() {
        let start = nodes.len();
        xy.push((c.x, c.y));
        nodes.push(NodeSpec::depot());
        vehicles.push(Vehicle {
            id: id_text(&c.id),
            start_node: start,
            end_node: end,
            start_time: c.available_from_s,
            end_due: c.shift_end_s,
            capacity: c.capacity,
        });
        for (list, on_board) in [(&c.on_board, true), (&c.committed, false)] {
            for id in list {
                let &r = order_index.get(&id_text(id)).ok_or_else(|| {
                    format!("courier {}: unknown order {}", id_text(&c.id), id_text(id))
                })?;
                if requests[r].fixed_vehicle.is_some() {
                    return Err(format!("order {} is held by two couriers", id_text(id)));
                }
                requests[r].fixed_vehicle = Some(v);
                requests[r].on_board = on_board;
            }
        }
    }
    xy.push((0.0, 0.0));
    nodes.push(NodeSpec::depot());
    let (detour, speed) = (inst.travel.detour_factor, inst.travel.speed_mps);
    Problem::new(
        if inst.name.is_empty() {
            "o2o".to_string()
        } else {
            inst.name
        },
        nodes,
        |a, b| {
            if a == end || b == end {
                0.0
            } else {
                o2o_travel_s(xy[a].0 - xy[b].0, xy[a].1 - xy[b].1, detour, speed)
            }
        },
        requests,
        vehicles,
        Objective {
            travel_weight: inst.objective.travel_s_weight,
            late_weight: inst.objective.late_s_weight,
            unserved_penalty: inst.objective.unserved_penalty_s,
            minimize_vehicles: false,
        },
    )
}

/// The `o2o-pdptw/v1` solution: one entry per courier with stops.
pub fn o2o_solution_json(p: &Problem, sol: &Solution) -> String {
    let routes: Vec<Value> = sol
        .routes
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| {
            let stops: Vec<Value> = r
                .stops()
                .iter()
                .map(|&node| {
                    let req = &p.requests[p.request_of[node]];
                    let kind = if node == req.pickup {
                        "pickup"
                    } else {
                        "dropoff"
                    };
                    json!({ "order": req.id, "type": kind })
                })
                .collect();
            json!({ "courier": p.vehicles[r.vehicle].id, "stops": stops })
        })
        .collect();
    json!({ "routes": routes }).to_string()
}
