//! What the plain (non server fn) routes share: the caller from the session cookie, and
//! errors as the same JSON the server fns send (public message only).

use app::accounts::service::User;
use app::error::AppError;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `err` as JSON with its own status.
pub fn error(err: &AppError) -> Response {
    error_with(
        err,
        StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST),
    )
}

/// `err` as JSON with another status (413, 415, …).
pub fn error_with(err: &AppError, status: StatusCode) -> Response {
    let body = serde_json::to_string(err).unwrap_or_else(|_| "{}".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The logged-in caller, or 401.
pub async fn session_user(state: &AppState, headers: &HeaderMap) -> Result<User, Response> {
    let name = app::accounts::auth::session_cookie_for(state.settings.secure);
    let token = app::context::cookie_in(headers, name).unwrap_or_default();
    if token.is_empty() {
        return Err(error(&AppError::Unauthorized));
    }
    app::accounts::service::user_for_token(&state.pool, &token)
        .await
        .map_err(|e| error(&e))?
        .ok_or_else(|| error(&AppError::Unauthorized))
}

/// The request body if it is at most `max` bytes (refused from its declared length before
/// reading when it says more); `None` when larger.
pub async fn body_up_to(headers: &HeaderMap, body: Body, max: usize) -> Option<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return None;
    }
    axum::body::to_bytes(body, max).await.ok()
}
