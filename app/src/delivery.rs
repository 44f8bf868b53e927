//! Delivery pricing and time estimates shown before ordering. The travel time uses the same
//! model as dispatch (`routing::travel_time_s`), so the ETA a customer sees is the one couriers
//! are planned with.

use crate::money::Money;

/// Street distance is ~1.3 × the straight line in central Shanghai.
pub const DETOUR: f64 = 1.3;
/// An e-bike courier in city traffic: 18 km/h.
pub const COURIER_SPEED_M_S: f64 = 5.0;

/// ¥3 for the first kilometre, then ¥1 for each started kilometre.
pub fn delivery_fee(distance_m: f64) -> Money {
    let extra_km = ((distance_m - 1_000.0).max(0.0) / 1_000.0).ceil() as i64;
    Money::from_fen(300 + 100 * extra_km)
}

/// Minutes from order to door: preparation plus the courier's ride (`multiplier` > 1 in rain
/// or heavy traffic).
pub fn eta_minutes(prep_time_min: i32, distance_m: f64, multiplier: f64) -> i32 {
    let ride_s = routing::travel_time_s(distance_m, DETOUR, COURIER_SPEED_M_S, multiplier);
    prep_time_min + (ride_s / 60.0).ceil() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_grows_by_started_kilometre() {
        assert_eq!(delivery_fee(0.0).fen(), 300);
        assert_eq!(delivery_fee(1_000.0).fen(), 300);
        assert_eq!(delivery_fee(1_001.0).fen(), 400);
        assert_eq!(delivery_fee(2_500.0).fen(), 500);
    }

    #[test]
    fn eta_adds_the_ride_to_preparation() {
        // 1 km × 1.3 at 5 m/s = 260 s → 5 min.
        assert_eq!(eta_minutes(10, 1_000.0, 1.0), 15);
        assert_eq!(eta_minutes(10, 1_000.0, 1.5), 17);
    }
}
