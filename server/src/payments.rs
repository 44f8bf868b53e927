//! The endpoint payment providers call: `POST /api/v1/payments/{provider}/notify`. No session
//! and no CSRF check apply (the provider is not a browser); the provider's signature is the
//! authorization, checked before anything else.

use app::payments::provider::NotificationError;
use app::payments::service::{self, NotifyOutcome, NotifyRejection};
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

pub async fn notify(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    match service::receive_notification(&state.pool, &state.payments, &provider, &headers, &body)
        .await
    {
        Ok(NotifyOutcome::Applied) => (StatusCode::OK, "applied"),
        Ok(NotifyOutcome::Duplicate) => (StatusCode::OK, "already applied"),
        Err(NotifyRejection::UnknownProvider) => (StatusCode::NOT_FOUND, "unknown provider"),
        Err(NotifyRejection::Unverified(NotificationError::Stale)) => {
            (StatusCode::UNAUTHORIZED, "stale notification")
        }
        Err(NotifyRejection::Unverified(NotificationError::Malformed(_))) => {
            (StatusCode::BAD_REQUEST, "malformed notification")
        }
        Err(NotifyRejection::Unverified(_)) => (StatusCode::UNAUTHORIZED, "bad signature"),
        Err(NotifyRejection::Mismatch) => (StatusCode::BAD_REQUEST, "does not match a payment"),
        // Providers retry on 5xx: exactly what we want after a transient failure.
        Err(NotifyRejection::Internal(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "try again"),
    }
}
