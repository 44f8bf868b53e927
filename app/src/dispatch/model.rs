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
