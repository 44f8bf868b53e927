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
    /// The listener's own one-connection pool: a `LISTEN` connection is held for good and
    /// must not take a slot of the application's pool.
    listen_pool: PgPool,
    started: OnceLock<()>,
}

impl LiveHub {
    /// Listening starts with the first subscriber (then reconnects after errors for good).
    pub fn new(pool: &PgPool) -> LiveHub {
        let (tx, _) = broadcast::channel(4096);
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(pool.connect_options().as_ref().clone());
        LiveHub {
            orders: tx,
            listen_pool,
            started: OnceLock::new(),
        }
    }

    pub fn subscribe_orders(&self) -> broadcast::Receiver<OrderPing> {
        let receiver = self.orders.subscribe();
        self.started.get_or_init(|| {
            let (pool, sender) = (self.listen_pool.clone(), self.orders.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(e) = listen(&pool, &sender).await {
                        tracing::warn!("live feed listener stopped: {e}; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        });
        receiver
    }
}

async fn listen(pool: &PgPool, sender: &broadcast::Sender<OrderPing>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(ORDER_CHANNEL).await?;
    // Changes made before this LISTEN took effect (first subscriber, reconnect) sent no ping
    // here: tell every subscriber to re-read now.
    let _ = sender.send(OrderPing::RESYNC);
    loop {
        let n = listener.recv().await?;
        if let Some(ping) = parse_ping(n.payload()) {
            // No subscribers is fine: nobody is watching.
            let _ = sender.send(ping);
        }
    }
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
}
