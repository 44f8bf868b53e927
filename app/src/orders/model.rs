use chrono::{DateTime, Utc};
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

/// Delivery to an address, or store pickup (到店自取).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    Delivery,
    Pickup,
}

impl Fulfilment {
    pub fn as_str(self) -> &'static str {
        match self {
            Fulfilment::Delivery => "delivery",
            Fulfilment::Pickup => "pickup",
        }
    }

    pub fn parse(s: &str) -> Result<Fulfilment, AppError> {
        match s {
            "delivery" => Ok(Fulfilment::Delivery),
            "pickup" => Ok(Fulfilment::Pickup),
            _ => Err(AppError::validation(
                "fulfilment",
                "Choose delivery or store pickup.",
            )),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Fulfilment::Delivery => "Delivery 外送",
            Fulfilment::Pickup => "Store pickup 到店自取",
        }
    }
}

/// Where an order is in its life. Transitions are decided by [`OrderStatus::next`] only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Placed,
    Accepted,
    Picking,
    Ready,
    PickedUp,
    Delivering,
    Delivered,
    Collected,
    Cancelled,
    Rejected,
    Refunded,
    DeliveryFailed,
}

/// What happens to an order; [`OrderStatus::next`] says where each leads and who may do it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    PaymentSucceeded,
    PaymentExpired,
    CustomerCancel,
    Accept,
    Reject,
    StartPicking,
    MarkReady,
    CourierPickup,
    StartDelivering,
    Deliver,
    FailDelivery,
    Collect,
    ApproveCancel,
    RefundCompleted,
}

/// Who did something to an order (kept on every `order_events` row).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Customer,
    Merchant,
    Courier,
    Ops,
    System,
    Provider,
    Channel,
}

impl ActorKind {
    pub const ALL: [ActorKind; 7] = [
        ActorKind::Customer,
        ActorKind::Merchant,
        ActorKind::Courier,
        ActorKind::Ops,
        ActorKind::System,
        ActorKind::Provider,
        ActorKind::Channel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Customer => "customer",
            ActorKind::Merchant => "merchant",
            ActorKind::Courier => "courier",
            ActorKind::Ops => "ops",
            ActorKind::System => "system",
            ActorKind::Provider => "provider",
            ActorKind::Channel => "channel",
        }
    }
}

impl OrderAction {
    pub const ALL: [OrderAction; 14] = [
        OrderAction::PaymentSucceeded,
        OrderAction::PaymentExpired,
        OrderAction::CustomerCancel,
        OrderAction::Accept,
        OrderAction::Reject,
        OrderAction::StartPicking,
        OrderAction::MarkReady,
        OrderAction::CourierPickup,
        OrderAction::StartDelivering,
        OrderAction::Deliver,
        OrderAction::FailDelivery,
        OrderAction::Collect,
        OrderAction::ApproveCancel,
        OrderAction::RefundCompleted,
    ];

    /// Who may trigger this action.
    pub fn allowed(self, actor: ActorKind) -> bool {
        use ActorKind as A;
        use OrderAction as X;
        match self {
            X::PaymentSucceeded => matches!(actor, A::Provider | A::System),
            X::PaymentExpired | X::RefundCompleted => matches!(actor, A::System | A::Provider),
            X::CustomerCancel => matches!(actor, A::Customer | A::Channel),
            X::Accept | X::StartPicking | X::MarkReady | X::Collect => actor == A::Merchant,
            X::Reject => matches!(actor, A::Merchant | A::System),
            X::CourierPickup | X::StartDelivering | X::Deliver | X::FailDelivery => {
                actor == A::Courier
            }
            X::ApproveCancel => matches!(actor, A::Merchant | A::Ops),
        }
    }

    fn verb(self) -> &'static str {
        match self {
            OrderAction::PaymentSucceeded => "paid",
            OrderAction::PaymentExpired => "expired",
            OrderAction::CustomerCancel | OrderAction::ApproveCancel => "cancelled",
            OrderAction::Accept => "accepted",
            OrderAction::Reject => "rejected",
            OrderAction::StartPicking => "picked",
            OrderAction::MarkReady => "marked ready",
            OrderAction::CourierPickup => "picked up",
            OrderAction::StartDelivering => "sent out",
            OrderAction::Deliver => "delivered",
            OrderAction::FailDelivery => "marked as failed",
            OrderAction::Collect => "collected",
            OrderAction::RefundCompleted => "refunded",
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 13] = [
        OrderStatus::PendingPayment,
        OrderStatus::Placed,
        OrderStatus::Accepted,
        OrderStatus::Picking,
        OrderStatus::Ready,
        OrderStatus::PickedUp,
        OrderStatus::Delivering,
        OrderStatus::Delivered,
        OrderStatus::Collected,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Refunded,
        OrderStatus::DeliveryFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Placed => "placed",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Picking => "picking",
            OrderStatus::Ready => "ready",
            OrderStatus::PickedUp => "picked_up",
            OrderStatus::Delivering => "delivering",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Collected => "collected",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Refunded => "refunded",
            OrderStatus::DeliveryFailed => "delivery_failed",
        }
    }

    /// Statuses come from our own database; an unknown one is a bug, reported as such.
    pub fn parse(s: &str) -> Result<OrderStatus, AppError> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| AppError::request(format!("unknown order status {s}")))
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "Waiting for payment 待支付",
            OrderStatus::Placed => "Paid, waiting for the store 已支付",
            OrderStatus::Accepted => "Accepted 已接单",
            OrderStatus::Picking => "Picking 正在配货",
            OrderStatus::Ready => "Ready 待取货",
            OrderStatus::PickedUp => "Picked up 已发货",
            OrderStatus::Delivering => "Delivering 派送中",
            OrderStatus::Delivered => "Delivered 已完成",
            OrderStatus::Collected => "Collected 已取货",
            OrderStatus::Cancelled => "Cancelled 已取消",
            OrderStatus::Rejected => "Rejected by the store 商家拒单",
            OrderStatus::Refunded => "Refunded 已退款",
            OrderStatus::DeliveryFailed => "Delivery failed 配送失败",
        }
    }

    /// No action moves the order on from here.
    pub fn is_final(self) -> bool {
        OrderAction::ALL.into_iter().all(|a| {
            ActorKind::ALL.into_iter().all(|actor| {
                self.next(a, actor, Fulfilment::Delivery).is_err()
                    && self.next(a, actor, Fulfilment::Pickup).is_err()
            })
        })
    }

    /// The one place that decides whether `action` by `actor` may happen now, and what follows.
    pub fn next(
        self,
        action: OrderAction,
        actor: ActorKind,
        fulfilment: Fulfilment,
    ) -> Result<OrderStatus, AppError> {
        use Fulfilment::{Delivery, Pickup};
        use OrderAction as X;
        use OrderStatus as S;
        if !action.allowed(actor) {
            return Err(AppError::Forbidden);
        }
        let to = match (self, action, fulfilment) {
            (S::PendingPayment, X::PaymentSucceeded, _) => S::Placed,
            (S::PendingPayment, X::PaymentExpired, _) => S::Cancelled,
            (S::PendingPayment | S::Placed, X::CustomerCancel, _) => S::Cancelled,
            (S::Placed, X::Accept, _) => S::Accepted,
            (S::Placed, X::Reject, _) => S::Rejected,
            (S::Accepted, X::StartPicking, _) => S::Picking,
            (S::Accepted | S::Picking, X::MarkReady, _) => S::Ready,
            (S::Accepted | S::Picking | S::Ready, X::ApproveCancel, _) => S::Cancelled,
            (S::Ready, X::CourierPickup, Delivery) => S::PickedUp,
            (S::PickedUp, X::StartDelivering, Delivery) => S::Delivering,
            (S::PickedUp | S::Delivering, X::Deliver, Delivery) => S::Delivered,
            (S::PickedUp | S::Delivering, X::FailDelivery, Delivery) => S::DeliveryFailed,
            (S::Ready, X::Collect, Pickup) => S::Collected,
            (S::Cancelled | S::Rejected | S::DeliveryFailed, X::RefundCompleted, _) => S::Refunded,
            _ => {
                return Err(AppError::conflict(format!(
                    "This order is {} now, so it cannot be {}.",
                    self.label(),
                    action.verb()
                )));
            }
        };
        Ok(to)
    }
}

/// One line of a quote or an order, at the price the customer was shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub product_id: Uuid,
    pub name: String,
    pub unit: String,
    pub unit_price: Money,
    pub quantity: i32,
}

impl PricedLine {
    pub fn total(&self) -> Money {
        Money::from_fen(self.unit_price.fen() * i64::from(self.quantity))
    }
}

/// What an order costs, every part computed by the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub items: Money,
    pub packaging: Money,
    pub delivery_fee: Money,
    /// Added while operations mark bad weather or heavy traffic in the destination's zone.
    pub surcharge: Money,
    pub discount: Money,
    pub tip: Money,
    pub total: Money,
}

/// A priced offer for the customer's cart, valid until `expires_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuoteView {
    pub id: Uuid,
    pub store_id: Uuid,
    pub store_name: String,
    /// Set when another branch of the chain than the cart's store fulfils the order, and why.
    pub store_choice: Option<String>,
    pub fulfilment: Fulfilment,
    /// The address delivered to (the customer's latest one unless they chose another).
    pub address_id: Option<Uuid>,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    /// Why there is a surcharge ("Rain 下雨 in 静安"), when there is one.
    pub surcharge_reason: Option<String>,
    /// The spend-and-save rule that gave (or would give) a discount.
    pub discount_rule: Option<String>,
    pub distance_m: Option<i32>,
    pub eta_min: i32,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// A 30-minute delivery or pickup slot in the store's time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    /// "今天 Today 18:30–19:00" in the store's time zone.
    pub label: String,
    pub full: bool,
}

/// Tips are optional and bounded (¥0–¥50).
pub fn parse_tip(fen: i64) -> Result<Money, AppError> {
    if (0..=5_000).contains(&fen) {
        Ok(Money::from_fen(fen))
    } else {
        Err(AppError::validation("tip", "A tip is between ¥0 and ¥50."))
    }
}

/// Order notes for the store and courier: optional, short, printable.
pub fn parse_notes(input: &str) -> Result<String, AppError> {
    let s = input.trim();
    if s.chars().count() > 200 || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::validation(
            "notes",
            "Keep notes under 200 characters.",
        ));
    }
    Ok(s.to_string())
}

/// One state change of an order, as its timeline shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub status: OrderStatus,
    pub at: DateTime<Utc>,
    /// The time in the store's time zone, e.g. "18:42".
    pub at_local: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentState {
    pub status: String,
    pub failure: Option<String>,
}

/// An order as its customer sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
    pub store_id: Uuid,
    pub store_name: String,
    pub fulfilment: Fulfilment,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub contact_name: String,
    pub contact_phone_masked: String,
    pub address_detail: Option<String>,
    pub notes: String,
    pub scheduled_for_local: Option<String>,
    /// "about 18:55" while the order is on its way; none before payment or after the end.
    pub eta_local: Option<String>,
    /// Shown only for store pickup, once paid.
    pub pickup_code: Option<String>,
    /// Proof of delivery: the customer reads it to the courier at the door.
    pub delivery_pin: Option<String>,
    pub tracking_token: String,
    pub payment: Option<PaymentState>,
    pub payment_deadline_local: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub created_local: String,
    pub open_cancel_request: bool,
    /// Why the store declined the customer's last cancel request.
    pub cancel_declined: Option<String>,
    /// Items the store could not find, waiting for the customer's choice.
    pub missing_items: Vec<super::board::MissingItem>,
    /// Goods added after payment, waiting for their top-up payment.
    pub addition: Option<PendingAddition>,
    /// The courier's photo at the door (`/api/orders/{id}/photo`).
    #[serde(default)]
    pub delivery_photo: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingAddition {
    pub id: Uuid,
    pub name: String,
    pub quantity: i32,
    pub amount: Money,
    /// Pay before this time (store's time zone) or the goods go back on sale.
    pub deadline_local: String,
}

impl OrderView {
    pub fn can_pay(&self) -> bool {
        self.status == OrderStatus::PendingPayment
    }

    pub fn can_cancel(&self) -> bool {
        matches!(
            self.status,
            OrderStatus::PendingPayment | OrderStatus::Placed
        )
    }

    /// After the store accepted, cancelling is a request the store answers.
    pub fn can_request_cancel(&self) -> bool {
        !self.open_cancel_request
            && matches!(
                self.status,
                OrderStatus::Accepted | OrderStatus::Picking | OrderStatus::Ready
            )
    }

    /// Paid and not accepted yet: lines may be lowered (the difference is refunded).
    pub fn can_change_items(&self) -> bool {
        self.status == OrderStatus::Placed
    }

    /// The contact, address and notes may change until a courier has the order.
    pub fn can_edit_contact(&self) -> bool {
        matches!(
            self.status,
            OrderStatus::PendingPayment
                | OrderStatus::Placed
                | OrderStatus::Accepted
                | OrderStatus::Picking
                | OrderStatus::Ready
        )
    }
}

/// A row of the order history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
    pub store_name: String,
    pub items: i64,
    pub total: Money,
    pub created_local: String,
}

/// What someone with the tracking link sees: no phone, no exact address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackingView {
    pub number: String,
    pub status: OrderStatus,
    pub store_name: String,
    pub fulfilment: Fulfilment,
    pub items: i64,
    pub eta_local: Option<String>,
    pub timeline: Vec<TimelineEntry>,
}

/// What checkout answers: the order to pay for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlacedOrder {
    pub order_id: Uuid,
    pub number: String,
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

    /// The transitions written out once more, by hand: every (status, action, fulfilment) not
    /// listed here must be refused, and every listed one must lead exactly where it says.
    const ALLOWED: &[(OrderStatus, OrderAction, Option<Fulfilment>, OrderStatus)] = {
        use Fulfilment::{Delivery, Pickup};
        use OrderAction as X;
        use OrderStatus as S;
        &[
            (S::PendingPayment, X::PaymentSucceeded, None, S::Placed),
            (S::PendingPayment, X::PaymentExpired, None, S::Cancelled),
            (S::PendingPayment, X::CustomerCancel, None, S::Cancelled),
            (S::Placed, X::CustomerCancel, None, S::Cancelled),
            (S::Placed, X::Accept, None, S::Accepted),
            (S::Placed, X::Reject, None, S::Rejected),
            (S::Accepted, X::StartPicking, None, S::Picking),
            (S::Accepted, X::MarkReady, None, S::Ready),
            (S::Picking, X::MarkReady, None, S::Ready),
            (S::Accepted, X::ApproveCancel, None, S::Cancelled),
            (S::Picking, X::ApproveCancel, None, S::Cancelled),
            (S::Ready, X::ApproveCancel, None, S::Cancelled),
            (S::Ready, X::CourierPickup, Some(Delivery), S::PickedUp),
            (
                S::PickedUp,
                X::StartDelivering,
                Some(Delivery),
                S::Delivering,
            ),
            (S::PickedUp, X::Deliver, Some(Delivery), S::Delivered),
            (S::Delivering, X::Deliver, Some(Delivery), S::Delivered),
            (
                S::PickedUp,
                X::FailDelivery,
                Some(Delivery),
                S::DeliveryFailed,
            ),
            (
                S::Delivering,
                X::FailDelivery,
                Some(Delivery),
                S::DeliveryFailed,
            ),
            (S::Ready, X::Collect, Some(Pickup), S::Collected),
            (S::Cancelled, X::RefundCompleted, None, S::Refunded),
            (S::Rejected, X::RefundCompleted, None, S::Refunded),
            (S::DeliveryFailed, X::RefundCompleted, None, S::Refunded),
        ]
    };

    #[test]
    fn every_transition_is_exactly_the_table() {
        let mut checked = 0;
        for from in OrderStatus::ALL {
            for action in OrderAction::ALL {
                for actor in ActorKind::ALL {
                    for f in [Fulfilment::Delivery, Fulfilment::Pickup] {
                        let expected = ALLOWED
                            .iter()
                            .find(|(s, a, ff, _)| {
                                *s == from && *a == action && ff.is_none_or(|x| x == f)
                            })
                            .map(|(_, _, _, to)| *to);
                        let got = from.next(action, actor, f);
                        match (action.allowed(actor), expected) {
                            (false, _) => assert_eq!(got, Err(AppError::Forbidden)),
                            (true, Some(to)) => assert_eq!(got, Ok(to), "{from:?} {action:?}"),
                            (true, None) => assert!(
                                matches!(got, Err(AppError::Conflict { .. })),
                                "{from:?} {action:?} {actor:?} {f:?} gave {got:?}"
                            ),
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 13 * 14 * 7 * 2);
    }

    #[test]
    fn only_the_right_people_trigger_each_action() {
        use ActorKind as A;
        let customers: Vec<_> = OrderAction::ALL
            .into_iter()
            .filter(|a| a.allowed(A::Customer))
            .collect();
        assert_eq!(customers, [OrderAction::CustomerCancel]);
        assert!(!OrderAction::PaymentSucceeded.allowed(A::Customer));
        assert!(!OrderAction::Deliver.allowed(A::Merchant));
        assert!(OrderAction::Deliver.allowed(A::Courier));
        assert!(OrderAction::Reject.allowed(A::System), "auto-reject");
    }

    #[test]
    fn final_states_are_final_and_round_trip_as_text() {
        use OrderStatus as S;
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Ok(s));
        }
        let finals: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [S::Delivered, S::Collected, S::Refunded]);
        assert!(OrderStatus::parse("shipped").is_err());
    }

    #[test]
    fn tips_and_notes_are_bounded() {
        assert_eq!(parse_tip(500).unwrap().fen(), 500);
        assert!(parse_tip(-1).is_err());
        assert!(parse_tip(5_001).is_err());
        assert_eq!(parse_notes("  ring twice ").unwrap(), "ring twice");
        assert!(parse_notes(&"x".repeat(201)).is_err());
        assert_eq!(Fulfilment::parse("pickup"), Ok(Fulfilment::Pickup));
        assert!(Fulfilment::parse("drone").is_err());
    }
}
