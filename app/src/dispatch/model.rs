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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Dropoff,
    /// A failed delivery's goods go back to the store.
    Return,
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
    /// Restricted goods on board (medicine, alcohol, tobacco): an ID check at the door.
    pub restricted: Vec<Restriction>,
    /// Failed attempts at the door so far (each with its reason).
    pub attempts: Vec<FailReason>,
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

#[cfg(test)]
mod exception_tests {
    use super::*;

    #[test]
    fn refusals_and_the_last_try_go_back_to_the_store() {
        use FailReason::*;
        use FollowUp::*;
        assert!(check_follow_up(0, NoAnswer, Retry).is_ok());
        assert!(check_follow_up(1, WrongAddress, Retry).is_ok());
        assert!(check_follow_up(MAX_ATTEMPTS - 1, NoAnswer, Retry).is_err());
        assert!(check_follow_up(0, Refused, Retry).is_err());
        for r in FailReason::ALL {
            assert!(check_follow_up(9, r, Return).is_ok());
            assert_eq!(FailReason::parse(r.as_str()), Some(r));
        }
        for r in Restriction::ALL {
            assert_eq!(Restriction::parse(r.as_str()), Some(r));
        }
        assert_eq!(Restriction::parse("guns"), None);
    }
}

/// Why a delivery could not be completed at the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    NoAnswer,
    WrongAddress,
    Refused,
}

impl FailReason {
    pub const ALL: [FailReason; 3] = [
        FailReason::NoAnswer,
        FailReason::WrongAddress,
        FailReason::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::NoAnswer => "no_answer",
            FailReason::WrongAddress => "wrong_address",
            FailReason::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<FailReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            FailReason::NoAnswer => "No answer 无人应答",
            FailReason::WrongAddress => "Wrong address 地址错误",
            FailReason::Refused => "Refused 拒收",
        }
    }
}

/// What follows a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    /// The courier keeps the order and tries again (after calling the customer).
    Retry,
    /// The delivery fails; the goods go back to the store.
    Return,
}

impl FollowUp {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUp::Retry => "retry",
            FollowUp::Return => "return",
        }
    }
}

/// A failure as typed into a form.
pub fn parse_failure(
    reason: &str,
    follow_up: &str,
) -> Result<(FailReason, FollowUp), crate::error::AppError> {
    let reason = FailReason::parse(reason).ok_or_else(|| {
        crate::error::AppError::validation(
            "reason",
            "Choose why: no answer, wrong address or refused.",
        )
    })?;
    let follow_up = match follow_up {
        "retry" => FollowUp::Retry,
        "return" => FollowUp::Return,
        _ => {
            return Err(crate::error::AppError::validation(
                "follow_up",
                "Choose what follows: try again or return to the store.",
            ));
        }
    };
    Ok((reason, follow_up))
}

/// Tries at one door before the goods must go back to the store.
pub const MAX_ATTEMPTS: usize = 3;

/// Whether this follow-up may come after these earlier attempts (and this one's reason): a
/// refusal always goes back; after [`MAX_ATTEMPTS`] tries so does everything.
pub fn check_follow_up(
    earlier: usize,
    reason: FailReason,
    follow_up: FollowUp,
) -> Result<(), &'static str> {
    match follow_up {
        FollowUp::Return => Ok(()),
        FollowUp::Retry if reason == FailReason::Refused => {
            Err("The customer refused the order: take it back to the store.")
        }
        FollowUp::Retry if earlier + 1 >= MAX_ATTEMPTS => {
            Err("This was the last try at this door: take the order back to the store.")
        }
        FollowUp::Retry => Ok(()),
    }
}

/// Goods that may only be handed over after checking the recipient's ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    Medicine,
    Alcohol,
    Tobacco,
}

impl Restriction {
    pub const ALL: [Restriction; 3] = [
        Restriction::Medicine,
        Restriction::Alcohol,
        Restriction::Tobacco,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Restriction::Medicine => "medicine",
            Restriction::Alcohol => "alcohol",
            Restriction::Tobacco => "tobacco",
        }
    }

    pub fn parse(s: &str) -> Option<Restriction> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What the courier checks at the door.
    pub fn check(self) -> &'static str {
        match self {
            Restriction::Medicine => "Medicine 药品: the recipient's ID matches the order's name",
            Restriction::Alcohol => "Alcohol 酒类: the recipient is 18 or older (ID seen)",
            Restriction::Tobacco => "Tobacco 烟草: the recipient is 18 or older (ID seen)",
        }
    }
}

/// The courier's day so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourierToday {
    pub delivered: i64,
    pub distance_m: i64,
    pub earnings_fen: i64,
}

/// Couriers on their way to a store (to pick up its orders), for the store's map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreCouriers {
    pub store: MapPoint,
    pub couriers: Vec<HeadingCourier>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadingCourier {
    pub id: Uuid,
    pub name: String,
    pub at: MapPoint,
    /// When the plan has them at the store (store's time zone), if planned.
    pub eta_local: Option<String>,
    /// The order numbers they come for.
    pub orders: Vec<String>,
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
