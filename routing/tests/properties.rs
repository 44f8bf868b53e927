//! Property tests: whatever the engine returns for random instances is feasible according to
//! the independent checker, and the checker's cost agrees with the engine's.

use std::time::Duration;

use proptest::prelude::*;
use routing::check;
use routing::formats;
use routing::solver::{SolveOptions, solve, work_bound};
use serde_json::json;

/// A small bounded run: a fixed iteration count keeps the tests reproducible.
fn opts(seed: u64) -> SolveOptions {
    SolveOptions {
        seed,
        time_limit: Duration::from_secs(30),
        max_iterations: 300,
        ..SolveOptions::default()
    }
}

#[derive(Debug, Clone)]
struct Order {
    store: usize,
    x: i64,
    y: i64,
    ready: i64,
    slack: i64,
    size: i32,
}

#[derive(Debug, Clone)]
struct Courier {
    x: i64,
    y: i64,
    from: i64,
    shift: i64,
    capacity: i32,
    holds: Vec<(usize, bool)>,
}

fn order() -> impl Strategy<Value = Order> {
    (
        0usize..3,
        0i64..6000,
        0i64..6000,
        0i64..1200,
        300i64..3000,
        1i32..4,
    )
        .prop_map(|(store, x, y, ready, slack, size)| Order {
            store,
            x,
            y,
            ready,
            slack,
            size,
        })
}

fn courier() -> impl Strategy<Value = Courier> {
    (0i64..6000, 0i64..6000, 0i64..300, 1800i64..7200, 3i32..8).prop_map(
        |(x, y, from, shift, capacity)| Courier {
            x,
            y,
            from,
            shift,
            capacity,
            holds: vec![],
        },
    )
}

/// An `o2o-pdptw/v1` snapshot; some orders are already on board or committed to a courier
/// (our extension), which the engine must respect.
fn snapshot() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(order(), 1..25),
        prop::collection::vec(courier(), 1..6),
        prop::collection::vec((0usize..25, 0usize..6, any::<bool>()), 0..4),
    )
        .prop_map(|(orders, mut couriers, holds)| {
            let mut held = vec![false; orders.len()];
            for (o, c, on_board) in holds {
                if o < orders.len() && !held[o] {
                    held[o] = true;
                    let c = c % couriers.len();
                    couriers[c].holds.push((o, on_board));
                }
            }
            // Orders on board must fit: raise the capacity so the snapshot is consistent.
            for c in &mut couriers {
                let on: i32 = c.holds.iter().filter(|h| h.1).map(|h| orders[h.0].size).sum();
                c.capacity = c.capacity.max(on);
                c.shift = c.shift.max(c.from + 36_000);
            }
            let stores = [(1000, 1000), (4000, 2000), (2500, 5000)];
            json!({
                "schema": "o2o-pdptw/v1",
                "name": "prop",
                "units": {"distance": "m", "time": "s"},
                "travel": {"detour_factor": 1.3, "speed_mps": 5.0},
                "objective": {"travel_s_weight": 1.0, "late_s_weight": 3.0, "unserved_penalty_s": 5000.0},
                "stores": stores.iter().enumerate().map(|(i, (x, y))| json!({"id": format!("s{i}"), "x": x, "y": y})).collect::<Vec<_>>(),
                "couriers": couriers.iter().enumerate().map(|(i, c)| json!({
                    "id": format!("c{i}"), "x": c.x, "y": c.y, "available_from_s": c.from,
                    "shift_end_s": c.shift, "capacity": c.capacity,
                    "on_board": c.holds.iter().filter(|h| h.1).map(|h| h.0).collect::<Vec<_>>(),
                    "committed": c.holds.iter().filter(|h| !h.1).map(|h| h.0).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "orders": orders.iter().enumerate().map(|(i, o)| json!({
                    "id": i, "store": format!("s{}", o.store), "dropoff": {"x": o.x, "y": o.y},
                    "created_at_s": 0, "ready_at_s": o.ready, "deliver_by_s": o.ready + o.slack,
                    "pickup_service_s": 60, "dropoff_service_s": 90, "size": o.size,
                })).collect::<Vec<_>>(),
            })
            .to_string()
        })
}

/// A Li & Lim instance with wide windows and a fleet as large as the orders: always solvable
/// with every order served.
fn lilim_instance() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            0i64..100,
            0i64..100,
            0i64..100,
            0i64..100,
            1i64..30,
            0i64..400,
        ),
        1..20,
    )
    .prop_map(|pairs| {
        let n = pairs.len();
        let mut text = format!("{n}\t200\t1\n0\t50\t50\t0\t0\t2000\t0\t0\t0\n");
        for (k, (px, py, dx, dy, q, ready)) in pairs.iter().enumerate() {
            let (p, d) = (2 * k + 1, 2 * k + 2);
            text += &format!(
                "{p}\t{px}\t{py}\t{q}\t{ready}\t{}\t10\t0\t{d}\n",
                ready + 600
            );
            text += &format!("{d}\t{dx}\t{dy}\t-{q}\t0\t1800\t10\t{p}\t0\n");
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn o2o_plans_pass_the_independent_checker(text in snapshot(), seed in 0u64..1000) {
        let p = formats::parse_o2o(&text).expect("generated snapshot parses");
        let sol = solve(&p, None, &opts(seed), &mut |_| {});
        let out = formats::o2o_solution_json(&p, &sol);
        let report = check::check_o2o(&text, &out).expect("checker reads both files");
        prop_assert!(report.feasible(), "violations: {:?}\nsolution: {out}", report.violations);
        prop_assert_eq!(report.unserved, sol.unassigned.len());
        prop_assert_eq!(report.travel_s as f64, sol.travel());
        prop_assert!((report.cost - sol.cost(&p)).abs() < 1e-6, "checker {} engine {}", report.cost, sol.cost(&p));
        // Orders a courier already holds are never dropped when they can be served.
        for r in &sol.unassigned {
            prop_assert!(!p.requests[*r].on_board, "an order on board was left unserved");
        }
    }

    #[test]
    fn lilim_plans_serve_everything_and_pass_the_checker(text in lilim_instance(), seed in 0u64..1000) {
        let p = formats::parse_lilim("prop", &text).expect("generated instance parses");
        let sol = solve(&p, None, &opts(seed), &mut |_| {});
        prop_assert!(sol.unassigned.is_empty());
        let report = check::check_lilim(&text, &formats::lilim_solution_json(&sol)).expect("checker reads both");
        prop_assert!(report.feasible(), "violations: {:?}", report.violations);
        prop_assert!((report.distance - sol.travel()).abs() < 1e-6);
        prop_assert_eq!(report.vehicles, sol.used_vehicles());
        prop_assert!(sol.used_vehicles() >= work_bound(&p), "a feasible plan beat the lower bound");
    }
}

/// An instance of the Li & Lim 100 set (a copy is in routing/tests/data).
fn classic(name: &str) -> routing::problem::Problem {
    let path = format!(
        "{}/tests/data/lilim100/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    formats::parse_lilim(name, &text).expect("parses")
}

#[test]
fn same_seed_and_iterations_give_the_same_plan() {
    let p = classic("lr104");
    let a = solve(&p, None, &opts(9), &mut |_| {});
    let b = solve(&p, None, &opts(9), &mut |_| {});
    assert_eq!(a.stop_lists(), b.stop_lists());
    assert!(a.unassigned.is_empty());
}

/// The fleet lower bound from working hours never asks for more routes than a known
/// solution uses, and proves the fleet of the clustered long-horizon instances minimal
/// (which is where it saves the route removal its futile attempts).
#[test]
fn work_bound_is_a_lower_bound_on_every_classic_instance() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lilim100");
    let bks = std::fs::read_to_string(format!("{dir}/bks.csv")).expect("bks.csv is there");
    let mut proven = Vec::new();
    for line in bks.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (name, vehicles): (&str, usize) = (cols[0], cols[3].parse().expect("vehicles"));
        let p = classic(name);
        let bound = work_bound(&p);
        assert!(
            bound <= vehicles,
            "{name}: bound {bound} > best known {vehicles}"
        );
        if bound == vehicles {
            proven.push(name);
        }
    }
    for name in [
        "lc201", "lc202", "lc203", "lc204", "lc205", "lc206", "lc207", "lc208",
    ] {
        assert!(
            proven.contains(&name),
            "{name} not proven minimal: {proven:?}"
        );
    }
}

/// A city snapshot's short plan with the order at `pick` taken out (its route's schedule
/// recomputed): the plan, and the order to put back.
fn one_order_out(
    text: &str,
    seed: u64,
    pick: prop::sample::Index,
) -> (
    routing::problem::Problem,
    routing::solution::Solution,
    usize,
) {
    let p = formats::parse_o2o(text).expect("parses");
    let mut sol = solve(
        &p,
        None,
        &SolveOptions {
            max_iterations: 20,
            ..opts(seed)
        },
        &mut |_| {},
    );
    let r = pick.index(p.requests.len());
    if let Some(ri) = sol.remove_request(&p, r) {
        sol.routes[ri].update(&p);
    }
    (p, sol, r)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The fast insertion scan (cached slack, early exits) finds exactly the insertions that
    /// a full rebuild of the route finds feasible, with the same travel and lateness.
    #[test]
    fn insertion_scan_agrees_with_rebuilding_the_route(text in snapshot(), seed in 0u64..1000, pick in any::<prop::sample::Index>()) {
        use routing::solution::{for_each_insertion, lateness_after, Route};
        let (p, sol, r) = one_order_out(&text, seed, pick);
        let req = p.requests[r].clone();
        for route in &sol.routes {
            if !p.allowed(r, route.vehicle) {
                continue;
            }
            let mut fast = Vec::new();
            let all = std::cell::Cell::new(f64::INFINITY);
            for_each_insertion(&p, route, r, &all, |i, j, dt| fast.push((i, j, dt, lateness_after(&p, route, r, i, j))));
            let mut slow = Vec::new();
            let last = route.nodes.len() - 1;
            let i_range: Vec<usize> = if req.on_board { vec![0] } else { (0..last).collect() };
            for &i in &i_range {
                for j in i..last {
                    let mut nodes = route.nodes.clone();
                    nodes.insert(j + 1, req.delivery);
                    if !req.on_board {
                        nodes.insert(i + 1, req.pickup);
                    }
                    let mut trial = Route { nodes, ..route.clone() };
                    if trial.update(&p) {
                        slow.push((i, j, trial.travel - route.travel, trial.late));
                    }
                }
            }
            // On-board orders report their single position as (j, j).
            let fast: Vec<_> = fast.into_iter().map(|(i, j, a, b)| (if req.on_board { 0 } else { i }, j, a, b)).collect();
            let key = |v: &Vec<(usize, usize, f64, f64)>| v.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>();
            // The scan may stop early where rounding breaks the triangle inequality by a
            // second; it must never report an infeasible insertion.
            for f in &fast {
                let s = slow.iter().find(|s| (s.0, s.1) == (f.0, f.1));
                prop_assert!(s.is_some(), "scan reported infeasible insertion {:?}", f);
                let s = s.unwrap();
                prop_assert!((s.2 - f.2).abs() < 1e-6 && (s.3 - f.3).abs() < 1e-6, "scan {:?} rebuild {:?}", f, s);
            }
            prop_assert!(fast.len() * 10 >= slow.len() * 9, "scan found {:?} of {:?}", key(&fast), key(&slow));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Taking requests out of a route with `without_into` (which recomputes only what the
    /// removal changes) gives the same stops and schedule arrays as rebuilding the route.
    #[test]
    fn removal_agrees_with_rebuilding_the_route(text in snapshot(), seed in 0u64..1000, picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4)) {
        let p = formats::parse_o2o(&text).expect("parses");
        let sol = solve(&p, None, &SolveOptions { max_iterations: 20, ..opts(seed) }, &mut |_| {});
        for route in sol.routes.iter().filter(|r| !r.is_empty()) {
            let inside: Vec<usize> = route.stops().iter().map(|&n| p.request_of[n]).collect();
            let mut gone: Vec<usize> = picks.iter().map(|k| inside[k.index(inside.len())]).collect();
            gone.dedup();
            let (fast, slow) = removed_both_ways(&p, route, &gone);
            prop_assert_eq!(&fast.nodes, &slow.nodes);
            prop_assert_eq!(&fast.start, &slow.start);
            prop_assert_eq!(&fast.load, &slow.load);
            prop_assert_eq!(&fast.latest, &slow.latest);
        }
    }
}

/// `route` without the requests in `gone`: by `without_into` (given where their stops are)
/// and by rebuilding the route and recomputing its whole schedule.
fn removed_both_ways(
    p: &routing::problem::Problem,
    route: &routing::solution::Route,
    gone: &[usize],
) -> (routing::solution::Route, routing::solution::Route) {
    let goes = |n: usize| p.request_of[n] != usize::MAX && gone.contains(&p.request_of[n]);
    let at: Vec<usize> = (0..route.nodes.len())
        .filter(|&k| goes(route.nodes[k]))
        .collect();
    let mut fast = routing::solution::Route::empty(p, route.vehicle);
    route.without_into(p, &at, &mut fast);
    let mut slow = route.clone();
    slow.nodes.retain(|&n| !goes(n));
    slow.update(p);
    (fast, slow)
}

/// The same on a classic instance's long, tight routes (every removal of one and two
/// requests from the routes of a plan).
#[test]
fn removal_agrees_with_rebuilding_on_a_classic_plan() {
    let p = classic("lr201");
    let sol = solve(
        &p,
        None,
        &SolveOptions {
            max_iterations: 200,
            ..opts(3)
        },
        &mut |_| {},
    );
    let mut checked = 0;
    for route in sol.routes.iter().filter(|r| !r.is_empty()) {
        let mut inside: Vec<usize> = route.stops().iter().map(|&n| p.request_of[n]).collect();
        inside.sort_unstable();
        inside.dedup();
        for (a, &q1) in inside.iter().enumerate() {
            for &q2 in &inside[a..] {
                let gone = if q1 == q2 { vec![q1] } else { vec![q1, q2] };
                let (fast, slow) = removed_both_ways(&p, route, &gone);
                assert_eq!(fast.nodes, slow.nodes);
                assert_eq!(fast.start, slow.start, "removing {gone:?}");
                assert_eq!(fast.load, slow.load, "removing {gone:?}");
                assert_eq!(fast.latest, slow.latest, "removing {gone:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} removals checked");
}

/// The cheapest insertion of `r` into route `ri` by the plain scan (every feasible position,
/// first in scan order on ties), priced like the solver prices it.
fn cheapest_by_scan(
    p: &routing::problem::Problem,
    sol: &routing::solution::Solution,
    ri: usize,
    r: usize,
) -> Option<routing::solution::Insertion> {
    use routing::solution::{Insertion, for_each_insertion, lateness_after};
    let route = &sol.routes[ri];
    if !p.allowed(r, route.vehicle) {
        return None;
    }
    let w = &p.objective;
    let mut best: Option<Insertion> = None;
    let all = std::cell::Cell::new(f64::INFINITY);
    for_each_insertion(p, route, r, &all, |i, j, dt| {
        let late = if p.has_deadlines {
            w.late_weight * (lateness_after(p, route, r, i, j) - route.late)
        } else {
            0.0
        };
        let cost = w.travel_weight * dt + late;
        if best.is_none_or(|b| cost < b.cost) {
            best = Some(Insertion {
                route: ri,
                i,
                j,
                cost,
            });
        }
    });
    best
}

/// Short-search plans of three wide-window instances, whose routes are long (20+ stops).
fn long_route_plans() -> Vec<(
    &'static str,
    routing::problem::Problem,
    routing::solution::Solution,
)> {
    ["lrc201", "lr202", "lc201"]
        .into_iter()
        .map(|name| {
            let p = classic(name);
            let options = SolveOptions {
                max_iterations: 100,
                ..opts(5)
            };
            let sol = solve(&p, None, &options, &mut |_| {});
            (name, p, sol)
        })
        .collect()
}

/// The cheapest-insertion search bounds detours and prices the most promising pickup
/// position first on long routes, and skips what a caller's bound rules out: it must still
/// return exactly what scanning every position returns (same positions, same cost), for
/// every order of a plan with long routes put back into every route.
#[test]
fn pruned_insertion_search_finds_what_the_full_scan_finds() {
    use routing::solution::{best_in_route, best_in_route_below};
    for (name, p, sol) in long_route_plans() {
        let longest = sol.routes.iter().map(|r| r.stops().len()).max();
        assert!(
            longest.is_some_and(|n| n >= 20),
            "{name}: routes too short to use the bounds ({longest:?} stops)"
        );
        let (mut compared, mut found) = (0, 0);
        for r in 0..p.requests.len() {
            let mut s = sol.clone();
            if let Some(ri) = s.remove_request(&p, r) {
                s.routes[ri].update(&p);
            }
            for ri in 0..s.routes.len() {
                let scan = cheapest_by_scan(&p, &s, ri, r);
                let fast = best_in_route(&p, &s, ri, r);
                assert_eq!(fast, scan, "{name}: order {r} into route {ri}");
                compared += 1;
                if let Some(b) = scan {
                    found += 1;
                    // A caller's bound: strictly cheaper insertions only.
                    assert_eq!(best_in_route_below(&p, &s, ri, r, b.cost), None);
                    assert_eq!(best_in_route_below(&p, &s, ri, r, b.cost + 1e-6), scan);
                }
            }
        }
        assert!(found * 4 > compared, "{name}: {found} of {compared} fit");
    }
}

/// After one order goes into a route, regret insertion re-prices the others there from
/// where they fitted before (only positions on the new edges can win, if the old best still
/// fits): that must return what scanning the whole route returns, for pairs of orders of
/// plans with long routes, the second put into every route after the first.
#[test]
fn repricing_after_an_insertion_finds_what_the_full_scan_finds() {
    use routing::solution::{best_in_route, best_in_route_after};
    for (name, p, sol) in long_route_plans() {
        let n = p.requests.len();
        let (mut compared, mut found) = (0, 0);
        for x in 0..n {
            for q in (0..n).filter(|&q| q != x) {
                let mut s = sol.clone();
                for r in [x, q] {
                    if let Some(ri) = s.remove_request(&p, r) {
                        s.routes[ri].update(&p);
                    }
                }
                for ri in 0..s.routes.len() {
                    let (Some(placed), Some(before)) =
                        (best_in_route(&p, &s, ri, x), best_in_route(&p, &s, ri, q))
                    else {
                        continue;
                    };
                    let mut after = s.clone();
                    after.insert(&p, x, placed);
                    let scan = cheapest_by_scan(&p, &after, ri, q);
                    let fast = best_in_route_after(&p, &after, ri, q, before, placed);
                    assert_eq!(fast, scan, "{name}: order {q} into route {ri} after {x}");
                    compared += 1;
                    found += usize::from(scan.is_some());
                }
            }
        }
        assert!(
            compared > n && found * 2 > compared,
            "{name}: {found} of {compared} fit"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// In city snapshots (soft deadlines, couriers carrying orders) a caller's bound only
    /// removes insertions that are not cheaper than it.
    #[test]
    fn a_bound_keeps_every_cheaper_insertion(text in snapshot(), seed in 0u64..1000, pick in any::<prop::sample::Index>()) {
        use routing::solution::{best_in_route, best_in_route_below};
        let (p, sol, r) = one_order_out(&text, seed, pick);
        for ri in 0..sol.routes.len() {
            let Some(best) = best_in_route(&p, &sol, ri, r) else { continue };
            prop_assert_eq!(best_in_route_below(&p, &sol, ri, r, best.cost), None);
            let below = best_in_route_below(&p, &sol, ri, r, best.cost + 1.0);
            prop_assert!(below.is_some_and(|b| b.cost <= best.cost), "{:?} vs {:?}", below, best);
        }
    }
}
