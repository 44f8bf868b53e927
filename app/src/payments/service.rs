//! Payment rules: starting a payment, applying a provider's verdict exactly once, refunds
//! through the outbox, and expiring orders nobody paid for.

use std::sync::Arc;

use chrono::Utc;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::provider::{
    Notification, NotificationError, PaymentProvider, PaymentRequest, ProviderOutcome,
    RefundRequest,
};
use super::sandbox::SandboxProvider;
use crate::error::AppError;
use crate::money::Money;
use crate::orders::lifecycle;
use crate::orders::model::{ActorKind, OrderAction, OrderStatus};

/// The configured providers and where they should send notifications.
pub struct Payments {
    /// The sandbox, when enabled (`SONGDA_PAYMENT_SANDBOX`; off by default on https).
    pub sandbox: Option<Arc<SandboxProvider>>,
    /// Base URL providers reach this server at, e.g. `http://127.0.0.1:8710`.
    pub notify_base: String,
}

impl Payments {
    pub fn new(pool: PgPool, sandbox_secret: Option<Vec<u8>>, notify_base: String) -> Self {
        Payments {
            sandbox: sandbox_secret.map(|s| Arc::new(SandboxProvider::new(pool, s))),
            notify_base,
        }
    }

    /// The provider new payments use.
    pub fn default_provider(&self) -> Option<&dyn PaymentProvider> {
        self.sandbox.as_deref().map(|s| s as &dyn PaymentProvider)
    }

    pub fn provider(&self, name: &str) -> Option<&dyn PaymentProvider> {
        self.default_provider().filter(|p| p.name() == name)
    }
}

/// Starts (another) payment attempt for an unpaid order and returns where to send the payer.
pub async fn start_payment(
    pool: &PgPool,
    payments: &Payments,
    customer_id: Uuid,
    order_id: Uuid,
) -> Result<String, AppError> {
    let mut tx = pool.begin().await?;
    let order = lifecycle::lock_own_order(&mut tx, order_id, customer_id).await?;
    if order.status != OrderStatus::PendingPayment {
        return Err(AppError::conflict(format!(
            "This order is {} now: there is nothing to pay.",
            order.status.label()
        )));
    }
    if order.expired {
        return Err(AppError::conflict(
            "The time to pay for this order ran out and its items went back on sale. Order again from your cart.",
        ));
    }
    open_payment(pool, payments, tx, order.id, None, order.total).await
}

/// Starts the top-up payment for goods added to a paid order.
pub async fn start_addition_payment(
    pool: &PgPool,
    payments: &Payments,
    customer_id: Uuid,
    addition_id: Uuid,
) -> Result<String, AppError> {
    let a = sqlx::query!(
        r#"select a.order_id, a.amount_fen, a.status, a.expires_at < now() as "expired!"
           from order_additions a join orders o on o.id = a.order_id
           where a.id = $1 and o.customer_id = $2"#,
        addition_id,
        customer_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    if a.status != "awaiting_payment" || a.expired {
        return Err(AppError::conflict(
            "These added goods are no longer waiting for payment: add them again if you still want them.",
        ));
    }
    let tx = pool.begin().await?;
    open_payment(
        pool,
        payments,
        tx,
        a.order_id,
        Some(addition_id),
        Money::from_fen(a.amount_fen),
    )
    .await
}

/// Records a payment attempt (in the caller's transaction, which holds the order lock),
/// then asks the provider for it and returns where to send the payer.
async fn open_payment(
    pool: &PgPool,
    payments: &Payments,
    mut tx: Transaction<'_, Postgres>,
    order_id: Uuid,
    addition_id: Option<Uuid>,
    amount: Money,
) -> Result<String, AppError> {
    let provider = payments.default_provider().ok_or_else(|| {
        AppError::conflict(
            "Online payment is not set up on this Songda yet. Please contact the store.",
        )
    })?;
    let payment_id = Uuid::now_v7();
    let number = sqlx::query_scalar!(
        "insert into payments (id, order_id, addition_id, provider, amount_fen) values ($1, $2, $3, $4, $5)
         returning (select number from orders where id = $2)",
        payment_id,
        order_id,
        addition_id,
        provider.name(),
        amount.fen()
    )
    .fetch_one(&mut *tx)
    .await?
    .unwrap_or_default();
    tx.commit().await?;
    let created = provider
        .create_payment(PaymentRequest {
            payment_id,
            order_number: number.clone(),
            amount,
            description: match addition_id {
                Some(_) => format!("Songda order {number}: added goods"),
                None => format!("Songda order {number}"),
            },
            notify_url: format!(
                "{}/api/v1/payments/{}/notify",
                payments.notify_base,
                provider.name()
            ),
        })
        .await
        .map_err(|e| {
            tracing::error!("creating a payment failed: {e}");
            AppError::conflict("The payment service did not answer. Try again in a moment.")
        })?;
    sqlx::query!(
        "update payments set provider_ref = $2, updated_at = now() where id = $1",
        payment_id,
        created.provider_ref
    )
    .execute(pool)
    .await?;
    Ok(created.pay_url)
}

/// How a notification was taken.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyOutcome {
    Applied,
    /// Seen before: nothing changed (providers resend until they get a 2xx).
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyRejection {
    #[error("unknown provider")]
    UnknownProvider,
    #[error("{0}")]
    Unverified(NotificationError),
    #[error("does not match our payment")]
    Mismatch,
    #[error("internal error")]
    Internal(#[from] AppError),
}

/// The notification endpoint's work: verify, keep the raw body for audit, apply once.
pub async fn receive_notification(
    pool: &PgPool,
    payments: &Payments,
    provider_name: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<NotifyOutcome, NotifyRejection> {
    let provider = payments
        .provider(provider_name)
        .ok_or(NotifyRejection::UnknownProvider)?;
    let signature = headers
        .get(super::sandbox::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let raw = String::from_utf8_lossy(body)
        .chars()
        .take(8_000)
        .collect::<String>();
    let verified = provider.verify_notification(headers, body, Utc::now());
    let notification = match verified {
        Ok(n) => n,
        // Not stored: anyone can POST here, and unsigned bodies must not fill the database.
        Err(e) => {
            tracing::warn!(
                provider = provider_name,
                "refused a payment notification: {e}"
            );
            return Err(NotifyRejection::Unverified(e));
        }
    };
    let outcome = apply_outcome(pool, provider_name, &notification, ActorKind::Provider).await;
    let label = match &outcome {
        Ok(NotifyOutcome::Applied) => "applied".to_string(),
        Ok(NotifyOutcome::Duplicate) => "duplicate".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    sqlx::query!(
        "insert into payment_notifications (provider, payment_id, signature, body, outcome)
         values ($1, (select id from payments where id = $2), $3, $4, $5)",
        provider_name,
        notification.payment_id,
        signature,
        raw,
        label
    )
    .execute(pool)
    .await
    .map_err(AppError::from)?;
    outcome
}

/// Applies a provider's verdict on one payment, exactly once whatever the number of
/// deliveries: the payment row is locked and only a pending payment changes.
pub async fn apply_outcome(
    pool: &PgPool,
    provider_name: &str,
    n: &Notification,
    actor: ActorKind,
) -> Result<NotifyOutcome, NotifyRejection> {
    // Locks in the same order as every other path: the order, then its payment.
    let order_id = sqlx::query_scalar!("select order_id from payments where id = $1", n.payment_id)
        .fetch_optional(pool)
        .await
        .map_err(AppError::from)?
        .ok_or(NotifyRejection::Mismatch)?;
    let mut tx = pool.begin().await.map_err(AppError::from)?;
    let mut order = lifecycle::lock_order(&mut tx, order_id)
        .await?
        .ok_or(NotifyRejection::Mismatch)?;
    let p = sqlx::query!(
        "select provider, provider_ref, amount_fen, status, addition_id from payments where id = $1 for update",
        n.payment_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(AppError::from)?;
    if p.provider != provider_name
        || p.amount_fen != n.amount.fen()
        || p.provider_ref
            .as_deref()
            .is_some_and(|r| r != n.provider_ref)
    {
        return Err(NotifyRejection::Mismatch);
    }
    // Seen before with the same verdict: nothing to do. A success for a payment we had given
    // up on is no duplicate: the money arrived and must be placed or refunded.
    let duplicate = matches!(
        (&n.outcome, p.status.as_str()),
        (ProviderOutcome::Pending, _)
            | (ProviderOutcome::Succeeded, "succeeded")
            | (ProviderOutcome::Failed(_), "failed" | "succeeded")
    );
    if duplicate {
        return Ok(NotifyOutcome::Duplicate);
    }
    match &n.outcome {
        ProviderOutcome::Succeeded => {
            sqlx::query!(
                "update payments set status = 'succeeded', provider_ref = $2, updated_at = now() where id = $1",
                n.payment_id,
                n.provider_ref
            )
            .execute(&mut *tx)
            .await
            .map_err(AppError::from)?;
            if let Some(addition) = p.addition_id {
                if !crate::orders::additions::merge_paid(&mut tx, &order, addition).await? {
                    queue_refund_of_payment(
                        &mut tx,
                        n.payment_id,
                        order.id,
                        n.amount,
                        "Added goods paid after the store accepted or the time ran out",
                    )
                    .await?;
                }
            } else if order.status == OrderStatus::PendingPayment {
                lifecycle::mark_paid(&mut tx, &mut order, actor).await?;
            } else {
                // Paid after it expired or was cancelled, or paid twice: give the money back.
                queue_refund_of_payment(
                    &mut tx,
                    n.payment_id,
                    order.id,
                    n.amount,
                    &format!("Paid while the order was {}", order.status.as_str()),
                )
                .await?;
            }
        }
        ProviderOutcome::Failed(reason) => {
            sqlx::query!(
                "update payments set status = 'failed', failure_reason = $2, updated_at = now() where id = $1",
                n.payment_id,
                reason
            )
            .execute(&mut *tx)
            .await
            .map_err(AppError::from)?;
            // No state change, but the timeline (and the live page) shows the failure.
            let what = match p.addition_id {
                Some(_) if order.status == OrderStatus::Placed => Some("Payment for added goods"),
                None if order.status == OrderStatus::PendingPayment => Some("Payment"),
                _ => None,
            };
            if let Some(what) = what {
                lifecycle::record_event(
                    &mut tx,
                    order.id,
                    Some(order.status),
                    order.status,
                    actor,
                    None,
                    &format!("{what} failed: {reason}"),
                )
                .await?;
            }
        }
        ProviderOutcome::Pending => {}
    }
    tx.commit().await.map_err(AppError::from)?;
    Ok(NotifyOutcome::Applied)
}

async fn queue_refund_of_payment(
    tx: &mut Transaction<'_, Postgres>,
    payment_id: Uuid,
    order_id: Uuid,
    amount: Money,
    reason: &str,
) -> Result<(), AppError> {
    if amount.fen() <= 0 {
        return Ok(());
    }
    let refund_id = Uuid::now_v7();
    sqlx::query!(
        "insert into refunds (id, payment_id, order_id, amount_fen, reason) values ($1, $2, $3, $4, $5)",
        refund_id,
        payment_id,
        order_id,
        amount.fen(),
        reason
    )
    .execute(&mut **tx)
    .await?;
    lifecycle::enqueue(
        tx,
        "payment.refund",
        serde_json::json!({ "refund_id": refund_id }),
    )
    .await
}

/// Queues a refund of `amount` from the order's successful payments, oldest first, each up to
/// what is left of it (an order paid in parts: the order and a top-up).
pub async fn queue_partial_refund(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    amount: Money,
    reason: &str,
) -> Result<(), AppError> {
    let paid = sqlx::query!(
        r#"select p.id, p.amount_fen - coalesce((select sum(r.amount_fen) from refunds r
                                                  where r.payment_id = p.id and r.status <> 'failed'), 0)::bigint as "left!"
           from payments p where p.order_id = $1 and p.status = 'succeeded'
           order by p.created_at"#,
        order_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let available: i64 = paid.iter().map(|p| p.left.max(0)).sum();
    if available < amount.fen() {
        return Err(AppError::internal(format!(
            "payments of order {order_id} cover {available} fen, not a refund of {amount}"
        )));
    }
    let mut due = amount.fen();
    for p in paid {
        if due == 0 {
            break;
        }
        let part = due.min(p.left.max(0));
        if part > 0 {
            queue_refund_of_payment(tx, p.id, order_id, Money::from_fen(part), reason).await?;
            due -= part;
        }
    }
    Ok(())
}

/// Queues a full refund of what was paid for the order (and not refunded yet).
pub async fn queue_refund(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    let paid = sqlx::query!(
        r#"select p.id, p.amount_fen - coalesce((select sum(r.amount_fen) from refunds r
                                                  where r.payment_id = p.id and r.status <> 'failed'), 0)::bigint as "left!"
           from payments p where p.order_id = $1 and p.status = 'succeeded'"#,
        order_id
    )
    .fetch_all(&mut **tx)
    .await?;
    for p in paid {
        queue_refund_of_payment(tx, p.id, order_id, Money::from_fen(p.left), reason).await?;
    }
    Ok(())
}

/// Runs one refund with its provider; when every refund of a cancelled order is through,
/// the order becomes `refunded`.
async fn run_refund(pool: &PgPool, payments: &Payments, refund_id: Uuid) -> Result<(), String> {
    let r = sqlx::query!(
        r#"select r.order_id, r.amount_fen, r.reason, r.status, p.provider, p.provider_ref
           from refunds r join payments p on p.id = r.payment_id where r.id = $1"#,
        refund_id
    )
    .fetch_optional(pool)
    .await
    .map_err(|e| e.to_string())?
    .ok_or("refund not found")?;
    if r.status != "pending" {
        return Ok(());
    }
    let provider = payments
        .provider(&r.provider)
        .ok_or_else(|| format!("provider {} is not configured", r.provider))?;
    let provider_ref = r.provider_ref.ok_or("payment has no provider reference")?;
    let refund_ref = provider
        .refund(RefundRequest {
            refund_id,
            provider_ref,
            amount: Money::from_fen(r.amount_fen),
            reason: r.reason,
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    // The order first (as everywhere), so two refunds finishing together see each other.
    let order = lifecycle::lock_order(&mut tx, r.order_id)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query!(
        "update refunds set status = 'succeeded', provider_ref = $2, updated_at = now()
         where id = $1 and status = 'pending'",
        refund_id,
        refund_ref
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    let pending = sqlx::query_scalar!(
        r#"select count(*) as "n!" from refunds where order_id = $1 and status = 'pending'"#,
        r.order_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    if pending == 0
        && let Some(mut order) = order
        && order
            .status
            .next(
                OrderAction::RefundCompleted,
                ActorKind::System,
                order.fulfilment,
            )
            .is_ok()
    {
        let reason = format!("Refunded {}", Money::from_fen(r.amount_fen));
        lifecycle::transition(
            &mut tx,
            &mut order,
            OrderAction::RefundCompleted,
            ActorKind::System,
            None,
            &reason,
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

/// Delivers due outbox rows: refunds go to their provider; the other topics are for channel
/// webhooks, which have no subscribers yet, so they are marked delivered. Failed deliveries
/// are retried with exponential backoff. Returns how many rows were handled.
pub async fn deliver_outbox(pool: &PgPool, payments: &Payments) -> Result<usize, AppError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        "select id, topic, payload, attempts from outbox
         where delivered_at is null and available_at <= now()
         order by id limit 20 for update skip locked"
    )
    .fetch_all(&mut *tx)
    .await?;
    let n = rows.len();
    for row in rows {
        let result = match row.topic.as_str() {
            "payment.refund" => match row
                .payload
                .get("refund_id")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                Some(id) => run_refund(pool, payments, id).await,
                None => Err("payload has no refund_id".to_string()),
            },
            _ => Ok(()),
        };
        match result {
            Ok(()) => {
                sqlx::query!(
                    "update outbox set delivered_at = now(), attempts = attempts + 1, last_error = null where id = $1",
                    row.id
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(e) => {
                tracing::warn!(topic = row.topic, "outbox delivery failed: {e}");
                let backoff = 2f64.powi(row.attempts.clamp(0, 12));
                sqlx::query!(
                    "update outbox set attempts = attempts + 1, last_error = $2,
                            available_at = now() + make_interval(secs => $3)
                     where id = $1",
                    row.id,
                    e,
                    backoff
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// A payment still open at its provider.
struct OpenPayment {
    id: Uuid,
    provider: String,
    provider_ref: Option<String>,
    amount_fen: i64,
}

/// Closes open payments at their provider (so they cannot be paid any more) and applies where
/// each ended: a payer who paid a moment ago comes back as a success. Returns false when one
/// could not be settled; the caller then retries on the next round rather than give up on
/// money that may have arrived.
async fn settle_open(pool: &PgPool, payments: &Payments, open: Vec<OpenPayment>) -> bool {
    let mut settled = true;
    for p in open {
        let (Some(provider), Some(provider_ref)) = (payments.provider(&p.provider), p.provider_ref)
        else {
            continue;
        };
        let outcome = match provider.close(&provider_ref).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!("closing payment {} failed: {e}", p.id);
                settled = false;
                continue;
            }
        };
        let n = Notification {
            payment_id: p.id,
            provider_ref,
            amount: Money::from_fen(p.amount_fen),
            outcome,
        };
        if let Err(e) = apply_outcome(pool, &p.provider, &n, ActorKind::System).await {
            tracing::warn!("applying a closed payment failed: {e}");
            settled = false;
        }
    }
    settled
}

/// Unpaid orders past their deadline: settle their open payments first (one may have
/// succeeded with its notification lost), then cancel and release the stock. Returns how many
/// expired.
pub async fn expire_unpaid(pool: &PgPool, payments: &Payments) -> Result<usize, AppError> {
    let due = sqlx::query_scalar!(
        "select id from orders where status = 'pending_payment' and payment_expires_at < now()
         order by payment_expires_at limit 100"
    )
    .fetch_all(pool)
    .await?;
    let mut expired = 0;
    for order_id in due {
        let open = sqlx::query_as!(
            OpenPayment,
            "select id, provider, provider_ref, amount_fen from payments
             where order_id = $1 and addition_id is null and status = 'pending' and provider_ref is not null",
            order_id
        )
        .fetch_all(pool)
        .await?;
        if !settle_open(pool, payments, open).await {
            continue;
        }
        match lifecycle::expire_if_unpaid(pool, order_id).await {
            Ok(true) => expired += 1,
            Ok(false) => {}
            Err(e) => tracing::error!("expiring order {order_id} failed: {e}"),
        }
    }
    Ok(expired)
}

/// Added goods not paid in time: settle their open payments (a payer who just paid gets them
/// merged), then drop them and release their stock. Returns how many were dropped.
pub async fn expire_additions(pool: &PgPool, payments: &Payments) -> Result<usize, AppError> {
    let due = sqlx::query_scalar!(
        "select id from order_additions where status = 'awaiting_payment' and expires_at < now()
         order by expires_at limit 100"
    )
    .fetch_all(pool)
    .await?;
    let mut dropped = 0;
    for addition in due {
        let open = sqlx::query_as!(
            OpenPayment,
            "select id, provider, provider_ref, amount_fen from payments
             where addition_id = $1 and status = 'pending' and provider_ref is not null",
            addition
        )
        .fetch_all(pool)
        .await?;
        if !settle_open(pool, payments, open).await {
            continue;
        }
        match crate::orders::additions::drop_addition(pool, None, addition).await {
            Ok(true) => dropped += 1,
            Ok(false) => {}
            Err(e) => tracing::error!("dropping addition {addition} failed: {e}"),
        }
    }
    Ok(dropped)
}
