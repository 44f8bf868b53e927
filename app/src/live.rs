//! The live feed's fan-out: one Postgres `LISTEN` per server process, turned into a tokio
//! broadcast. Every instance behind a load balancer hears every change, because the change is
//! announced by the database (a trigger on `order_events`), not by the instance that made it.
//! A ping only says "order X has event N"; subscribers read the rows themselves, so a missed
//! ping (lag, reconnect) costs nothing: they catch up from the last id they sent.

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
    pub event_id: i64,
}

impl OrderPing {
    /// Not about one order: every subscriber re-reads what it may have missed.
    pub const RESYNC: OrderPing = OrderPing {
        order_id: Uuid::nil(),
        event_id: 0,
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
        if let Some((order, event)) = n.payload().split_once(':')
            && let (Ok(order_id), Ok(event_id)) = (Uuid::parse_str(order), event.parse())
        {
            // No subscribers is fine: nobody is watching.
            let _ = sender.send(OrderPing { order_id, event_id });
        }
    }
}
