//! The built-in sandbox provider. It behaves like a real one from the outside: it keeps its
//! own ledger (`sandbox_payments`), hosts a payment page at `/sandbox-pay/{id}` where the payer
//! chooses succeed or fail, and confirms by POSTing an HMAC-signed notification to the same
//! endpoint a real provider would call — asynchronously, retried if it does not get through.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use super::provider::{
    CreatedPayment, Notification, NotificationError, PaymentProvider, PaymentRequest,
    ProviderError, ProviderFuture, ProviderOutcome, RefundRequest,
};
use crate::error::AppError;
use crate::money::Money;

pub const SIGNATURE_HEADER: &str = "songda-sandbox-signature";
/// Notifications signed longer ago than this are refused (replays).
pub const MAX_AGE_SECS: i64 = 300;

#[derive(Serialize, Deserialize)]
struct Body {
    payment_id: Uuid,
    provider_ref: String,
    amount_fen: i64,
    outcome: String,
    reason: Option<String>,
}

pub struct SandboxProvider {
    pool: PgPool,
    secret: Vec<u8>,
    http: reqwest::Client,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, the header a notification carries.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

impl SandboxProvider {
    pub fn new(pool: PgPool, secret: Vec<u8>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        SandboxProvider { pool, secret, http }
    }

    /// The payer's choice on the sandbox page. Returns the order to go back to. The signed
    /// notification goes out right away; if it does not get through it is retried.
    pub async fn decide(&self, sandbox_id: Uuid, succeed: bool) -> Result<(), AppError> {
        let row = sqlx::query!(
            "update sandbox_payments set status = $2, decided_at = now()
             where id = $1 and status = 'open'
             returning merchant_ref, amount_fen, notify_url",
            sandbox_id,
            if succeed { "succeeded" } else { "failed" }
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| AppError::conflict("This payment was already decided."))?;
        let body = serde_json::to_vec(&Body {
            payment_id: row.merchant_ref,
            provider_ref: sandbox_id.to_string(),
            amount_fen: row.amount_fen,
            outcome: if succeed { "succeeded" } else { "failed" }.to_string(),
            reason: (!succeed).then(|| "The payer chose to fail the payment.".to_string()),
        })
        .map_err(AppError::internal)?;
        if let Err(e) = self.notify(&row.notify_url, &body).await {
            tracing::warn!("sandbox notification failed, retrying in the background: {e}");
            let http = self.http.clone();
            let secret = self.secret.clone();
            let url = row.notify_url.clone();
            tokio::spawn(async move {
                for wait in [1, 5, 30, 120] {
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    let header = sign(&secret, Utc::now().timestamp(), &body);
                    let sent = http
                        .post(&url)
                        .header(SIGNATURE_HEADER, header)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => return,
                        Ok(r) => tracing::warn!("sandbox notification answered {}", r.status()),
                        Err(e) => tracing::warn!("sandbox notification failed: {e}"),
                    }
                }
                tracing::error!(
                    "sandbox notification to {url} gave up; expiry will query the payment"
                );
            });
        }
        Ok(())
    }

    async fn notify(&self, url: &str, body: &[u8]) -> Result<(), String> {
        let header = sign(&self.secret, Utc::now().timestamp(), body);
        let res = self
            .http
            .post(url)
            .header(SIGNATURE_HEADER, header)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", res.status()))
        }
    }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn create_payment<'a>(&'a self, req: PaymentRequest) -> ProviderFuture<'a, CreatedPayment> {
        Box::pin(async move {
            let id = Uuid::now_v7();
            sqlx::query!(
                "insert into sandbox_payments (id, merchant_ref, amount_fen, notify_url) values ($1, $2, $3, $4)",
                id,
                req.payment_id,
                req.amount.fen(),
                req.notify_url
            )
            .execute(&self.pool)
            .await
            .map_err(|e| ProviderError::Unreachable(e.to_string()))?;
            Ok(CreatedPayment {
                provider_ref: id.to_string(),
                pay_url: format!("/sandbox-pay/{id}"),
            })
        })
    }

    fn verify_notification(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Notification, NotificationError> {
        let header = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(NotificationError::MissingSignature)?;
        let mut t = None;
        let mut v1 = None;
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", x)) => t = x.parse::<i64>().ok(),
                Some(("v1", x)) => v1 = unhex(x),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return Err(NotificationError::MissingSignature);
        };
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&v1)
            .map_err(|_| NotificationError::BadSignature)?;
        if (now.timestamp() - t).abs() > MAX_AGE_SECS {
            return Err(NotificationError::Stale);
        }
        let b: Body = serde_json::from_slice(body)
            .map_err(|e| NotificationError::Malformed(e.to_string()))?;
        let outcome = match b.outcome.as_str() {
            "succeeded" => ProviderOutcome::Succeeded,
            "failed" => ProviderOutcome::Failed(b.reason.unwrap_or_default()),
            other => return Err(NotificationError::Malformed(format!("outcome {other}"))),
        };
        Ok(Notification {
            payment_id: b.payment_id,
            provider_ref: b.provider_ref,
            amount: Money::from_fen(b.amount_fen),
            outcome,
        })
    }

    fn query<'a>(&'a self, provider_ref: &'a str) -> ProviderFuture<'a, ProviderOutcome> {
        Box::pin(async move {
            let id = Uuid::parse_str(provider_ref)
                .map_err(|_| ProviderError::Refused("unknown payment".into()))?;
            let status =
                sqlx::query_scalar!("select status from sandbox_payments where id = $1", id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| ProviderError::Unreachable(e.to_string()))?
                    .ok_or_else(|| ProviderError::Refused("unknown payment".into()))?;
            Ok(match status.as_str() {
                "succeeded" => ProviderOutcome::Succeeded,
                "failed" => ProviderOutcome::Failed("The payer chose to fail the payment.".into()),
                _ => ProviderOutcome::Pending,
            })
        })
    }

    fn close<'a>(&'a self, provider_ref: &'a str) -> ProviderFuture<'a, ProviderOutcome> {
        Box::pin(async move {
            let id = Uuid::parse_str(provider_ref)
                .map_err(|_| ProviderError::Refused("unknown payment".into()))?;
            let closed = sqlx::query!(
                "update sandbox_payments set status = 'failed', decided_at = now()
                 where id = $1 and status = 'open'",
                id
            )
            .execute(&self.pool)
            .await
            .map_err(|e| ProviderError::Unreachable(e.to_string()))?
            .rows_affected();
            if closed == 1 {
                Ok(ProviderOutcome::Failed("Closed: not paid in time.".into()))
            } else {
                self.query(provider_ref).await
            }
        })
    }

    fn refund<'a>(&'a self, req: RefundRequest) -> ProviderFuture<'a, String> {
        Box::pin(async move {
            let unreachable = |e: sqlx::Error| ProviderError::Unreachable(e.to_string());
            let id = Uuid::parse_str(&req.provider_ref)
                .map_err(|_| ProviderError::Refused("unknown payment".into()))?;
            let reference = format!("sandbox-refund-{}", req.refund_id);
            let mut tx = self.pool.begin().await.map_err(unreachable)?;
            let first = sqlx::query!(
                "insert into sandbox_refunds (id, sandbox_payment_id, amount_fen) values ($1, $2, $3)
                 on conflict (id) do nothing",
                req.refund_id,
                id,
                req.amount.fen()
            )
            .execute(&mut *tx)
            .await
            .map_err(unreachable)?
            .rows_affected()
                == 1;
            if !first {
                return Ok(reference);
            }
            let done = sqlx::query!(
                "update sandbox_payments set refunded_fen = refunded_fen + $2
                 where id = $1 and status = 'succeeded' and refunded_fen + $2 <= amount_fen",
                id,
                req.amount.fen()
            )
            .execute(&mut *tx)
            .await
            .map_err(unreachable)?
            .rows_affected();
            if done != 1 {
                return Err(ProviderError::Refused(
                    "nothing left to refund on this payment".into(),
                ));
            }
            tx.commit().await.map_err(unreachable)?;
            Ok(reference)
        })
    }
}

/// The sandbox's signing secret: made once per installation and kept in `app_meta`.
pub async fn load_or_create_secret(pool: &PgPool) -> Result<Vec<u8>, AppError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    let fresh = base64::engine::general_purpose::STANDARD.encode(bytes);
    sqlx::query!(
        "insert into app_meta (key, value) values ('sandbox_payment_secret', $1) on conflict (key) do nothing",
        fresh
    )
    .execute(pool)
    .await?;
    let stored =
        sqlx::query_scalar!("select value from app_meta where key = 'sandbox_payment_secret'")
            .fetch_one(pool)
            .await?;
    base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_through_hex() {
        let h = sign(b"k", 1_700_000_000, b"{}");
        let v1 = h.split_once(",v1=").unwrap().1;
        assert_eq!(v1.len(), 64);
        assert_eq!(hex(&unhex(v1).unwrap()), v1);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }
}
