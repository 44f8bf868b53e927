//! A pool of every feasible route the search has built, and a set-partitioning
//! recombination over it: pick routes from the pool that serve each order exactly once, with
//! no more routes than the best plan and the least distance. Different plans of the search
//! often hold the same group of orders in a route, each plan with a better order of stops
//! for some groups; recombining takes the best of each (a matheuristic in the manner of
//! Sartori and Buriol's LNS with set partitioning, solved here by a bounded exact search
//! instead of a MIP solver).
//!
//! Only for fleets of identical vehicles (the classic benchmark), where a route's stops can
//! be driven by any vehicle.

use std::collections::HashMap;
use std::time::Instant;

use crate::problem::Problem;
use crate::solution::{Route, Solution};

/// Pooled routes in parallel arrays: the recombination reads the masks of millions of
/// candidates, so they lie end to end (`words` per route) rather than behind a pointer each.
pub struct RoutePool {
    words: usize,
    index: HashMap<Box<[u64]>, usize>,
    /// Requests served by route `k`, one bit each: `masks[k * words..(k + 1) * words]`.
    masks: Vec<u64>,
    costs: Vec<f64>,
    stops: Vec<Box<[usize]>>,
    capacity: usize,
    scratch: Vec<u64>,
}

impl RoutePool {
    /// A pool for `p`, or `None` when its vehicles differ (a route would not fit any other).
    pub fn new(p: &Problem, capacity: usize) -> Option<RoutePool> {
        let v0 = p.vehicles.first()?;
        let same = p.vehicles.iter().all(|v| {
            v.start_node == v0.start_node
                && v.end_node == v0.end_node
                && v.start_time == v0.start_time
                && v.end_due == v0.end_due
                && v.capacity == v0.capacity
        });
        let free = p
            .requests
            .iter()
            .all(|r| r.fixed_vehicle.is_none() && r.forbidden_vehicles.is_empty());
        if !same || !free || p.requests.is_empty() {
            return None;
        }
        let words = p.requests.len().div_ceil(64);
        Some(RoutePool {
            words,
            index: HashMap::new(),
            masks: Vec::new(),
            costs: Vec::new(),
            stops: Vec::new(),
            capacity,
            scratch: vec![0; words],
        })
    }

    pub fn len(&self) -> usize {
        self.costs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.costs.is_empty()
    }

    fn mask(&self, k: usize) -> &[u64] {
        &self.masks[k * self.words..(k + 1) * self.words]
    }

    /// Adds every non-empty route of `sol` (keeping, per group of orders, the shortest).
    pub fn add_solution(&mut self, p: &Problem, sol: &Solution) {
        for route in &sol.routes {
            if !route.is_empty() {
                self.add(p, route);
            }
        }
    }

    fn add(&mut self, p: &Problem, route: &Route) {
        self.scratch.iter_mut().for_each(|w| *w = 0);
        for &node in route.stops() {
            let r = p.request_of[node];
            self.scratch[r / 64] |= 1 << (r % 64);
        }
        let cost = route.cost(p);
        match self.index.get(&self.scratch[..]) {
            Some(&k) if cost < self.costs[k] - 1e-9 => {
                self.costs[k] = cost;
                self.stops[k] = route.stops().into();
            }
            Some(_) => {}
            None if self.len() < self.capacity => {
                self.index
                    .insert(self.scratch.clone().into_boxed_slice(), self.len());
                self.masks.extend_from_slice(&self.scratch);
                self.costs.push(cost);
                self.stops.push(route.stops().into());
            }
            None => {}
        }
    }

    /// The cheapest plan of at most `max_routes` pooled routes that serves every order once
    /// and costs less than `incumbent`, searching at most `max_nodes` partial plans and
    /// stopping at `deadline` (then the best found so far).
    pub fn recombine(
        &self,
        p: &Problem,
        max_routes: usize,
        incumbent: f64,
        max_nodes: u64,
        deadline: Instant,
    ) -> Option<Solution> {
        if Instant::now() >= deadline {
            return None;
        }
        let n = p.requests.len();
        let mut share = vec![f64::INFINITY; n];
        for (k, &cost) in self.costs.iter().enumerate() {
            let mask = self.mask(k);
            let size = mask.iter().map(|w| w.count_ones()).sum::<u32>().max(1) as f64;
            for r in requests(mask) {
                share[r] = share[r].min(cost / size);
            }
        }
        if share.iter().any(|s| s.is_infinite()) {
            return None;
        }
        // Per order, the routes serving it with their excess (the route's cost above the sum
        // of its orders' cheapest shares), sorted on it: the first route whose excess cannot
        // beat the incumbent ends the branch, and the search reads it without a lookup.
        let mut with: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
        for (k, &cost) in self.costs.iter().enumerate() {
            let mask = self.mask(k);
            let excess = cost - requests(mask).map(|r| share[r]).sum::<f64>();
            for r in requests(mask) {
                with[r].push((excess, k));
            }
        }
        for list in &mut with {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        let mut search = Cover {
            pool: self,
            share: &share,
            with: &with,
            max_routes,
            best_cost: incumbent - 1e-6,
            best: None,
            chosen: Vec::new(),
            nodes: 0,
            max_nodes,
            deadline,
        };
        let mut covered = vec![0u64; self.words];
        let bound: f64 = share.iter().sum();
        search.descend(&mut covered, 0.0, bound);
        let chosen = search.best?;
        let lists: Vec<Vec<usize>> = chosen.iter().map(|&k| self.stops[k].to_vec()).collect();
        Solution::from_routes(p, &lists).ok()
    }
}

fn requests(mask: &[u64]) -> impl Iterator<Item = usize> + '_ {
    mask.iter().enumerate().flat_map(|(w, &bits)| {
        let mut b = bits;
        std::iter::from_fn(move || {
            if b == 0 {
                return None;
            }
            let i = b.trailing_zeros() as usize;
            b &= b - 1;
            Some(w * 64 + i)
        })
    })
}

/// Depth-first exact cover with a lower bound (cheapest share of every uncovered order).
struct Cover<'a> {
    pool: &'a RoutePool,
    share: &'a [f64],
    with: &'a [Vec<(f64, usize)>],
    max_routes: usize,
    best_cost: f64,
    best: Option<Vec<usize>>,
    chosen: Vec<usize>,
    nodes: u64,
    max_nodes: u64,
    deadline: Instant,
}

impl Cover<'_> {
    fn descend(&mut self, covered: &mut [u64], cost: f64, bound: f64) {
        self.nodes += 1;
        if self.nodes.is_multiple_of(4096) && Instant::now() >= self.deadline {
            self.max_nodes = self.nodes;
        }
        // The uncovered order with the fewest pooled routes branches least.
        let mut pick: Option<usize> = None;
        for (w, &bits) in covered.iter().enumerate() {
            let mut free = !bits;
            while free != 0 {
                let r = w * 64 + free.trailing_zeros() as usize;
                free &= free - 1;
                if r >= self.share.len() {
                    break;
                }
                if pick.is_none_or(|q| self.with[r].len() < self.with[q].len()) {
                    pick = Some(r);
                }
            }
        }
        let Some(r) = pick else {
            if cost < self.best_cost {
                self.best_cost = cost;
                self.best = Some(self.chosen.clone());
            }
            return;
        };
        if self.chosen.len() >= self.max_routes {
            return;
        }
        let pool = self.pool;
        for &(excess, k) in &self.with[r] {
            if self.nodes >= self.max_nodes || cost + bound + excess >= self.best_cost {
                // Sorted by excess: no later route can do better here.
                return;
            }
            let mask = pool.mask(k);
            if mask.iter().zip(covered.iter()).any(|(a, b)| a & b != 0) {
                continue;
            }
            // The orders' shares in the bound: the route's cost less its excess.
            let route_cost = pool.costs[k];
            let shares = route_cost - excess;
            covered
                .iter_mut()
                .zip(mask.iter())
                .for_each(|(c, m)| *c |= m);
            self.chosen.push(k);
            self.descend(covered, cost + route_cost, bound - shares);
            self.chosen.pop();
            covered
                .iter_mut()
                .zip(mask.iter())
                .for_each(|(c, m)| *c &= !m);
        }
    }
}
