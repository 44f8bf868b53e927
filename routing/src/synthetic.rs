//! Synthetic `o2o-pdptw/v1` snapshots of a busy city, for the real-time benchmark and tests:
//! a 12 km square with stores in a few dense districts, couriers spread over it, a third of
//! them already carrying or heading to orders, and orders placed over the last 20 minutes.

use serde_json::{Value, json};

use crate::rng::Rng;

pub fn snapshot(orders: usize, couriers: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let side = 12_000.0;
    let districts: Vec<(f64, f64)> = (0..5)
        .map(|_| (rng.unit() * side, rng.unit() * side))
        .collect();
    let n_stores = (orders / 8).clamp(3, 80);
    let stores: Vec<(f64, f64)> = (0..n_stores)
        .map(|_| {
            let (cx, cy) = districts[rng.below(districts.len())];
            let r = 1_500.0 * rng.unit().sqrt();
            let a = rng.unit() * std::f64::consts::TAU;
            (
                (cx + r * a.cos()).clamp(0.0, side),
                (cy + r * a.sin()).clamp(0.0, side),
            )
        })
        .collect();
    let mut order_list: Vec<Value> = Vec::with_capacity(orders);
    for i in 0..orders {
        let s = rng.below(stores.len());
        let (sx, sy) = stores[s];
        // Drop-offs within ~3 km of the store, like a delivery radius.
        let r = 3_000.0 * rng.unit().sqrt();
        let a = rng.unit() * std::f64::consts::TAU;
        let created = -(rng.below(1_200) as i64);
        let ready = created + 300 + rng.below(1_200) as i64;
        order_list.push(json!({
            "id": format!("o{i}"),
            "store": format!("s{s}"),
            "dropoff": {"x": (sx + r * a.cos()).clamp(0.0, side).round(), "y": (sy + r * a.sin()).clamp(0.0, side).round()},
            "created_at_s": created,
            "ready_at_s": ready.max(0),
            "deliver_by_s": created + 2_700,
            "pickup_service_s": 120,
            "dropoff_service_s": 180,
            "size": 1 + rng.below(2),
        }));
    }
    // A third of the couriers already hold one or two orders.
    let mut next_held = 0usize;
    let courier_list: Vec<Value> = (0..couriers)
        .map(|c| {
            let mut on_board = Vec::new();
            let mut committed = Vec::new();
            if c % 3 == 0 {
                for _ in 0..1 + rng.below(2) {
                    if next_held < orders / 3 {
                        let id = format!("o{}", next_held * 3);
                        if rng.unit() < 0.5 {
                            on_board.push(id)
                        } else {
                            committed.push(id)
                        }
                        next_held += 1;
                    }
                }
            }
            json!({
                "id": format!("c{c}"),
                "x": (rng.unit() * side).round(),
                "y": (rng.unit() * side).round(),
                "available_from_s": 0,
                "shift_end_s": 3 * 3_600 + rng.below(3) as i64 * 3_600,
                "capacity": 4 + rng.below(3) as i64,
                "on_board": on_board,
                "committed": committed,
            })
        })
        .collect();
    json!({
        "schema": "o2o-pdptw/v1",
        "name": format!("city-{orders}x{couriers}-seed{seed}"),
        "units": {"distance": "m", "time": "s"},
        "travel": {"detour_factor": 1.3, "speed_mps": 5.0},
        "objective": {"travel_s_weight": 1.0, "late_s_weight": 5.0, "unserved_penalty_s": 7_200.0},
        "stores": stores.iter().enumerate().map(|(i, (x, y))| json!({"id": format!("s{i}"), "x": x.round(), "y": y.round()})).collect::<Vec<_>>(),
        "couriers": courier_list,
        "orders": order_list,
    })
    .to_string()
}
