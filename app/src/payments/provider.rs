//! The boundary every payment provider implements. Real providers (WeChat Pay, Alipay) create
//! a payment and send the payer to their page, confirm asynchronously by calling our
//! notification endpoint with a signed body (possibly twice, possibly before the payer is back),
//! answer queries, and refund.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::money::Money;

pub type ProviderFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("payment provider unreachable: {0}")]
    Unreachable(String),
    #[error("payment provider refused: {0}")]
    Refused(String),
}

/// Why a notification was not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("missing or malformed signature")]
    MissingSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("signed too long ago (or in the future)")]
    Stale,
    #[error("body not understood: {0}")]
    Malformed(String),
}

pub struct PaymentRequest {
    /// Our payment id: the provider echoes it in notifications.
    pub payment_id: Uuid,
    pub order_number: String,
    pub amount: Money,
    pub description: String,
    /// Where the provider sends its signed notifications.
    pub notify_url: String,
}

pub struct CreatedPayment {
    /// The provider's own id for this payment.
    pub provider_ref: String,
    /// Where to send the payer.
    pub pay_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderOutcome {
    Pending,
    Succeeded,
    Failed(String),
}

/// A verified notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub payment_id: Uuid,
    pub provider_ref: String,
    pub amount: Money,
    pub outcome: ProviderOutcome,
}

pub struct RefundRequest {
    pub refund_id: Uuid,
    pub provider_ref: String,
    pub amount: Money,
    pub reason: String,
}

pub trait PaymentProvider: Send + Sync {
    /// The name in URLs and in `payments.provider`.
    fn name(&self) -> &'static str;

    fn create_payment<'a>(&'a self, req: PaymentRequest) -> ProviderFuture<'a, CreatedPayment>;

    /// Checks the signature and freshness of a notification and reads it. Pure: no I/O.
    fn verify_notification(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Notification, NotificationError>;

    /// Asks the provider where a payment stands (used before expiring an unpaid order).
    fn query<'a>(&'a self, provider_ref: &'a str) -> ProviderFuture<'a, ProviderOutcome>;

    /// Closes a payment that is still open so it can no longer be paid (before an unpaid
    /// order expires), and reports where it ended: a payer who just paid gives `Succeeded`.
    fn close<'a>(&'a self, provider_ref: &'a str) -> ProviderFuture<'a, ProviderOutcome>;

    /// Refunds (part of) a successful payment; returns the provider's refund id. Repeating a
    /// request with the same `refund_id` refunds once and returns the same id.
    fn refund<'a>(&'a self, req: RefundRequest) -> ProviderFuture<'a, String>;
}
