//! What an order costs. Pure: the quote service feeds it what the database says, and checkout
//! re-checks the result against the quote the customer saw.

use super::model::{Fulfilment, PricedLine, Totals};
use crate::delivery;
use crate::error::AppError;
use crate::money::Money;

/// Everything that decides a price, read from the store, the cart and the zone conditions.
pub struct PricingInput<'a> {
    pub lines: &'a [PricedLine],
    pub fulfilment: Fulfilment,
    pub packaging_fee: Money,
    pub min_order: Money,
    /// Straight-line metres from the store to the destination (delivery only).
    pub distance_m: Option<f64>,
    pub radius_m: i32,
    /// Spend at least `.0`, save `.1` (满减).
    pub discount_rule: Option<(Money, Money)>,
    pub surcharge: Money,
    pub tip: Money,
}

fn overflow() -> AppError {
    AppError::validation("cart", "This order is too large to price: make it smaller.")
}

pub fn price(input: &PricingInput<'_>) -> Result<Totals, AppError> {
    if input.lines.is_empty() {
        return Err(AppError::validation(
            "cart",
            "Your cart is empty: add something from the store first.",
        ));
    }
    let mut items = Money::ZERO;
    for line in input.lines {
        let total = line
            .unit_price
            .checked_mul(i64::from(line.quantity))
            .ok_or_else(overflow)?;
        items = items.checked_add(total).ok_or_else(overflow)?;
    }
    let (delivery_fee, surcharge, tip) = match input.fulfilment {
        Fulfilment::Pickup => {
            if input.tip != Money::ZERO {
                return Err(AppError::validation(
                    "tip",
                    "Tips go to couriers: store pickup has none.",
                ));
            }
            (Money::ZERO, Money::ZERO, Money::ZERO)
        }
        Fulfilment::Delivery => {
            let distance = input.distance_m.ok_or_else(|| {
                AppError::validation("address", "Choose where to deliver the order.")
            })?;
            if distance > f64::from(input.radius_m) {
                return Err(AppError::validation(
                    "address",
                    format!(
                        "This address is {:.1} km from the store, which delivers within {:.1} km. Choose another address, or store pickup.",
                        distance / 1000.0,
                        f64::from(input.radius_m) / 1000.0
                    ),
                ));
            }
            if items < input.min_order {
                return Err(AppError::validation(
                    "cart",
                    format!(
                        "Add {} more: the store delivers orders from {}.",
                        Money::from_fen(input.min_order.fen() - items.fen()),
                        input.min_order
                    ),
                ));
            }
            (delivery::delivery_fee(distance), input.surcharge, input.tip)
        }
    };
    let discount = match input.discount_rule {
        Some((threshold, off)) if items >= threshold => off,
        _ => Money::ZERO,
    };
    let total = [input.packaging_fee, delivery_fee, surcharge, tip]
        .into_iter()
        .try_fold(items, Money::checked_add)
        .and_then(|t| t.checked_add(Money::from_fen(-discount.fen())))
        .ok_or_else(overflow)?;
    Ok(Totals {
        items,
        packaging: input.packaging_fee,
        delivery_fee,
        surcharge,
        discount,
        tip,
        total: total.max(Money::ZERO),
    })
}

/// Whether `(lat, lng)` lies inside the ring `polygon` of `[lat, lng]` points (ray casting).
pub fn in_polygon(lat: f64, lng: f64, polygon: &[[f64; 2]]) -> bool {
    let mut inside = false;
    let n = polygon.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let [yi, xi] = polygon[i];
        let [yj, xj] = polygon[j];
        if (yi > lat) != (yj > lat) && lng < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn line(price: i64, qty: i32) -> PricedLine {
        PricedLine {
            product_id: Uuid::nil(),
            name: "x".into(),
            unit: "件".into(),
            unit_price: Money::from_fen(price),
            quantity: qty,
        }
    }

    fn input(lines: &[PricedLine]) -> PricingInput<'_> {
        PricingInput {
            lines,
            fulfilment: Fulfilment::Delivery,
            packaging_fee: Money::from_fen(100),
            min_order: Money::from_fen(2000),
            distance_m: Some(1_500.0),
            radius_m: 3000,
            discount_rule: Some((Money::from_fen(5000), Money::from_fen(500))),
            surcharge: Money::from_fen(200),
            tip: Money::from_fen(300),
        }
    }

    #[test]
    fn delivery_adds_fee_surcharge_tip_and_takes_the_discount() {
        let lines = [line(2500, 2), line(100, 1)];
        let t = price(&input(&lines)).unwrap();
        assert_eq!(t.items.fen(), 5100);
        assert_eq!(t.delivery_fee.fen(), 400);
        assert_eq!(t.discount.fen(), 500);
        assert_eq!(t.total.fen(), 5100 + 100 + 400 + 200 + 300 - 500);
    }

    #[test]
    fn below_the_threshold_there_is_no_discount() {
        let lines = [line(2500, 1)];
        let t = price(&input(&lines)).unwrap();
        assert_eq!(t.discount, Money::ZERO);
        assert_eq!(t.total.fen(), 2500 + 100 + 400 + 200 + 300);
    }

    #[test]
    fn pickup_has_no_delivery_costs_and_no_minimum() {
        let lines = [line(500, 1)];
        let mut i = input(&lines);
        i.fulfilment = Fulfilment::Pickup;
        i.tip = Money::ZERO;
        let t = price(&i).unwrap();
        assert_eq!(t.total.fen(), 600);
        i.tip = Money::from_fen(100);
        assert!(price(&i).unwrap_err().for_field("tip").is_some());
    }

    #[test]
    fn refuses_empty_carts_far_addresses_and_small_orders() {
        assert!(price(&input(&[])).unwrap_err().for_field("cart").is_some());
        let lines = [line(2500, 1)];
        let mut far = input(&lines);
        far.distance_m = Some(3_200.0);
        let msg = price(&far).unwrap_err().for_field("address").unwrap();
        assert!(
            msg.contains("3.2 km") && msg.contains("store pickup"),
            "{msg}"
        );
        let small = [line(1500, 1)];
        let msg = price(&input(&small))
            .unwrap_err()
            .for_field("cart")
            .unwrap();
        assert!(msg.contains("¥5.00 more"), "{msg}");
    }

    #[test]
    fn huge_orders_do_not_overflow() {
        let lines = [line(i64::MAX / 2, 3)];
        assert!(price(&input(&lines)).is_err());
    }

    #[test]
    fn points_in_polygons() {
        let square = [[31.0, 121.0], [31.0, 122.0], [32.0, 122.0], [32.0, 121.0]];
        assert!(in_polygon(31.5, 121.5, &square));
        assert!(!in_polygon(32.5, 121.5, &square));
        assert!(!in_polygon(31.5, 120.9, &square));
        assert!(!in_polygon(31.5, 121.5, &square[..2]));
    }
}
