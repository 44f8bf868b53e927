use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::Money;
use crate::page::Page;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreCard {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub rating_x10: i16,
    pub prep_time_min: i32,
    pub delivery_radius_m: i32,
    pub min_order: Money,
    pub open_now: bool,
    pub product_count: i64,
}

impl StoreCard {
    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "grocery" => "Grocery 超市",
            "fresh" => "Fresh produce 生鲜",
            "pharmacy" => "Pharmacy 药店",
            "flowers" => "Flowers 鲜花",
            "bakery" => "Bakery 烘焙",
            "restaurant" => "Restaurant 餐厅",
            _ => "Store",
        }
    }

    pub fn rating(&self) -> String {
        format!("{}.{}", self.rating_x10 / 10, self.rating_x10 % 10)
    }
}

/// A store as its staff see it in the console.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberStore {
    pub store: StoreCard,
    pub member_role: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockLine {
    pub product_id: Uuid,
    pub name: String,
    pub category: String,
    pub unit: String,
    pub price: Money,
    pub on_hand: i32,
    pub reserved: i32,
    pub listed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreStock {
    pub store: StoreCard,
    pub lines: Page<StockLine>,
}
