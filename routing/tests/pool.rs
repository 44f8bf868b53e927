//! Set-partitioning recombination over the route pool: it takes the best sequence of each
//! group of orders from different plans, and never returns an invalid, dearer or larger plan.

use std::cell::Cell;
use std::time::{Duration, Instant};

use routing::check;
use routing::formats;
use routing::pool::RoutePool;
use routing::problem::Problem;
use routing::solution::{Insertion, Solution, for_each_insertion};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lilim100");

/// The instance, its text and its best-known solution.
fn load(name: &str, solution: &str) -> (Problem, String, Solution) {
    let text = std::fs::read_to_string(format!("{DIR}/{name}.txt")).expect("instance");
    let p = formats::parse_lilim(name, &text).expect("parses");
    let bks = std::fs::read_to_string(format!("{DIR}/bks_solutions/{solution}"))
        .expect("best-known solution");
    let best = Solution::from_routes(&p, &check::parse_route_list(&bks)).expect("feasible");
    (p, text, best)
}

/// `sol` with the first order of route `ri` moved to its dearest feasible place in that route.
fn degrade(p: &Problem, sol: &Solution, ri: usize) -> Solution {
    let mut s = sol.clone();
    let r = p.request_of[s.routes[ri].stops()[0]];
    s.remove_request(p, r);
    s.routes[ri].update(p);
    let mut worst: Option<Insertion> = None;
    let cutoff = Cell::new(f64::INFINITY);
    for_each_insertion(p, &s.routes[ri], r, &cutoff, |i, j, cost| {
        if worst.is_none_or(|w| cost > w.cost) {
            worst = Some(Insertion {
                route: ri,
                i,
                j,
                cost,
            });
        }
    });
    s.insert(p, r, worst.expect("the order fits back where it was"));
    s
}

#[test]
fn recombination_takes_the_best_route_of_each_plan() {
    let (p, text, best) = load("lr201", "lr201.4_1253.234.txt");
    // Two plans, each worse than the best-known one in a different route.
    let x = degrade(&p, &best, 0);
    let y = degrade(&p, &best, 1);
    let best_cost = best.cost(&p);
    assert!(x.cost(&p) > best_cost + 1e-6 && y.cost(&p) > best_cost + 1e-6);

    let mut pool = RoutePool::new(&p, 1000).expect("Li & Lim vehicles are identical");
    pool.add_solution(&p, &x);
    pool.add_solution(&p, &y);
    // Four groups of orders, the two degraded routes each kept in its better sequence.
    assert_eq!(pool.len(), 4);

    let far = Instant::now() + Duration::from_secs(60);
    let fleet = best.used_vehicles();
    let incumbent = x.cost(&p).min(y.cost(&p));
    let got = pool
        .recombine(&p, fleet, incumbent, 1_000_000, far)
        .expect("a plan cheaper than either");
    assert!(got.unassigned.is_empty());
    assert!((got.cost(&p) - best_cost).abs() < 1e-6, "{}", got.cost(&p));
    let report = check::check_lilim(&text, &formats::lilim_solution_json(&got)).expect("checks");
    assert!(report.feasible(), "{report:?}");

    // Nothing cheaper than the best-known plan, and no cover with a route less.
    assert!(
        pool.recombine(&p, fleet, best_cost, 1_000_000, far)
            .is_none()
    );
    assert!(
        pool.recombine(&p, fleet - 1, f64::INFINITY, 1_000_000, far)
            .is_none()
    );
}

#[test]
fn recombination_needs_identical_vehicles_and_free_orders() {
    let (mut p, _, _) = load("lr201", "lr201.4_1253.234.txt");
    assert!(RoutePool::new(&p, 10).is_some());
    p.vehicles[1].capacity -= 1;
    assert!(RoutePool::new(&p, 10).is_none());
}
