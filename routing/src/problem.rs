//! The pickup-and-delivery problem the solver works on, in one shape for every source: the
//! Li & Lim benchmark, `o2o-pdptw/v1` snapshots and the live dispatch snapshot the server
//! builds. Everything is flattened into node arrays and a travel matrix so that the hot
//! insertion loop only indexes slices.

/// "No limit" for times.
pub const NO_LIMIT: f64 = f64::INFINITY;

/// What the solver minimizes.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// Weight of one unit of travel (a second for O2O, a distance unit for Li & Lim).
    pub travel_weight: f64,
    /// Weight of one second of lateness past an order's soft deadline.
    pub late_weight: f64,
    /// Cost of leaving one order unserved.
    pub unserved_penalty: f64,
    /// The classic benchmark's order: fewest vehicles first, then distance; every order must
    /// be served.
    pub minimize_vehicles: bool,
}

/// One pickup-and-delivery request (an order).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Caller's id, written back in solutions.
    pub id: String,
    pub pickup: usize,
    pub delivery: usize,
    pub size: i32,
    /// The order must stay with this vehicle (already picked up, or committed to the courier).
    pub fixed_vehicle: Option<usize>,
    /// Already picked up: only the delivery remains, its size is on board from the start.
    pub on_board: bool,
    /// Vehicles that must not get this order (the courier declined it a moment ago).
    pub forbidden_vehicles: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Vehicle {
    pub id: String,
    pub start_node: usize,
    pub end_node: usize,
    pub start_time: f64,
    /// Latest arrival at the end node (for open routes: latest last departure).
    pub end_due: f64,
    pub capacity: i32,
}

/// A node as the caller describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSpec {
    pub ready: f64,
    /// Hard latest start of service.
    pub due: f64,
    /// Soft latest start of service: later costs `late_weight` per second.
    pub deadline: f64,
    pub service: f64,
}

impl NodeSpec {
    pub fn depot() -> Self {
        NodeSpec {
            ready: 0.0,
            due: NO_LIMIT,
            deadline: NO_LIMIT,
            service: 0.0,
        }
    }
}

/// A complete problem: nodes, travel matrix, requests, vehicles and objective.
#[derive(Clone, Debug)]
pub struct Problem {
    pub name: String,
    pub n: usize,
    pub time: Vec<f64>,
    pub ready: Vec<f64>,
    pub due: Vec<f64>,
    pub deadline: Vec<f64>,
    pub service: Vec<f64>,
    /// +size at a pickup, −size at a delivery, 0 at depots.
    pub demand: Vec<i32>,
    /// The request a node belongs to (`usize::MAX` for depots).
    pub request_of: Vec<usize>,
    pub requests: Vec<Request>,
    pub vehicles: Vec<Vehicle>,
    pub objective: Objective,
    /// Whether any node has a soft deadline (lateness needs a route walk to price).
    pub has_deadlines: bool,
    /// For each node, the other request nodes ordered by travel time (for related removal).
    pub neighbours: Vec<Vec<u32>>,
    /// Rounding allowance for sums of a few travel times (a billionth of the longest one):
    /// bounds computed in another order than the exact value may differ by a few last bits.
    pub slack: f64,
}

impl Problem {
    /// Builds a problem from node specs and a travel-time function over node indices.
    /// `requests[i].pickup/delivery` and vehicle start/end nodes index `nodes`.
    pub fn new(
        name: impl Into<String>,
        nodes: Vec<NodeSpec>,
        travel: impl Fn(usize, usize) -> f64,
        requests: Vec<Request>,
        vehicles: Vec<Vehicle>,
        objective: Objective,
    ) -> Result<Problem, String> {
        let n = nodes.len();
        let mut request_of = vec![usize::MAX; n];
        let mut demand = vec![0; n];
        for (r, req) in requests.iter().enumerate() {
            for node in [req.pickup, req.delivery] {
                if node >= n {
                    return Err(format!("order {}: node {node} out of range", req.id));
                }
                if request_of[node] != usize::MAX {
                    return Err(format!("order {}: node {node} used twice", req.id));
                }
                request_of[node] = r;
            }
            if req.size < 0 {
                return Err(format!("order {}: negative size", req.id));
            }
            demand[req.pickup] = req.size;
            demand[req.delivery] = -req.size;
            if let Some(v) = req.fixed_vehicle
                && v >= vehicles.len()
            {
                return Err(format!("order {}: fixed to an unknown vehicle", req.id));
            }
            if req.on_board && req.fixed_vehicle.is_none() {
                return Err(format!(
                    "order {}: on board but not fixed to a vehicle",
                    req.id
                ));
            }
        }
        for v in &vehicles {
            if v.start_node >= n || v.end_node >= n {
                return Err(format!("vehicle {}: node out of range", v.id));
            }
            if v.capacity < 0 {
                return Err(format!("vehicle {}: negative capacity", v.id));
            }
        }
        let mut time = vec![0.0; n * n];
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    let t = travel(a, b);
                    if !t.is_finite() || t < 0.0 {
                        return Err(format!("travel time {a}→{b} is {t}"));
                    }
                    time[a * n + b] = t;
                }
            }
        }
        let customer_nodes: Vec<usize> = (0..n).filter(|&i| request_of[i] != usize::MAX).collect();
        let neighbours = (0..n)
            .map(|a| {
                let mut list: Vec<u32> = customer_nodes
                    .iter()
                    .filter(|&&b| b != a)
                    .map(|&b| b as u32)
                    .collect();
                list.sort_by(|&x, &y| {
                    let (tx, ty) = (time[a * n + x as usize], time[a * n + y as usize]);
                    tx.total_cmp(&ty).then(x.cmp(&y))
                });
                list.truncate(64);
                list
            })
            .collect();
        let has_deadlines = nodes.iter().any(|s| s.deadline.is_finite());
        let slack = 1e-9 * time.iter().copied().fold(1.0, f64::max);
        Ok(Problem {
            name: name.into(),
            n,
            time,
            ready: nodes.iter().map(|s| s.ready).collect(),
            due: nodes.iter().map(|s| s.due).collect(),
            deadline: nodes.iter().map(|s| s.deadline).collect(),
            service: nodes.iter().map(|s| s.service).collect(),
            demand,
            request_of,
            requests,
            vehicles,
            objective,
            has_deadlines,
            neighbours,
            slack,
        })
    }

    #[inline(always)]
    pub fn t(&self, a: usize, b: usize) -> f64 {
        // SAFETY-free fast path: indices come from the problem's own node ids.
        self.time[a * self.n + b]
    }

    /// Whether request `r` may go on vehicle `v`.
    #[inline]
    pub fn allowed(&self, r: usize, v: usize) -> bool {
        let req = &self.requests[r];
        match req.fixed_vehicle {
            Some(f) => f == v,
            None => !req.forbidden_vehicles.contains(&v),
        }
    }
}
