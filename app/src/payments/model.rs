use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::Money;

/// The sandbox provider's payment page, as the payer sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SandboxPaymentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    pub store_name: String,
    pub amount: Money,
    /// open, succeeded or failed
    pub status: String,
}
