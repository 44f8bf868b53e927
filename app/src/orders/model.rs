use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::model::StockState;
use crate::error::AppError;
use crate::money::Money;

/// How many of one product a cart line may hold (0 removes the line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CartQuantity(i32);

impl CartQuantity {
    pub const MAX: i32 = 99;

    pub fn parse(n: i32) -> Result<CartQuantity, AppError> {
        if (0..=Self::MAX).contains(&n) {
            Ok(CartQuantity(n))
        } else {
            Err(AppError::validation(
                "quantity",
                format!("Choose between 0 and {} of one product.", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: Uuid,
    pub name: String,
    pub unit: String,
    pub price: Money,
    pub quantity: i32,
    pub line_total: Money,
    pub stock: StockState,
    /// Still listed and in stock for this quantity; checkout refuses lines that are not.
    pub orderable: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartView {
    pub store_id: Uuid,
    pub store_name: String,
    pub lines: Vec<CartLine>,
    pub items: i32,
    /// Current prices × quantities; the quote at checkout is what the customer pays.
    pub subtotal: Money,
}

impl CartView {
    pub fn quantity_of(&self, product_id: Uuid) -> i32 {
        self.lines
            .iter()
            .find(|l| l.product_id == product_id)
            .map_or(0, |l| l.quantity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_bounded() {
        assert_eq!(CartQuantity::parse(0).unwrap().get(), 0);
        assert_eq!(CartQuantity::parse(99).unwrap().get(), 99);
        assert!(CartQuantity::parse(100).is_err());
        let err = CartQuantity::parse(-1).unwrap_err();
        assert!(err.for_field("quantity").is_some());
    }
}
