//! The dispatch loop. Every server runs it, one at a time leads: the leader holds a Postgres
//! advisory lock on a dedicated connection, so if its process dies the lock goes with the
//! connection and another server takes over within a few seconds. The leader plans on new or
//! changed orders, courier and offer changes (LISTEN), and every few seconds regardless (offers
//! expire, couriers fall silent).

use std::time::Duration;

use app::dispatch::service::{DispatchConfig, PlanMemory, plan_round_from};
use app::state::AppState;
use sqlx::postgres::PgListener;

/// The advisory-lock key of the dispatch leader ("songda-dispatch" in ASCII, shortened).
pub const LEADER_LOCK: i64 = 0x736f_6e67_6461_0001;

/// How often the leader plans without being woken.
const TICK: Duration = Duration::from_secs(3);
/// Wake-ups closer than this are merged into one round.
const DEBOUNCE: Duration = Duration::from_millis(200);

pub async fn run_dispatcher(state: AppState) {
    let cfg = DispatchConfig {
        offer_ttl: state.settings.offer_ttl,
        ..DispatchConfig::default()
    };
    loop {
        match lead(&state, &cfg).await {
            Ok(()) => {}
            Err(e) => tracing::warn!("dispatch leadership lost or not taken: {e}"),
        }
        tokio::time::sleep(TICK).await;
    }
}

/// Tries to become the leader; while leading, plans until the lock's connection fails.
/// Returns `Ok(())` when another server leads.
async fn lead(state: &AppState, cfg: &DispatchConfig) -> Result<(), sqlx::Error> {
    let mut pooled = state.pool.acquire().await?;
    let leader = sqlx::query_scalar!("select pg_try_advisory_lock($1) as \"got!\"", LEADER_LOCK)
        .fetch_one(&mut *pooled)
        .await?;
    if !leader {
        return Ok(());
    }
    // The lock belongs to this session: take the connection out of the pool, so that when
    // leading ends (an error, shutdown) the connection closes and the lock goes with it,
    // instead of an idle pooled connection holding it forever.
    let mut conn = pooled.detach();
    tracing::info!("this server leads dispatch");
    let mut listener = PgListener::connect_with(&state.pool).await?;
    listener
        .listen_all(["songda_dispatch", "songda_order_events"])
        .await?;
    let mut trigger = "start";
    // Each round starts from the last plan: new orders are inserted into the routes couriers
    // are driving, then the search improves what it can in the budget.
    let mut memory = PlanMemory::default();
    loop {
        match plan_round_from(&state.pool, cfg, trigger, &mut memory).await {
            Ok(outcome) if outcome.offers > 0 || outcome.released > 0 => tracing::info!(
                "dispatch round ({trigger}): {} orders, {} couriers, {} offers, {} released, {} unserved, solved in {} ms",
                outcome.orders,
                outcome.couriers,
                outcome.offers,
                outcome.released,
                outcome.unserved,
                outcome.solve_ms
            ),
            Ok(_) => {}
            Err(e) => tracing::error!("dispatch round failed: {e}"),
        }
        // Still the leader? The lock lives as long as this connection.
        sqlx::query_scalar!("select 1 as \"one!\"")
            .fetch_one(&mut conn)
            .await?;
        trigger = tokio::select! {
            n = listener.recv() => {
                n?;
                // Let a burst of changes settle into one round.
                tokio::time::sleep(DEBOUNCE).await;
                while listener.next_buffered().is_some() {}
                "change"
            }
            _ = tokio::time::sleep(TICK) => "tick",
        };
    }
}
