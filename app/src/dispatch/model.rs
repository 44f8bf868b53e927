use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourierProfile {
    pub user_id: Uuid,
    pub display_name: String,
    pub vehicle: String,
    pub capacity: i32,
    pub speed_kmh: i32,
    pub status: String,
}

impl CourierProfile {
    pub fn vehicle_label(&self) -> &'static str {
        match self.vehicle.as_str() {
            "bicycle" => "Bicycle 自行车",
            "ebike" => "E-bike 电动车",
            "scooter" => "Scooter 摩托车",
            _ => "Vehicle",
        }
    }

    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "online" => "Online 在线",
            "busy" => "On a task 配送中",
            _ => "Offline 离线",
        }
    }
}

/// An offer as the courier sees it: where to go, what it pays, how long to decide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferView {
    pub id: Uuid,
    pub expires_in_s: i64,
    pub earnings_fen: i64,
    pub distance_m: i32,
    pub orders: Vec<OfferOrder>,
}

/// One order in an offer. The drop-off is only an area until the courier carries the order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferOrder {
    pub order_id: Uuid,
    pub number: String,
    pub store_name: String,
    pub store_address: String,
    pub pickup_seq: i32,
    pub dropoff_seq: i32,
    pub dropoff_distance_m: i32,
}

/// What the courier does at a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Dropoff,
}

/// One stop of the courier's accepted work, in the plan's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskStop {
    pub order_id: Uuid,
    pub number: String,
    pub kind: StopKind,
    pub status: crate::orders::model::OrderStatus,
    /// The store's name, or "Customer".
    pub place: String,
    /// The exact address once the courier carries the order; before that a placeholder.
    pub address: String,
    /// Name and phone at the door, only while the courier carries the order.
    pub contact: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub planned_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Bounds for a courier's shift when going online.
pub const MAX_SHIFT_HOURS: u32 = 12;

/// A position from the browser, checked before it reaches the database.
pub fn valid_position(lat: f64, lng: f64) -> Result<(f64, f64), &'static str> {
    if !lat.is_finite()
        || !lng.is_finite()
        || !(-90.0..=90.0).contains(&lat)
        || !(-180.0..=180.0).contains(&lng)
    {
        return Err("That position is not on Earth: check the device's location.");
    }
    Ok((lat, lng))
}

/// The customer's delivery PIN as typed: exactly 4 digits.
pub fn parse_pin(pin: &str) -> Result<String, crate::error::AppError> {
    let pin = pin.trim();
    if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::error::AppError::validation(
            "pin",
            "Enter the customer's 4-digit delivery PIN.",
        ));
    }
    Ok(pin.to_string())
}

/// The courier's day so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourierToday {
    pub delivered: i64,
    pub distance_m: i64,
    pub earnings_fen: i64,
}

/// A point on a map.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    pub lat: f64,
    pub lng: f64,
}

/// What the customer's map of an order shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderTracking {
    pub store_name: String,
    pub store: MapPoint,
    /// None for store pickup.
    pub destination: Option<MapPoint>,
    /// The courier's name and position: only while they carry this order, never before or
    /// after.
    pub courier: Option<CourierOnMap>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourierOnMap {
    pub name: String,
    pub at: MapPoint,
}
