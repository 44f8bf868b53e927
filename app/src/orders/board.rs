//! What a store's staff see of orders: the live board, one order's pick list, the packing
//! label. Always compiled (browser and server share these types).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{Fulfilment, OrderStatus, TimelineEntry, Totals};
use crate::error::AppError;
use crate::money::Money;

/// The board's columns, left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardColumn {
    New,
    Preparing,
    Ready,
    HandedOver,
    Exceptions,
}

impl BoardColumn {
    pub const ALL: [BoardColumn; 5] = [
        BoardColumn::New,
        BoardColumn::Preparing,
        BoardColumn::Ready,
        BoardColumn::HandedOver,
        BoardColumn::Exceptions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BoardColumn::New => "new",
            BoardColumn::Preparing => "preparing",
            BoardColumn::Ready => "ready",
            BoardColumn::HandedOver => "handed_over",
            BoardColumn::Exceptions => "exceptions",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BoardColumn::New => "New 新订单",
            BoardColumn::Preparing => "Accepted / picking 备货中",
            BoardColumn::Ready => "Ready 待取货",
            BoardColumn::HandedOver => "Handed over today 今日已交接",
            BoardColumn::Exceptions => "Needs attention 异常",
        }
    }

    /// Where an order in `status` sits (cancel requests go to exceptions whatever the status).
    pub fn of(status: OrderStatus, cancel_requested: bool) -> Option<BoardColumn> {
        use OrderStatus as S;
        if cancel_requested {
            return Some(BoardColumn::Exceptions);
        }
        match status {
            S::Placed => Some(BoardColumn::New),
            S::Accepted | S::Picking => Some(BoardColumn::Preparing),
            S::Ready => Some(BoardColumn::Ready),
            S::PickedUp | S::Delivering | S::Delivered | S::Collected => {
                Some(BoardColumn::HandedOver)
            }
            S::DeliveryFailed => Some(BoardColumn::Exceptions),
            S::PendingPayment | S::Cancelled | S::Rejected | S::Refunded => None,
        }
    }
}

/// One order on the board.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardCard {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
    pub fulfilment: Fulfilment,
    pub items: i64,
    pub total: Money,
    /// When it was paid, store time ("18:42").
    pub paid_local: String,
    /// Minutes since payment.
    pub age_min: i64,
    /// For new orders: minutes left before the system rejects it (negative: overdue).
    pub accept_within_min: Option<i64>,
    pub scheduled_local: Option<String>,
    /// "ready by 19:05" once accepted with a prep estimate.
    pub ready_by_local: Option<String>,
    pub picked_lines: i64,
    pub lines: i64,
    pub cancel_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardLane {
    pub column: BoardColumn,
    pub cards: Vec<BoardCard>,
    /// All orders in this column (the board shows the oldest first, up to a limit).
    pub total: i64,
}

/// A warning for the store's staff (e.g. an order the system rejected).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreAlert {
    pub id: Uuid,
    pub order_id: Option<Uuid>,
    pub message: String,
    pub at_local: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub store_id: Uuid,
    pub store_name: String,
    pub default_prep_min: i32,
    pub accept_timeout_min: i32,
    pub accepting_orders: bool,
    pub lanes: Vec<BoardLane>,
    pub alerts: Vec<StoreAlert>,
}

impl Board {
    pub fn count(&self, column: BoardColumn) -> i64 {
        self.lanes
            .iter()
            .find(|l| l.column == column)
            .map_or(0, |l| l.total)
    }
}

/// A line of the pick list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PickLine {
    pub product_id: Uuid,
    pub name: String,
    pub unit: String,
    pub quantity: i32,
    pub picked: bool,
}

/// Lines of one category (the shelf they sit on), in the store's category order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PickGroup {
    pub category: String,
    pub lines: Vec<PickLine>,
}

/// One order as the store's staff see it: no exact address, masked contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MerchantOrder {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
    pub fulfilment: Fulfilment,
    pub store_id: Uuid,
    pub store_name: String,
    pub customer_masked: String,
    pub phone_masked: String,
    pub notes: String,
    pub totals: Totals,
    pub pick_list: Vec<PickGroup>,
    pub prep_estimate_min: Option<i32>,
    pub default_prep_min: i32,
    pub scheduled_local: Option<String>,
    pub paid_local: Option<String>,
    pub ready_by_local: Option<String>,
    pub cancel_reason: Option<String>,
    pub timeline: Vec<TimelineEntry>,
}

impl MerchantOrder {
    pub fn all_picked(&self) -> bool {
        self.pick_list
            .iter()
            .all(|g| g.lines.iter().all(|l| l.picked))
    }

    pub fn can_accept(&self) -> bool {
        self.status == OrderStatus::Placed
    }

    /// Ticking lines: after accepting, until the order is marked ready.
    pub fn can_pick(&self) -> bool {
        matches!(self.status, OrderStatus::Accepted | OrderStatus::Picking)
    }

    pub fn can_print_label(&self) -> bool {
        matches!(
            self.status,
            OrderStatus::Accepted | OrderStatus::Picking | OrderStatus::Ready
        )
    }

    /// A store-pickup order that is ready waits for the customer's pickup code.
    pub fn awaits_pickup_code(&self) -> bool {
        self.status == OrderStatus::Ready && self.fulfilment == Fulfilment::Pickup
    }
}

/// What the printed packing label carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackingLabel {
    pub order_id: Uuid,
    pub number: String,
    pub store_name: String,
    pub items: i64,
    pub customer_masked: String,
    pub phone_masked: String,
    pub fulfilment: Fulfilment,
    pub scheduled_local: Option<String>,
    pub notes: String,
    /// The courier types this if the QR cannot be scanned.
    pub handover_code: String,
    /// The QR code as an SVG document: `songda:handover:{order_id}:{code}`.
    pub qr_svg: String,
}

/// What the QR code on a label encodes; the courier app reads it back with [`parse_handover`].
pub fn handover_payload(order_id: Uuid, code: &str) -> String {
    format!("songda:handover:{order_id}:{code}")
}

pub fn parse_handover(s: &str) -> Option<(Uuid, String)> {
    let rest = s.trim().strip_prefix("songda:handover:")?;
    let (id, code) = rest.split_once(':')?;
    let code = parse_code(code).ok()?;
    Some((Uuid::parse_str(id).ok()?, code))
}

/// A 6-digit hand-over or pickup code as typed (spaces allowed).
pub fn parse_code(input: &str) -> Result<String, AppError> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(AppError::validation("code", "Enter the 6-digit code."))
    }
}

/// How long the store says it needs: 1–240 minutes.
pub fn parse_prep_minutes(n: i32) -> Result<i32, AppError> {
    if (1..=240).contains(&n) {
        Ok(n)
    } else {
        Err(AppError::validation(
            "prep_min",
            "Enter a preparation time between 1 and 240 minutes.",
        ))
    }
}

/// Why the store rejects an order or declines a cancel request: required, the customer reads it.
pub fn parse_reason(input: &str) -> Result<String, AppError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(AppError::validation(
            "reason",
            "Give a reason: the customer will see it.",
        ));
    }
    if s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(AppError::validation(
            "reason",
            "Keep the reason to one line under 200 characters.",
        ));
    }
    Ok(s.to_string())
}

/// "李*" for "李娜": enough to match a bag to a person, not to identify them.
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(first) => format!("{first}*"),
        None => "*".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_land_in_one_column_and_cancel_requests_need_attention() {
        use OrderStatus as S;
        assert_eq!(BoardColumn::of(S::Placed, false), Some(BoardColumn::New));
        assert_eq!(
            BoardColumn::of(S::Picking, false),
            Some(BoardColumn::Preparing)
        );
        assert_eq!(
            BoardColumn::of(S::Picking, true),
            Some(BoardColumn::Exceptions)
        );
        assert_eq!(
            BoardColumn::of(S::Collected, false),
            Some(BoardColumn::HandedOver)
        );
        assert_eq!(BoardColumn::of(S::PendingPayment, false), None);
        assert_eq!(BoardColumn::of(S::Refunded, false), None);
    }

    #[test]
    fn handover_codes_round_trip_through_the_qr_payload() {
        let id = Uuid::now_v7();
        let p = handover_payload(id, "042917");
        assert_eq!(parse_handover(&p), Some((id, "042917".to_string())));
        assert_eq!(parse_handover("songda:handover:nope:042917"), None);
        assert_eq!(parse_handover(&handover_payload(id, "42")), None);
        assert_eq!(parse_code(" 042 917 ").unwrap(), "042917");
        assert!(parse_code("04291a").is_err());
    }

    #[test]
    fn inputs_are_bounded_and_names_masked() {
        assert!(parse_prep_minutes(0).is_err());
        assert_eq!(parse_prep_minutes(15).unwrap(), 15);
        assert!(parse_prep_minutes(241).is_err());
        assert!(parse_reason("  ").is_err());
        assert!(parse_reason(&"x".repeat(201)).is_err());
        assert_eq!(
            parse_reason(" 缺货 out of stock ").unwrap(),
            "缺货 out of stock"
        );
        assert_eq!(mask_name("李娜 Li Na"), "李*");
        assert_eq!(mask_name(""), "*");
    }
}
