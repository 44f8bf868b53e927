//! Songda's routing engine: pure Rust, no I/O, no async, the same plan for the same seed and
//! iteration count.
//!
//! It owns the geometry every other part agrees on (great-circle distance and the travel-time
//! model), the pickup-and-delivery problem (`problem`), plans and their schedules
//! (`solution`), the solver (`solver`: regret insertion, adaptive large neighbourhood search,
//! guided ejection search for fewer routes; route-pool recombination in `pool`), the file
//! formats (`formats`) and a checker that shares no code with the solver (`check`).

pub mod check;
pub mod formats;
pub mod pool;
pub mod problem;
pub mod rng;
pub mod solution;
pub mod solver;
pub mod synthetic;

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two WGS84 points given in degrees.
pub fn haversine_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Travel time in seconds: distance × detour factor ÷ speed × condition multiplier.
/// The detour factor turns straight-line distance into street distance (~1.3 in dense cities).
pub fn travel_time_s(distance_m: f64, detour: f64, speed_m_per_s: f64, multiplier: f64) -> f64 {
    distance_m * detour / speed_m_per_s * multiplier
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_between_peoples_square_and_the_bund_is_about_1_9_km() {
        // People's Square (31.2304, 121.4737) to the Bund at Nanjing Road (31.2400, 121.4900).
        let d = haversine_m(31.2304, 121.4737, 31.2400, 121.4900);
        assert!((1_850.0..1_950.0).contains(&d), "got {d}");
    }

    #[test]
    fn distance_is_symmetric_and_zero_on_the_same_point() {
        let a = haversine_m(31.0, 121.0, 31.1, 121.2);
        let b = haversine_m(31.1, 121.2, 31.0, 121.0);
        assert!((a - b).abs() < 1e-6);
        assert_eq!(haversine_m(31.0, 121.0, 31.0, 121.0), 0.0);
    }

    #[test]
    fn travel_time_scales_with_detour_and_conditions() {
        // 1 km at 5 m/s straight is 200 s; detour 1.3 and rain ×1.5 give 390 s.
        assert!((travel_time_s(1_000.0, 1.3, 5.0, 1.5) - 390.0).abs() < 1e-9);
    }
}
