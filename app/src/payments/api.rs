//! Public endpoints for paying. Each authorizes on its first line.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::SandboxPaymentView;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::{accounts::auth, accounts::model::Role, context};

/// Starts a payment for one of the caller's unpaid orders; returns the provider's page.
#[server(endpoint = "start_payment")]
pub async fn start_payment(order_id: Uuid) -> Result<String, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    super::service::start_payment(&state.pool, &state.payments, user.id, order_id).await
}

/// The sandbox provider's page data. Only the payer (the order's customer) may see it.
#[server(endpoint = "sandbox_payment")]
pub async fn sandbox_payment(id: Uuid) -> Result<SandboxPaymentView, AppError> {
    let user = auth::require_role(Role::Customer).await?;
    let state = context::state()?;
    if state.payments.sandbox.is_none() {
        return Err(AppError::NotFound);
    }
    let row = sqlx::query!(
        r#"select sp.id, sp.amount_fen, sp.status, o.id as order_id, o.number, s.name as store_name
           from sandbox_payments sp
           join payments p on p.id = sp.merchant_ref
           join orders o on o.id = p.order_id
           join stores s on s.id = o.store_id
           where sp.id = $1 and o.customer_id = $2"#,
        id,
        user.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(SandboxPaymentView {
        id: row.id,
        order_id: row.order_id,
        order_number: row.number,
        store_name: row.store_name,
        amount: crate::money::Money::from_fen(row.amount_fen),
        status: row.status,
    })
}

/// The payer's choice on the sandbox page; the sandbox then notifies us like a real provider.
/// Returns the order page to go back to.
#[server(endpoint = "sandbox_decide")]
pub async fn sandbox_decide(id: Uuid, succeed: bool) -> Result<String, AppError> {
    let view = sandbox_payment(id).await?;
    let state = context::state()?;
    let sandbox = state.payments.sandbox.as_ref().ok_or(AppError::NotFound)?;
    sandbox.decide(view.id, succeed).await?;
    Ok(format!("/orders/{}", view.order_id))
}
