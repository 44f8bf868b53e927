//! Songda's server: configuration, the private database, the router and its workers.
//! `main.rs` only parses the command line; tests build the same router with [`build_app`].

pub mod config;
pub mod dispatch;
pub mod embedded_pg;
pub mod http;
pub mod live;
pub mod loadgen;
pub mod merchant;
pub mod payments;
pub mod pod;
pub mod pwa;
pub mod security;
pub mod seed;
pub mod simulate;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::state::{AppState, Settings};
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::from_fn;
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
use embedded_pg::{PgOptions, PrivateCluster};

pub fn settings(config: &Config) -> Settings {
    Settings {
        secure: config.secure(),
        demo_mode: config.demo,
        session_ttl: config.session_ttl,
        auth_burst: std::num::NonZeroU32::new(config.auth_burst)
            .unwrap_or(std::num::NonZeroU32::MIN),
        auth_refill: config.auth_refill,
        payment_ttl: config.payment_ttl,
        offer_ttl: config.offer_ttl,
        sandbox_enabled: config.payment_sandbox.unwrap_or(!config.secure()),
        tile_url: config.tile_url.clone(),
        tile_attribution: config
            .tile_attribution
            .clone()
            .unwrap_or_else(|| app::state::OSM_ATTRIBUTION.to_string()),
        uploads_dir: config.uploads_dir.clone(),
        ..Settings::default()
    }
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match sqlx::query_scalar!("select 1 as one")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!("readiness check failed: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Runs inside each page render: puts this render's script nonce into the page's CSP.
fn page_csp() {
    let nonce = leptos::nonce::use_nonce();
    let res = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(res)) = (nonce, res)
        && let Some(csp) = security::page_content_security_policy(&nonce)
    {
        res.insert_header(header::CONTENT_SECURITY_POLICY, csp);
    }
}

/// The whole HTTP surface: pages, server fns, health checks, static files, and the layers
/// every response passes through.
pub fn build_app(state: AppState, body_limit_bytes: usize) -> Router {
    let routes = generate_route_list(App);
    let secure = state.settings.secure;
    let shell_options = state.leptos_options.clone();
    let x_request_id = HeaderName::from_static("x-request-id");

    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/sw.js", get(pwa::service_worker))
        .route("/readyz", get(readyz))
        .route("/api/v1/payments/{provider}/notify", post(payments::notify))
        .route("/api/live/orders/{id}", get(live::order_feed))
        .route("/api/live/orders/{id}/courier", get(live::courier_feed))
        .route("/api/live/stores/{id}", get(live::store_feed))
        .route(
            "/api/live/stores/{id}/couriers",
            get(live::store_couriers_feed),
        )
        .route("/api/live/ops", get(live::ops_feed))
        .route(
            "/merchant/stores/{id}/orders.csv",
            get(merchant::orders_csv),
        )
        .route("/media/{file}", get(merchant::media_file))
        .route("/api/orders/{id}/photo", get(pod::photo))
        .route(
            "/merchant/stores/{id}/export.csv",
            get(merchant::export_csv),
        )
        .leptos_routes_with_context(&state, routes, page_csp, move || {
            shell(shell_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn(security::server_fn_error_status))
        .layer(from_fn(security::refuse_cross_site))
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(body_limit_bytes))
        // Product images and delivery photos may be larger than other requests: their
        // handlers read at most 2 MiB / 1 MiB themselves (after authorizing), so these routes
        // skip the general body limit.
        .merge(
            Router::new()
                .route(
                    "/api/merchant/products/{id}/image",
                    post(merchant::upload_image),
                )
                .route("/api/courier/orders/{id}/photo", post(pod::upload))
                .layer(from_fn(security::refuse_cross_site)),
        )
        // Pages set their own (nonce-bearing) policy; everything else gets the strict one.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            security::content_security_policy(),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    if secure {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Leptos options for this process: the site files cargo-leptos built, served at `addr`.
pub fn leptos_options(addr: SocketAddr) -> Result<LeptosOptions, String> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| format!("Leptos configuration: {e}"))?
        .leptos_options;
    options.site_addr = addr;
    Ok(options)
}

/// Connects, creating the `songda` database in a private cluster on first start.
async fn connect(url: &str, create_db: bool) -> Result<PgPool, String> {
    let url = if create_db {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(|e| format!("connecting to the private PostgreSQL: {e}"))?;
        let exists = sqlx::query_scalar!(
            "select exists (select 1 from pg_database where datname = 'songda') as \"e!\""
        )
        .fetch_one(&admin)
        .await
        .map_err(|e| e.to_string())?;
        if !exists {
            sqlx::query("create database songda")
                .execute(&admin)
                .await
                .map_err(|e| format!("creating the songda database: {e}"))?;
        }
        admin.close().await;
        url.trim_end_matches("/postgres").to_string() + "/songda"
    } else {
        url.to_string()
    };
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .map_err(|e| format!("connecting to PostgreSQL: {e}"))
}

pub async fn migrate(pool: &PgPool) -> Result<(), String> {
    sqlx::migrate!("../migrations")
        .run(pool)
        .await
        .map_err(|e| format!("running migrations: {e}"))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn start_private_cluster(config: &Config) -> Result<PrivateCluster, String> {
    let opts = PgOptions {
        data_dir: config.data_dir.clone(),
        run_as: config.pg_user.clone(),
        fsync: config.pg_fsync,
    };
    tokio::task::spawn_blocking(move || PrivateCluster::start(&opts))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// `songda postgres`: only the private cluster, for the test command. Prints its URL.
pub async fn run_postgres_only(config: Config) -> Result<(), String> {
    let cluster = start_private_cluster(&config).await?;
    println!("DATABASE_URL={}", cluster.url);
    shutdown_signal().await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .map_err(|e| e.to_string())
}

/// `songda migrate`: applies the migrations to `DATABASE_URL` (used to prepare checked SQL).
pub async fn run_migrate_only(config: Config) -> Result<(), String> {
    let url = config
        .database_url
        .as_deref()
        .ok_or("set DATABASE_URL to the database to migrate")?;
    let pool = connect(url, false).await?;
    migrate(&pool).await?;
    pool.close().await;
    Ok(())
}

/// `songda`: the platform.
pub async fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    // Bind first: a taken port should fail in a second, before any database work.
    let listener = tokio::net::TcpListener::bind(config.addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "{} is already in use by another program. Stop it, or choose another address with SONGDA_ADDR=127.0.0.1:PORT.",
                config.addr
            )
        } else {
            format!("cannot listen on {}: {e}", config.addr)
        }
    })?;

    let cluster = match &config.database_url {
        Some(_) => None,
        None => Some(start_private_cluster(&config).await?),
    };
    let result = serve(
        &config,
        listener,
        cluster.as_ref().map(|c| c.url.clone()),
        started,
    )
    .await;
    if let Some(cluster) = cluster {
        let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
    }
    result
}

async fn serve(
    config: &Config,
    listener: tokio::net::TcpListener,
    private_url: Option<String>,
    started: Instant,
) -> Result<(), String> {
    let pool = match (&private_url, &config.database_url) {
        (Some(url), _) => connect(url, true).await?,
        (None, Some(url)) => connect(url, false).await?,
        (None, None) => return Err("no database configured".into()),
    };
    migrate(&pool).await?;
    if config.demo {
        let seeded = seed::seed_demo_city(&pool)
            .await
            .map_err(|e| format!("seeding the demo city: {e}"))?;
        if seeded {
            tracing::info!("demo city seeded");
        }
    }
    let options = leptos_options(config.addr)?;
    let mut settings = settings(config);
    settings.sandbox_secret = app::payments::sandbox::load_or_create_secret(&pool)
        .await
        .map_err(|e| format!("loading the sandbox payment secret: {e}"))?;
    let state = AppState::new(options, pool.clone(), settings);
    let app = build_app(state.clone(), config.body_limit_bytes);
    let sessions = tokio::spawn(purge_expired_sessions(pool.clone(), config.retention));
    let dispatcher = tokio::spawn(dispatch::run_dispatcher(state.clone()));
    let simulator = config
        .simulate
        .clone()
        .map(|sim| tokio::spawn(simulate::run_simulator(state.clone(), sim)));
    let workers = tokio::spawn(run_workers(state));

    println!(
        "Songda is ready at http://{} (started in {} ms{})",
        config.addr,
        started.elapsed().as_millis(),
        if private_url.is_some() {
            ", private database in .data/"
        } else {
            ""
        }
    );
    if let Some(sim) = &config.simulate {
        println!(
            "Simulating the city: {} orders/min, {} couriers, {} s preparation (SONGDA_SIM_ORDERS_PER_MIN, SONGDA_SIM_COURIERS, SONGDA_SIM_PREP_SECS)",
            sim.orders_per_min,
            sim.couriers,
            sim.prep.as_secs()
        );
    }
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"));
    workers.abort();
    dispatcher.abort();
    if let Some(simulator) = simulator {
        simulator.abort();
    }
    sessions.abort();
    pool.close().await;
    served
}

/// Background work every few seconds: unpaid orders past their deadline give their stock
/// back, orders no store accepted in time are rejected and refunded, and the outbox (refunds,
/// later channel webhooks) is delivered.
pub async fn run_workers(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app::payments::service::expire_unpaid(&state.pool, &state.payments).await {
            Ok(n) if n > 0 => {
                tracing::info!("{n} unpaid orders expired; their stock is back on sale")
            }
            Ok(_) => {}
            Err(e) => tracing::error!("expiring unpaid orders failed: {e}"),
        }
        match app::payments::service::expire_additions(&state.pool, &state.payments).await {
            Ok(n) if n > 0 => tracing::info!("{n} unpaid additions to orders dropped"),
            Ok(_) => {}
            Err(e) => tracing::error!("dropping unpaid additions failed: {e}"),
        }
        match app::orders::missing::resolve_timed_out(&state.pool).await {
            Ok(n) if n > 0 => tracing::info!("{n} missing items resolved by the store's default"),
            Ok(_) => {}
            Err(e) => tracing::error!("resolving unanswered missing items failed: {e}"),
        }
        match app::orders::merchant::auto_reject_overdue(&state.pool).await {
            Ok(n) if n > 0 => tracing::info!("{n} orders not accepted in time were rejected"),
            Ok(_) => {}
            Err(e) => tracing::error!("auto-rejecting overdue orders failed: {e}"),
        }
        loop {
            match app::payments::service::deliver_outbox(&state.pool, &state.payments).await {
                Ok(20..) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!("delivering the outbox failed: {e}");
                    break;
                }
            }
        }
    }
}

/// Hourly: expired sessions are useless, and planning rounds and courier positions are kept
/// only for their configured periods (privacy, and the tables stay small).
async fn purge_expired_sessions(pool: PgPool, keep: config::Retention) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match app::accounts::db::delete_expired_sessions(&pool).await {
            Ok(n) if n > 0 => tracing::info!("purged {n} expired sessions"),
            Ok(_) => {}
            Err(e) => tracing::error!("purging sessions failed: {e}"),
        }
        match app::dispatch::service::purge_history(&pool, keep.rounds, keep.positions).await {
            Ok((0, 0)) => {}
            Ok((r, p)) => tracing::info!("purged {r} planning rounds and {p} courier positions"),
            Err(e) => tracing::error!("purging dispatch history failed: {e}"),
        }
    }
}
