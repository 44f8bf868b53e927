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

/// The store kinds customers can filter by, with their labels.
pub const KINDS: [(&str, &str); 6] = [
    ("grocery", "Grocery 超市"),
    ("fresh", "Fresh 生鲜"),
    ("pharmacy", "Pharmacy 药店"),
    ("flowers", "Flowers 鲜花"),
    ("bakery", "Bakery 烘焙"),
    ("restaurant", "Restaurant 餐厅"),
];

/// A store seen from a delivery point: how far, whether it delivers there, fee and ETA.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NearbyStore {
    pub store: StoreCard,
    pub distance_m: i32,
    pub in_range: bool,
    pub delivery_fee: Money,
    pub eta_min: i32,
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

/// How much a customer may still buy: on hand minus what open orders hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "left", rename_all = "snake_case")]
pub enum StockState {
    Available,
    /// Only this many left: shown so customers are not surprised at checkout.
    Low(i32),
    SoldOut,
}

impl StockState {
    /// At or below this many available units a product shows "only N left".
    pub const LOW_AT: i32 = 5;

    pub fn from_levels(on_hand: i32, reserved: i32) -> StockState {
        match on_hand - reserved {
            n if n <= 0 => StockState::SoldOut,
            n if n <= Self::LOW_AT => StockState::Low(n),
            _ => StockState::Available,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductCard {
    pub id: Uuid,
    pub store_id: Uuid,
    pub name: String,
    pub category: String,
    pub unit: String,
    pub price: Money,
    pub stock: StockState,
    /// `/media/<sha256>.<ext>` when the store uploaded a photo.
    pub image_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryTab {
    pub id: Uuid,
    pub name: String,
    pub products: i64,
}

/// A store's shelf as customers browse it: one category (or all) and an optional search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreMenu {
    pub store: StoreCard,
    pub categories: Vec<CategoryTab>,
    pub products: Page<ProductCard>,
}

/// Search across the city: matching stores and matching products (with their store).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub stores: Vec<StoreCard>,
    pub products: Page<(ProductCard, String)>,
}

/// A search phrase as typed, trimmed; at most 60 characters.
pub fn parse_search(input: &str) -> Result<Option<String>, crate::error::AppError> {
    let q = input.trim();
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().count() > 60 {
        return Err(crate::error::AppError::validation(
            "q",
            "Search for at most 60 characters.",
        ));
    }
    Ok(Some(q.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_state_counts_reservations() {
        assert_eq!(StockState::from_levels(0, 0), StockState::SoldOut);
        assert_eq!(StockState::from_levels(7, 7), StockState::SoldOut);
        assert_eq!(StockState::from_levels(7, 3), StockState::Low(4));
        assert_eq!(StockState::from_levels(6, 0), StockState::Available);
        assert_eq!(StockState::from_levels(5, 0), StockState::Low(5));
    }

    #[test]
    fn search_phrases_are_trimmed_and_bounded() {
        assert_eq!(parse_search("  milk ").unwrap().as_deref(), Some("milk"));
        assert_eq!(parse_search("   ").unwrap(), None);
        assert!(parse_search(&"牛".repeat(61)).is_err());
    }
}
