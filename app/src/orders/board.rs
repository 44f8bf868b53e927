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

    /// Where an order in `status` sits (cancel requests and missing items waiting for the
    /// customer go to exceptions whatever the status).
    pub fn of(status: OrderStatus, needs_attention: bool) -> Option<BoardColumn> {
        use OrderStatus as S;
        if needs_attention && !status.is_final() {
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
    /// The courier dispatch gave the order to and their planned arrival ("王伟 · ~19:05"),
    /// until they take it.
    pub courier_arrival: Option<String>,
    pub picked_lines: i64,
    pub lines: i64,
    pub cancel_reason: Option<String>,
    /// Items reported missing, waiting for the customer's choice.
    pub missing_open: i64,
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
    /// Reported missing and waiting for the customer's answer.
    pub missing_open: bool,
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
    /// As on the board: the courier coming for it and when.
    pub courier_arrival: Option<String>,
    pub cancel_reason: Option<String>,
    /// A failed delivery's goods on their way back: who brings them and why they came back.
    pub awaiting_return: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub missing: Vec<MissingItem>,
    pub substitutes: Vec<SubstituteOption>,
}

impl MerchantOrder {
    pub fn waits_for_answer(&self) -> bool {
        self.missing.iter().any(|m| m.status == "open")
    }

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

/// A product the store can offer instead of a missing one (same category, in stock).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubstituteOption {
    pub product_id: Uuid,
    pub category: String,
    pub name: String,
    pub unit: String,
    pub price: Money,
    pub available: i32,
}

/// An item found missing while picking, and what happens to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MissingItem {
    pub id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    pub missing_qty: i32,
    /// "Brand B ibuprofen 24 tabs (¥19.80)" when the store offers one.
    pub substitute: Option<String>,
    /// open, substituted or refunded.
    pub status: String,
    /// Answer before this time (store's time zone), or the store's default applies.
    pub deadline_local: String,
    /// What happens without an answer: "refund" or "substitute".
    pub default_choice: String,
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

/// How long one stage took on average today (from `order_events`), over `orders` orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub avg_min: Option<f64>,
    pub orders: i64,
}

/// The store's day so far, in its own time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreToday {
    pub store_id: Uuid,
    pub store_name: String,
    pub date_local: String,
    /// Paid today.
    pub orders: i64,
    /// Paid today and not cancelled, rejected or refunded.
    pub revenue: Money,
    pub refunded: Money,
    pub open_now: i64,
    pub stages: Vec<StageTime>,
    /// Orders past their promised time (still open, or finished late).
    pub late: i64,
    pub late_numbers: Vec<String>,
}

/// A row of the store's order list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreOrderRow {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
    pub fulfilment: Fulfilment,
    pub items: i64,
    pub total: Money,
    pub created_local: String,
    pub phone_masked: String,
}

/// Filters of the store's order list; every part optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    /// Part of the order number ("0042").
    pub number: String,
    /// The last 4 digits of the customer's phone.
    pub phone_last4: String,
}

impl OrderFilter {
    pub fn parse(
        status: &str,
        from: &str,
        to: &str,
        number: &str,
        phone_last4: &str,
    ) -> Result<OrderFilter, AppError> {
        let date = |field: &str, s: &str| -> Result<Option<chrono::NaiveDate>, AppError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| AppError::validation(field, "Enter a date as YYYY-MM-DD."))
        };
        let status =
            match status.trim() {
                "" => None,
                s => Some(OrderStatus::parse(s).map_err(|_| {
                    AppError::validation("status", "Choose a status from the list.")
                })?),
            };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(AppError::validation(
                "to",
                "The end date is before the start date.",
            ));
        }
        let number = number.trim().to_uppercase();
        if number.len() > 20
            || !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(AppError::validation(
                "number",
                "Enter part of an order number, e.g. 0042.",
            ));
        }
        let phone_last4 = phone_last4.trim().to_string();
        if !(phone_last4.is_empty()
            || (phone_last4.len() == 4 && phone_last4.chars().all(|c| c.is_ascii_digit())))
        {
            return Err(AppError::validation(
                "phone",
                "Enter the last 4 digits of the phone number.",
            ));
        }
        Ok(OrderFilter {
            status,
            from,
            to,
            number,
            phone_last4,
        })
    }

    /// The filter as a query string (for pager links and the CSV export).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if let Some(d) = self.from {
            parts.push(format!("from={d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("to={d}"));
        }
        if !self.number.is_empty() {
            parts.push(format!("number={}", self.number));
        }
        if !self.phone_last4.is_empty() {
            parts.push(format!("phone={}", self.phone_last4));
        }
        parts.join("&")
    }
}

/// One CSV field, quoted when it must be; a leading `=+-@` is neutralized so a spreadsheet
/// never runs it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
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
    fn order_filters_parse_and_round_trip() {
        let f =
            OrderFilter::parse("ready", "2026-11-01", "2026-11-23", " sd-2026 ", "5678").unwrap();
        assert_eq!(f.status, Some(OrderStatus::Ready));
        assert_eq!(f.number, "SD-2026");
        assert_eq!(
            f.to_query(),
            "status=ready&from=2026-11-01&to=2026-11-23&number=SD-2026&phone=5678"
        );
        assert_eq!(
            OrderFilter::parse("", "", "", "", "").unwrap(),
            OrderFilter::default()
        );
        assert!(OrderFilter::parse("shipped", "", "", "", "").is_err());
        assert!(OrderFilter::parse("", "2026-13-01", "", "", "").is_err());
        assert!(OrderFilter::parse("", "2026-11-23", "2026-11-01", "", "").is_err());
        assert!(OrderFilter::parse("", "", "", "'; drop", "").is_err());
        assert!(OrderFilter::parse("", "", "", "", "56789").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
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
