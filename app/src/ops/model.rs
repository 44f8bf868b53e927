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
