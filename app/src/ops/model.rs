use serde::{Deserialize, Serialize};

use crate::dispatch::model::CourierProfile;
use crate::page::Page;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CityOverview {
    pub stores: i64,
    pub products: i64,
    pub customers: i64,
    pub couriers_online: i64,
    pub couriers: Page<CourierProfile>,
}

/// A service zone and the condition operations set on it now, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneView {
    pub id: uuid::Uuid,
    pub name: String,
    /// The area as `[lat, lng]` points.
    pub polygon: Vec<[f64; 2]>,
    pub condition: Option<ZoneConditionView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneConditionView {
    pub id: uuid::Uuid,
    pub kind: String,
    pub travel_multiplier: f64,
    pub surcharge_fen: i64,
    pub ends_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One dispatch decision about an order, for "why did it go there?".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    pub courier: Option<String>,
    pub reason: String,
    pub cost_delta: Option<f64>,
}

pub const CONDITION_KINDS: [&str; 3] = ["rain", "storm", "heavy_traffic"];

/// Checks a zone drawn by operations: 3 to 200 `[lat, lng]` points on Earth.
pub fn parse_polygon(json: &str) -> Result<Vec<[f64; 2]>, String> {
    let points: Vec<[f64; 2]> = serde_json::from_str(json)
        .map_err(|_| "Draw the zone as a list of [lat, lng] points.".to_string())?;
    if !(3..=200).contains(&points.len()) {
        return Err("A zone needs 3 to 200 points.".into());
    }
    if points.iter().any(|[lat, lng]| {
        !lat.is_finite() || !lng.is_finite() || lat.abs() > 90.0 || lng.abs() > 180.0
    }) {
        return Err("A point of the zone is not on Earth.".into());
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygons_need_three_to_two_hundred_points_on_earth() {
        assert_eq!(
            parse_polygon("[[31,121],[31,122],[32,121]]").unwrap().len(),
            3
        );
        assert!(parse_polygon("[[31,121],[31,122]]").is_err());
        assert!(parse_polygon("[[31,121],[31,122],[95,121]]").is_err());
        assert!(parse_polygon("not json").is_err());
    }
}

/// The live city for operations: couriers on shift, open orders, their planned routes and the
/// zones with their conditions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveCity {
    pub couriers: Vec<CourierDot>,
    pub orders: Vec<OrderDot>,
    pub routes: Vec<PlannedRoute>,
    pub zones: Vec<ZoneView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourierDot {
    pub id: uuid::Uuid,
    pub name: String,
    /// `online` (free) or `busy`.
    pub status: String,
    pub lat: f64,
    pub lng: f64,
    /// Open orders the courier holds.
    pub load: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderDot {
    pub id: uuid::Uuid,
    pub number: String,
    pub status: crate::orders::model::OrderStatus,
    /// Minutes since payment.
    pub age_min: i64,
    pub store_name: String,
    pub store: [f64; 2],
    pub dest: [f64; 2],
    pub courier_id: Option<uuid::Uuid>,
    pub courier_name: Option<String>,
}

impl OrderDot {
    /// Fresh (< 15 min), ageing (< 30 min) or late: the colour on the map and the board.
    pub fn age_class(&self) -> &'static str {
        match self.age_min {
            ..15 => "fresh",
            15..30 => "ageing",
            _ => "late",
        }
    }
}

/// A courier's planned route: from where they are through their stops in plan order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedRoute {
    pub courier_id: uuid::Uuid,
    pub points: Vec<[f64; 2]>,
}

/// At most this many open orders and couriers are drawn (a city larger than that needs
/// filters, not one map).
pub const LIVE_CITY_CAP: i64 = 1000;
