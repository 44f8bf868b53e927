//! The live feed's fan-out: one Postgres `LISTEN` per server process, turned into a tokio
//! broadcast. Every instance behind a load balancer hears every change, because the change is
//! announced by the database (a trigger on `order_events`), not by the instance that made it.
//! A ping only says "order X has event N"; subscribers read the rows themselves, so a missed
//! ping (lag, reconnect) costs nothing: they catch up from the last id they sent.
//! Payload: `order_id:event_id:store_id` (see the `notify_order_event` trigger).

use std::sync::OnceLock;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use uuid::Uuid;

pub const ORDER_CHANNEL: &str = "songda_order_events";
/// Couriers' positions (trigger `couriers_position_notify`): `courier_id:lat:lng`.
pub const POSITION_CHANNEL: &str = "songda_courier_positions";

/// A courier moved, or started, ended or changed the state of a shift.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionPing {
    pub courier_id: Uuid,
    pub lat: f64,
    pub lng: f64,
    /// `offline`, `online` or `busy` (`None` from an older server's payload).
    pub status: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderPing {
    pub order_id: Uuid,
    /// 0 when the change wrote no timeline row (a cancel request, a warning).
    pub event_id: i64,
    /// The order's store: its board listens for these.
    pub store_id: Option<Uuid>,
}

impl OrderPing {
    /// Not about one order: every subscriber re-reads what it may have missed.
    pub const RESYNC: OrderPing = OrderPing {
        order_id: Uuid::nil(),
        event_id: 0,
        store_id: None,
    };
}

pub struct LiveHub {
    orders: broadcast::Sender<OrderPing>,
    positions: broadcast::Sender<PositionPing>,
    /// The listener's own one-connection pool: a `LISTEN` connection is held for good and
    /// must not take a slot of the application's pool.
    listen_pool: PgPool,
    started: OnceLock<()>,
}

impl LiveHub {
    /// Listening starts with the first subscriber (then reconnects after errors for good).
    pub fn new(pool: &PgPool) -> LiveHub {
        let (tx, _) = broadcast::channel(4096);
        // Positions come often (every courier every few seconds): a subscriber that falls
        // behind skips to the newest, which is all a map needs.
        let (positions, _) = broadcast::channel(8192);
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(pool.connect_options().as_ref().clone());
        LiveHub {
            orders: tx,
            positions,
            listen_pool,
            started: OnceLock::new(),
        }
    }

    pub fn subscribe_orders(&self) -> broadcast::Receiver<OrderPing> {
        let receiver = self.orders.subscribe();
        self.start();
        receiver
    }

    pub fn subscribe_positions(&self) -> broadcast::Receiver<PositionPing> {
        let receiver = self.positions.subscribe();
        self.start();
        receiver
    }

    fn start(&self) {
        self.started.get_or_init(|| {
            let pool = self.listen_pool.clone();
            let (orders, positions) = (self.orders.clone(), self.positions.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(e) = listen(&pool, &orders, &positions).await {
                        tracing::warn!("live feed listener stopped: {e}; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        });
    }
}

async fn listen(
    pool: &PgPool,
    orders: &broadcast::Sender<OrderPing>,
    positions: &broadcast::Sender<PositionPing>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([ORDER_CHANNEL, POSITION_CHANNEL])
        .await?;
    // Changes made before this LISTEN took effect (first subscriber, reconnect) sent no ping
    // here: tell every subscriber to re-read now.
    let _ = orders.send(OrderPing::RESYNC);
    loop {
        let n = listener.recv().await?;
        // No subscribers is fine: nobody is watching.
        if n.channel() == POSITION_CHANNEL {
            if let Some(ping) = parse_position(n.payload()) {
                let _ = positions.send(ping);
            }
        } else if let Some(ping) = parse_ping(n.payload()) {
            let _ = orders.send(ping);
        }
    }
}

/// `courier_id:lat:lng[:status]`; a courier with no position yet is not on any map.
fn parse_position(payload: &str) -> Option<PositionPing> {
    let mut parts = payload.split(':');
    let courier_id = Uuid::parse_str(parts.next()?).ok()?;
    let lat: f64 = parts.next()?.parse().ok()?;
    let lng: f64 = parts.next()?.parse().ok()?;
    let status = match parts.next() {
        Some("offline") => Some("offline"),
        Some("online") => Some("online"),
        Some("busy") => Some("busy"),
        _ => None,
    };
    (lat.is_finite() && lng.is_finite()).then_some(PositionPing {
        courier_id,
        lat,
        lng,
        status,
    })
}

/// `order_id:event_id:store_id`; the store part may be empty.
fn parse_ping(payload: &str) -> Option<OrderPing> {
    let mut parts = payload.split(':');
    let order_id = Uuid::parse_str(parts.next()?).ok()?;
    let event_id = parts.next()?.parse().ok()?;
    let store_id = parts.next().and_then(|s| Uuid::parse_str(s).ok());
    Some(OrderPing {
        order_id,
        event_id,
        store_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_name_order_event_and_store() {
        let o = Uuid::now_v7();
        let s = Uuid::now_v7();
        let p = parse_ping(&format!("{o}:42:{s}")).unwrap();
        assert_eq!((p.order_id, p.event_id, p.store_id), (o, 42, Some(s)));
        assert_eq!(parse_ping(&format!("{o}:7:")).unwrap().store_id, None);
        assert!(parse_ping("garbage").is_none());
        assert!(parse_ping(&format!("{o}:x:{s}")).is_none());
    }

    #[test]
    fn position_pings_name_the_courier_and_the_point() {
        let c = Uuid::now_v7();
        let p = parse_position(&format!("{c}:31.2304:121.4737")).unwrap();
        assert_eq!((p.courier_id, p.lat, p.lng), (c, 31.2304, 121.4737));
        assert!(parse_position(&format!("{c}:NaN:1")).is_none());
        assert!(parse_position(&format!("{c}:31")).is_none());
        assert_eq!(p.status, None);
        let busy = parse_position(&format!("{c}:31.2304:121.4737:busy")).unwrap();
        assert_eq!(busy.status, Some("busy"));
        // Going off shift before ever sending a position: nothing to draw.
        assert!(parse_position(&format!("{c}:::offline")).is_none());
    }
}
