//! Server-sent events for one order's timeline: `GET /api/live/orders/{id}`, plus an `update`
//! event (no id, nothing to replay) when the order changed without a timeline row: dispatch
//! moved the planned arrival, a cancel request came in. Only the
//! order's customer and its store's staff may subscribe. Each event carries its `order_events` id, so a browser
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

/// Server-sent events with a comment every 15 s, so proxies keep the connection open.
fn serve(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// A feed that makes its events one at a time; `None` ends the stream.
trait LiveFeed: Send + 'static {
    fn next(&mut self) -> impl std::future::Future<Output = Option<Event>> + Send;
}

fn serve_feed(feed: impl LiveFeed) -> Response {
    serve(stream::unfold(feed, |mut f| async move {
        f.next().await.map(|ev| (Ok::<_, Infallible>(ev), f))
    }))
}

#[derive(Deserialize)]
pub struct After {
    after: Option<i64>,
}

fn session_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = app::accounts::auth::session_cookie_for(state.settings.secure);
    app::context::cookie_in(headers, name)
}

/// The logged-in caller, or the response that refuses them.
async fn caller(state: &AppState, token: &str) -> Result<app::accounts::service::User, Response> {
    let user = match token.is_empty() {
        false => app::accounts::service::user_for_token(&state.pool, token).await,
        true => Ok(None),
    };
    match user {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err((StatusCode::UNAUTHORIZED, "log in first").into_response()),
        Err(_) => Err((StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response()),
    }
}

pub async fn order_feed(
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> Response {
    // Authorize first: the order's customer, or staff of its store (others get 404, no hint).
    let token = session_token(&state, &headers).unwrap_or_default();
    let user = match caller(&state, &token).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let allowed = match user.role {
        Role::Customer => sqlx::query_scalar!(
            r#"select exists (select 1 from orders where id = $1 and customer_id = $2) as "ok!""#,
            order_id,
            user.id
        )
        .fetch_one(&state.pool)
        .await,
        Role::Merchant => sqlx::query_scalar!(
            r#"select exists (select 1 from orders o join store_members m on m.store_id = o.store_id
                              where o.id = $1 and m.user_id = $2) as "ok!""#,
            order_id,
            user.id
        )
        .fetch_one(&state.pool)
        .await,
        _ => return (StatusCode::FORBIDDEN, "not your order").into_response(),
    };
    match allowed {
        Ok(true) => {}
        Ok(false) => return (StatusCode::NOT_FOUND, "no such order").into_response(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
    }
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(q.after)
        .unwrap_or(0);
    serve(feed(state, token, order_id, last_event_id))
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

enum Wake {
    /// New timeline rows: read them.
    Read,
    /// Pings may have been missed (the listener reconnected, or this subscriber lagged):
    /// read the timeline and tell the page to re-read everything else too.
    Resync,
    /// The order changed without a timeline row (a new planned arrival, a cancel request).
    Update,
    Closed,
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
                            Ok(p) if p == app::live::OrderPing::RESYNC => return Wake::Resync,
                            Ok(p) if p.order_id == f.order_id && p.event_id > f.last => {
                                return Wake::Read;
                            }
                            Ok(p) if p.order_id == f.order_id && p.event_id == 0 => {
                                return Wake::Update;
                            }
                            Ok(_) => continue,
                            Err(RecvError::Lagged(_)) => return Wake::Resync,
                            Err(RecvError::Closed) => return Wake::Closed,
                        }
                    }
                })
                .await
                .unwrap_or(Wake::Read);
                match wake {
                    Wake::Closed => return None,
                    Wake::Update => {
                        let ev = Event::default().event("update").data("changed");
                        return Some((Ok(ev), f));
                    }
                    Wake::Resync => {
                        f.queue
                            .push_back(Event::default().event("update").data("resync"));
                    }
                    Wake::Read => {}
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

/// The caller's session token if they work at the store: 401 without a session, 403 for
/// other roles, 404 for staff of other stores.
async fn store_staff(
    state: &AppState,
    headers: &HeaderMap,
    store_id: Uuid,
) -> Result<String, Response> {
    let token = session_token(state, headers).unwrap_or_default();
    let user = caller(state, &token).await?;
    if user.role != Role::Merchant {
        return Err((StatusCode::FORBIDDEN, "store staff only").into_response());
    }
    match app::accounts::db::store_member_role(&state.pool, store_id, user.id).await {
        Ok(Some(_)) => Ok(token),
        Ok(None) => Err((StatusCode::NOT_FOUND, "no such store").into_response()),
        Err(_) => Err((StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response()),
    }
}

/// `GET /api/live/stores/{id}`: a `board` event whenever one of the store's orders changes
/// (or a resync is due). The board re-reads itself on each event, so nothing is replayed.
/// Store staff only.
pub async fn store_feed(
    State(state): State<AppState>,
    Path(store_id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let token = match store_staff(&state, &headers, store_id).await {
        Ok(t) => t,
        Err(res) => return res,
    };
    let pings = state.live.subscribe_orders();
    let start = (state, token, pings, true);
    let events = stream::unfold(start, move |(state, token, mut pings, first)| async move {
        if !first {
            let wake = tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    match pings.recv().await {
                        Ok(p) if p == app::live::OrderPing::RESYNC => return true,
                        Ok(p) if p.store_id == Some(store_id) => return true,
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
        // Logging out ends the stream.
        match app::accounts::service::user_for_token(&state.pool, &token).await {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => tracing::warn!("store feed session check failed: {e}"),
        }
        let ev = Event::default().event("board").data("changed");
        Some((Ok::<_, Infallible>(ev), (state, token, pings, false)))
    });
    serve(events)
}

/// `GET /api/live/stores/{id}/couriers`: the couriers coming to the store for its orders. A
/// `couriers` event with all of them (`StoreCouriers`) at the start and whenever the store's
/// orders change (at least every 20 s), and a `position` event (`{"id":…,"lat":…,"lng":…}`)
/// each time one of them moves. Store staff only; nobody else's position is sent.
pub async fn store_couriers_feed(
    State(state): State<AppState>,
    Path(store_id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let token = match store_staff(&state, &headers, store_id).await {
        Ok(t) => t,
        Err(res) => return res,
    };
    let feed = Heading {
        positions: state.live.subscribe_positions(),
        orders: state.live.subscribe_orders(),
        state,
        token,
        store_id,
        couriers: Vec::new(),
        stale: true,
    };
    serve_feed(feed)
}

struct Heading {
    state: AppState,
    token: String,
    store_id: Uuid,
    positions: tokio::sync::broadcast::Receiver<app::live::PositionPing>,
    orders: tokio::sync::broadcast::Receiver<app::live::OrderPing>,
    /// Whose moves this store may see now.
    couriers: Vec<Uuid>,
    /// The list must be read again.
    stale: bool,
}

impl LiveFeed for Heading {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.stale {
                self.stale = false;
                // Logging out ends the stream.
                match app::accounts::service::user_for_token(&self.state.pool, &self.token).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => tracing::warn!("store couriers feed session check failed: {e}"),
                }
                match app::dispatch::tracking::heading_to_store(&self.state.pool, self.store_id)
                    .await
                {
                    Ok(view) => {
                        self.couriers = view.couriers.iter().map(|c| c.id).collect();
                        return Some(
                            Event::default()
                                .event("couriers")
                                .json_data(&view)
                                .unwrap_or_default(),
                        );
                    }
                    Err(e) => tracing::warn!("store couriers feed read failed: {e}"),
                }
            }
            tokio::select! {
                p = self.positions.recv() => match p {
                    Ok(p) if self.couriers.contains(&p.courier_id) => {
                        return Some(
                            Event::default()
                                .event("position")
                                .json_data(serde_json::json!({ "id": p.courier_id, "lat": p.lat, "lng": p.lng }))
                                .unwrap_or_default(),
                        );
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => self.stale = true,
                    Err(RecvError::Closed) => return None,
                },
                o = self.orders.recv() => match o {
                    Ok(o) if o.store_id == Some(self.store_id) || o == app::live::OrderPing::RESYNC => {
                        self.stale = true;
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => self.stale = true,
                    Err(RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(Duration::from_secs(20)) => self.stale = true,
            }
        }
    }
}

/// `GET /api/live/orders/{id}/courier`: the courier's position for the order's customer, as
/// `position` events (`{"lat":…,"lng":…}`), only while the courier carries the order; a
/// `hidden` event when that ends (delivered, handed back), after which nothing more is sent.
/// The visibility is re-checked on every change of the order and every 20 s.
pub async fn courier_feed(
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let token = session_token(&state, &headers).unwrap_or_default();
    let user = match caller(&state, &token).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if user.role != Role::Customer {
        return (StatusCode::FORBIDDEN, "the order's customer only").into_response();
    }
    let courier =
        match app::dispatch::tracking::visible_courier(&state.pool, user.id, order_id).await {
            Ok(c) => c,
            Err(app::error::AppError::NotFound) => {
                return (StatusCode::NOT_FOUND, "no such order").into_response();
            }
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
        };
    let follow = Follow {
        positions: state.live.subscribe_positions(),
        orders: state.live.subscribe_orders(),
        state,
        token,
        customer_id: user.id,
        order_id,
        courier,
        queue: VecDeque::new(),
        started: false,
    };
    serve_feed(follow)
}

struct Follow {
    state: AppState,
    token: String,
    customer_id: Uuid,
    order_id: Uuid,
    /// The courier the customer may see now.
    courier: Option<Uuid>,
    positions: tokio::sync::broadcast::Receiver<app::live::PositionPing>,
    orders: tokio::sync::broadcast::Receiver<app::live::OrderPing>,
    queue: VecDeque<Event>,
    started: bool,
}

impl LiveFeed for Follow {
    async fn next(&mut self) -> Option<Event> {
        if !self.started {
            self.started = true;
            self.announce().await;
        }
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(ev);
            }
            let recheck = tokio::select! {
                p = self.positions.recv() => match p {
                    Ok(p) if Some(p.courier_id) == self.courier => {
                        return Some(position_event(p.lat, p.lng));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => false,
                    Err(RecvError::Closed) => return None,
                },
                o = self.orders.recv() => match o {
                    Ok(o) => o.order_id == self.order_id || o == app::live::OrderPing::RESYNC,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(Duration::from_secs(20)) => true,
            };
            if recheck {
                // Logging out ends the stream.
                match app::accounts::service::user_for_token(&self.state.pool, &self.token).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => tracing::warn!("courier feed session check failed: {e}"),
                }
                let now = app::dispatch::tracking::visible_courier(
                    &self.state.pool,
                    self.customer_id,
                    self.order_id,
                )
                .await;
                match now {
                    Ok(c) if c != self.courier => {
                        self.courier = c;
                        self.announce().await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("courier feed read failed: {e}"),
                }
            }
        }
    }
}

impl Follow {
    /// Where the visible courier is now, or that there is none to see.
    async fn announce(&mut self) {
        let Some(courier) = self.courier else {
            self.queue
                .push_back(Event::default().event("hidden").data("none"));
            return;
        };
        let at = sqlx::query!("select lat, lng from couriers where user_id = $1", courier)
            .fetch_optional(&self.state.pool)
            .await;
        if let Ok(Some(r)) = at
            && let (Some(lat), Some(lng)) = (r.lat, r.lng)
        {
            self.queue.push_back(position_event(lat, lng));
        }
    }
}

fn position_event(lat: f64, lng: f64) -> Event {
    Event::default()
        .event("position")
        .json_data(serde_json::json!({ "lat": lat, "lng": lng }))
        .unwrap_or_default()
}

/// `GET /api/live/ops`: the whole city for operations staff: a `position` event
/// (`{"id":…,"lat":…,"lng":…,"status":…}`) each time a courier moves or their shift changes
/// state, and an `orders` event when orders
/// changed (at most one a second: the map re-reads the city then), and one at the start so a
/// reconnected page catches up.
pub async fn ops_feed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = session_token(&state, &headers).unwrap_or_default();
    let user = match caller(&state, &token).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if user.role != Role::Ops {
        return (StatusCode::FORBIDDEN, "operations staff only").into_response();
    }
    let city = City {
        positions: state.live.subscribe_positions(),
        orders: state.live.subscribe_orders(),
        state,
        token,
        // The first event tells the page to read the city: after a reconnect it has missed
        // whatever changed while it was away.
        changed: true,
        last_orders: tokio::time::Instant::now() - City::ORDERS_EVERY,
        last_session_check: tokio::time::Instant::now(),
    };
    serve_feed(city)
}

struct City {
    state: AppState,
    token: String,
    positions: tokio::sync::broadcast::Receiver<app::live::PositionPing>,
    orders: tokio::sync::broadcast::Receiver<app::live::OrderPing>,
    /// Orders changed since the last `orders` event.
    changed: bool,
    last_orders: tokio::time::Instant,
    last_session_check: tokio::time::Instant,
}

impl City {
    const ORDERS_EVERY: Duration = Duration::from_secs(1);
}

impl LiveFeed for City {
    async fn next(&mut self) -> Option<Event> {
        loop {
            // Logging out ends the stream (checked every 20 s: positions come too often to
            // check on each).
            if self.last_session_check.elapsed() > Duration::from_secs(20) {
                self.last_session_check = tokio::time::Instant::now();
                match app::accounts::service::user_for_token(&self.state.pool, &self.token).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => tracing::warn!("ops feed session check failed: {e}"),
                }
            }
            let due = self.last_orders + Self::ORDERS_EVERY;
            if self.changed && tokio::time::Instant::now() >= due {
                self.changed = false;
                self.last_orders = tokio::time::Instant::now();
                return Some(Event::default().event("orders").data("changed"));
            }
            let wait = if self.changed {
                due
            } else {
                tokio::time::Instant::now() + Duration::from_secs(20)
            };
            tokio::select! {
                p = self.positions.recv() => match p {
                    Ok(p) => {
                        return Some(
                            Event::default()
                                .event("position")
                                .json_data(serde_json::json!({
                                    "id": p.courier_id, "lat": p.lat, "lng": p.lng, "status": p.status,
                                }))
                                .unwrap_or_default(),
                        );
                    }
                    // Missed moves: the next ones put the markers right; re-read the city.
                    Err(RecvError::Lagged(_)) => self.changed = true,
                    Err(RecvError::Closed) => return None,
                },
                o = self.orders.recv() => match o {
                    Ok(_) | Err(RecvError::Lagged(_)) => self.changed = true,
                    Err(RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep_until(wait) => {}
            }
        }
    }
}
