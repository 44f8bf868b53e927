//! Places on the map (WGS84).

use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    /// Rejects coordinates outside WGS84 ranges and non-finite numbers.
    pub fn new(lat: f64, lng: f64) -> Result<Self, AppError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(AppError::validation(
                "lat",
                "Latitude must be between -90 and 90.",
            ));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(AppError::validation(
                "lng",
                "Longitude must be between -180 and 180.",
            ));
        }
        Ok(GeoPoint { lat, lng })
    }

    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        routing::haversine_m(self.lat, self.lng, other.lat, other.lng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_nan() {
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(0.0, 180.5).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        assert!(GeoPoint::new(31.23, 121.47).is_ok());
    }
}
