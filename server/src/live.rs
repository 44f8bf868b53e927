//! Server-sent events for one order's timeline: `GET /api/live/orders/{id}`. Only the
//! order's customer may subscribe. Each event carries its `order_events` id, so a browser
//! that reconnects (EventSource sends `Last-Event-ID`) gets exactly what it missed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use app::accounts::model::Role;
use app::orders::lifecycle;
use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

#[derive(Deserialize)]
pub struct After {
    after: Option<i64>,
}

fn session_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = app::accounts::auth::session_cookie_for(state.settings.secure);
    app::context::cookie_in(headers, name)
}

pub async fn order_feed(
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> Response {
    // Authorize first: a customer, and this order's customer (others get 404, no hint).
    let token = session_token(&state, &headers).unwrap_or_default();
    let user = match token.is_empty() {
        false => app::accounts::service::user_for_token(&state.pool, &token).await,
        true => Ok(None),
    };
    let user = match user {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "log in first").into_response(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
    };
    if user.role != Role::Customer {
        return (StatusCode::FORBIDDEN, "not your order").into_response();
    }
    let owner = sqlx::query_scalar!("select customer_id from orders where id = $1", order_id)
        .fetch_optional(&state.pool)
        .await;
    match owner {
        Ok(Some(c)) if c == user.id => {}
        Ok(_) => return (StatusCode::NOT_FOUND, "no such order").into_response(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
    }
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(q.after)
        .unwrap_or(0);
    Sse::new(feed(state, token, order_id, last_event_id))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

struct Feed {
    state: AppState,
    /// The subscriber's session: re-checked on every read, so logging out ends the stream.
    token: String,
    order_id: Uuid,
    last: i64,
    queue: VecDeque<Event>,
    pings: tokio::sync::broadcast::Receiver<app::live::OrderPing>,
    caught_up: bool,
}

/// Replays what came after `last`, then follows pings; every 20 s it re-reads anyway, so a
/// lost ping only delays an update.
fn feed(
    state: AppState,
    token: String,
    order_id: Uuid,
    last: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let pings = state.live.subscribe_orders();
    let start = Feed {
        state,
        token,
        order_id,
        last,
        queue: VecDeque::new(),
        pings,
        caught_up: false,
    };
    stream::unfold(start, |mut f| async move {
        loop {
            if let Some(ev) = f.queue.pop_front() {
                return Some((Ok(ev), f));
            }
            if f.caught_up {
                let wake = tokio::time::timeout(Duration::from_secs(20), async {
                    loop {
                        match f.pings.recv().await {
                            Ok(p) if p == app::live::OrderPing::RESYNC => return true,
                            Ok(p) if p.order_id == f.order_id && p.event_id > f.last => {
                                return true;
                            }
                            Ok(_) => continue,
                            Err(RecvError::Lagged(_)) => return true,
                            Err(RecvError::Closed) => return false,
                        }
                    }
                })
                .await;
                if wake == Ok(false) {
                    return None;
                }
            }
            f.caught_up = true;
            match app::accounts::service::user_for_token(&f.state.pool, &f.token).await {
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => tracing::warn!("live feed session check failed: {e}"),
            }
            match lifecycle::events_after(&f.state.pool, f.order_id, f.last).await {
                Ok(events) => {
                    for e in events {
                        f.last = e.id;
                        let ev = Event::default()
                            .id(e.id.to_string())
                            .event("order")
                            .json_data(&e)
                            .unwrap_or_default();
                        f.queue.push_back(ev);
                    }
                }
                Err(e) => tracing::warn!("live feed read failed: {e}"),
            }
        }
    })
}
