//! Proof-of-delivery photos: the courier uploads the picture as the raw request body (the app
//! shrinks it first); the customer, the store's staff, the courier and operations read it.
//! Both authorize from the session cookie before reading anything.

use app::accounts::model::Role;
use app::dispatch::pod;
use app::error::AppError;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::http::{body_up_to, error, error_with, session_user};

/// `POST /api/courier/orders/{id}/photo`: the photo as the raw body (at most 1 MiB).
pub async fn upload(
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let user = match session_user(&state, &headers).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if user.role != Role::Courier {
        return error(&AppError::Forbidden);
    }
    let too_large = || {
        error_with(
            &AppError::request("The photo is larger than 1 MiB: take it again at a lower size."),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let Some(bytes) = body_up_to(&headers, body, pod::MAX_PHOTO_BYTES).await else {
        return too_large();
    };
    match pod::save_photo(&state.pool, user.id, order_id, &bytes).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}

/// `GET /api/orders/{id}/photo`: the delivery photo, for those who may see it.
pub async fn photo(
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let user = match session_user(&state, &headers).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    match pod::photo_for(&state.pool, user.id, user.role, order_id).await {
        Ok((content_type, bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&content_type)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error(&e),
    }
}
