//! File downloads for the merchant console: `GET /merchant/stores/{id}/orders.csv` with the
//! same filters as the order list. Store staff only; authorized before anything is read.

use app::accounts::model::Role;
use app::orders::board::OrderFilter;
use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::live::{caller, session_token};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OrderQuery {
    status: String,
    from: String,
    to: String,
    number: String,
    phone: String,
}

pub async fn store_orders_csv(
    State(state): State<AppState>,
    Path(store_id): Path<Uuid>,
    Query(q): Query<OrderQuery>,
    headers: HeaderMap,
) -> Response {
    let token = session_token(&state, &headers).unwrap_or_default();
    let user = match caller(&state, &token).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if user.role != Role::Merchant {
        return (StatusCode::FORBIDDEN, "store staff only").into_response();
    }
    match app::accounts::db::store_member_role(&state.pool, store_id, user.id).await {
        Ok(Some(_)) => {}
        Ok(None) => return (StatusCode::NOT_FOUND, "no such store").into_response(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
    }
    let filter = match OrderFilter::parse(&q.status, &q.from, &q.to, &q.number, &q.phone) {
        Ok(f) => f,
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    };
    match app::orders::merchant::orders_csv(&state.pool, store_id, &filter).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"orders.csv\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.to_string(),
        )
            .into_response(),
    }
}
