//! The courier app's outbox: picked up, on my way, delivered and positions wait on the
//! device and go out in order, each with its own idempotency key. An action taken without
//! network is applied once when the network returns, however often it is sent.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{FailReason, FollowUp};

/// Actions sent in one call at most (the device sends the rest in the next one).
pub const MAX_BATCH: usize = 100;

/// One action as the device keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedAction {
    /// Chosen by the device when the courier acted; the server applies a key once.
    pub key: Uuid,
    /// When the courier acted (device clock, milliseconds since 1970).
    pub at_ms: i64,
    pub action: CourierAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CourierAction {
    PickedUp {
        order_id: Uuid,
        code: String,
    },
    StartDelivering {
        order_id: Uuid,
    },
    Delivered {
        order_id: Uuid,
        pin: String,
        /// The recipient's ID was checked (restricted goods); older queues lack it.
        #[serde(default)]
        id_checked: bool,
    },
    Failed {
        order_id: Uuid,
        reason: FailReason,
        follow_up: FollowUp,
    },
    Position {
        lat: f64,
        lng: f64,
    },
}

impl CourierAction {
    /// What the courier did, for the list of actions waiting to be sent.
    pub fn label(&self) -> &'static str {
        match self {
            CourierAction::PickedUp { .. } => "Picked up 已取货",
            CourierAction::StartDelivering { .. } => "On my way 开始配送",
            CourierAction::Delivered { .. } => "Delivered 已送达",
            CourierAction::Failed {
                follow_up: FollowUp::Retry,
                ..
            } => "Attempt failed 未送达",
            CourierAction::Failed {
                follow_up: FollowUp::Return,
                ..
            } => "Returning to store 退回门店",
            CourierAction::Position { .. } => "Position 位置",
        }
    }

    pub fn order_id(&self) -> Option<Uuid> {
        match self {
            CourierAction::PickedUp { order_id, .. }
            | CourierAction::StartDelivering { order_id }
            | CourierAction::Delivered { order_id, .. }
            | CourierAction::Failed { order_id, .. } => Some(*order_id),
            CourierAction::Position { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "message", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// The key was applied before (a resend after a lost answer): nothing happened again.
    AlreadyApplied,
    /// Refused for good (wrong code, order moved on): the device drops it and shows why.
    Refused(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    pub key: Uuid,
    /// On the wire: `"outcome": "refused", "message": "…"` beside the key.
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[cfg(feature = "ssr")]
pub use server::apply_batch;

#[cfg(feature = "ssr")]
mod server {
    use chrono::{DateTime, TimeDelta, Utc};
    use sha2::{Digest, Sha256};
    use sqlx::PgPool;
    use uuid::Uuid;

    use super::{ActionResult, CourierAction, Outcome, QueuedAction};
    use crate::error::AppError;

    /// Queued positions older than this are history nobody plans with: refused.
    const OLDEST_POSITION: TimeDelta = TimeDelta::hours(6);

    /// Applies the actions in order, each in its own transaction together with its key.
    /// A refused action does not stop the ones after it (each stands on its own); an error
    /// on our side does: the rest stay on the device and are sent again.
    pub async fn apply_batch(
        pool: &PgPool,
        courier_id: Uuid,
        actions: &[QueuedAction],
        mut throttle: impl FnMut() -> Result<(), AppError>,
    ) -> Result<Vec<ActionResult>, AppError> {
        let mut results = Vec::with_capacity(actions.len());
        for a in actions {
            let outcome = match apply_one(pool, courier_id, a, &mut throttle).await {
                Ok(o) => o,
                Err(e @ (AppError::Internal { .. } | AppError::TooManyRequests { .. })) => {
                    if results.is_empty() {
                        return Err(e);
                    }
                    break;
                }
                Err(e) => Outcome::Refused(e.to_string()),
            };
            results.push(ActionResult {
                key: a.key,
                outcome,
            });
        }
        Ok(results)
    }

    async fn apply_one(
        pool: &PgPool,
        courier_id: Uuid,
        a: &QueuedAction,
        throttle: &mut impl FnMut() -> Result<(), AppError>,
    ) -> Result<Outcome, AppError> {
        let body = serde_json::to_vec(&a.action).map_err(AppError::internal)?;
        let hash = Sha256::digest(&body).to_vec();
        let mut tx = pool.begin().await?;
        let key = a.key.to_string();
        let fresh = sqlx::query!(
            "insert into idempotency_keys (scope, owner_id, key, request_hash, order_id)
             values ('courier', $1, $2, $3, $4) on conflict do nothing",
            courier_id,
            key,
            hash,
            a.action.order_id()
        )
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            let first = sqlx::query_scalar!(
                "select request_hash from idempotency_keys
                 where scope = 'courier' and owner_id = $1 and key = $2",
                courier_id,
                key
            )
            .fetch_one(&mut *tx)
            .await?;
            return Ok(if first == hash {
                Outcome::AlreadyApplied
            } else {
                Outcome::Refused("This action's key was used for another action.".into())
            });
        }
        match &a.action {
            CourierAction::PickedUp { order_id, code } => {
                throttle()?;
                let code = crate::orders::board::parse_code(code)?;
                crate::orders::merchant::courier_pickup_in(&mut tx, courier_id, *order_id, &code)
                    .await?;
            }
            CourierAction::StartDelivering { order_id } => {
                crate::dispatch::tasks::start_delivering_in(&mut tx, courier_id, *order_id).await?;
            }
            CourierAction::Delivered {
                order_id,
                pin,
                id_checked,
            } => {
                let pin = crate::dispatch::model::parse_pin(pin)?;
                throttle()?;
                crate::dispatch::tasks::deliver_in(
                    &mut tx,
                    courier_id,
                    *order_id,
                    &pin,
                    *id_checked,
                )
                .await?;
            }
            CourierAction::Failed {
                order_id,
                reason,
                follow_up,
            } => {
                crate::dispatch::tasks::fail_delivery_in(
                    &mut tx, courier_id, *order_id, *reason, *follow_up,
                )
                .await?;
            }
            CourierAction::Position { lat, lng } => {
                let (lat, lng) = crate::dispatch::model::valid_position(*lat, *lng)
                    .map_err(|m| AppError::validation("position", m))?;
                let now = sqlx::query_scalar!(r#"select now() as "now!""#)
                    .fetch_one(&mut *tx)
                    .await?;
                let at = taken_at(a.at_ms, now)?;
                crate::dispatch::service::record_position_in(&mut tx, courier_id, lat, lng, at)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(Outcome::Applied)
    }

    /// The device's time for a position, trusted within reason: never in the future, and
    /// refused when too old to mean anything.
    fn taken_at(at_ms: i64, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
        let at = DateTime::from_timestamp_millis(at_ms)
            .ok_or_else(|| AppError::validation("at", "That time is not valid."))?
            .min(now);
        if now - at > OLDEST_POSITION {
            return Err(AppError::validation(
                "at",
                "This position is more than 6 hours old: not kept.",
            ));
        }
        Ok(at)
    }

    #[cfg(test)]
    mod tests {
        use crate::dispatch::sync::ActionResult;

        #[test]
        fn results_read_back_as_sent() {
            for outcome in [
                Outcome::Applied,
                Outcome::AlreadyApplied,
                Outcome::Refused("no".into()),
            ] {
                let r = ActionResult {
                    key: Uuid::nil(),
                    outcome,
                };
                let text = serde_json::to_string(&r).unwrap();
                assert_eq!(
                    serde_json::from_str::<ActionResult>(&text).unwrap(),
                    r,
                    "{text}"
                );
            }
        }

        use super::*;

        #[test]
        fn device_time_is_clamped_and_bounded() {
            let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
            let future = now.timestamp_millis() + 60_000;
            assert_eq!(taken_at(future, now).unwrap(), now);
            let earlier = now.timestamp_millis() - 60_000;
            assert_eq!(taken_at(earlier, now).unwrap().timestamp_millis(), earlier);
            let stale = now.timestamp_millis() - 7 * 3_600_000;
            assert!(taken_at(stale, now).is_err());
            assert!(taken_at(i64::MAX, now).is_err());
        }
    }
}
