//! What every request handler on the server can reach: the pool, the settings, the limiters.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::addresses::geocoder::{Geocoder, StoreDirectory};
use crate::error::AppError;
use crate::live::LiveHub;
use crate::payments::service::Payments;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Served over https: cookies get `Secure` and the `__Host-` prefix, and HSTS is sent.
    pub secure: bool,
    /// Demo mode lists the demo accounts on the login page.
    pub demo_mode: bool,
    pub session_ttl: Duration,
    /// Login and sign-up attempts allowed from one address in a burst…
    pub auth_burst: NonZeroU32,
    /// …and the pause after which one more attempt is allowed.
    pub auth_refill: Duration,
    /// How long an unpaid order holds its stock.
    pub payment_ttl: Duration,
    /// How long a courier has to answer a dispatch offer.
    pub offer_ttl: Duration,
    /// The sandbox payment provider's HMAC key (kept in `app_meta` by the server).
    pub sandbox_secret: Vec<u8>,
    /// Offer the sandbox provider (its page lets payers approve their own payments: for
    /// demos and tests, never for real money).
    pub sandbox_enabled: bool,
    /// Map tiles (`{z}/{x}/{y}` template); none draws maps on a plain background.
    pub tile_url: Option<String>,
    pub tile_attribution: String,
    /// Where uploaded product images are stored (content-addressed file names).
    pub uploads_dir: std::path::PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure: false,
            demo_mode: true,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            auth_burst: NonZeroU32::new(10).expect("10 is not zero"),
            auth_refill: Duration::from_secs(6),
            payment_ttl: Duration::from_secs(15 * 60),
            offer_ttl: Duration::from_secs(30),
            sandbox_secret: random_secret(),
            sandbox_enabled: true,
            tile_url: Some(OSM_TILES.to_string()),
            tile_attribution: OSM_ATTRIBUTION.to_string(),
            uploads_dir: std::path::PathBuf::from(".data/uploads"),
        }
    }
}

pub const OSM_TILES: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
pub const OSM_ATTRIBUTION: &str =
    "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors";

fn random_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 32];
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::error!("no OS randomness for the sandbox secret: {e}");
    }
    bytes
}

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub auth_limiter: Arc<AuthLimiter>,
    pub payments: Arc<Payments>,
    pub live: Arc<LiveHub>,
    pub geocoder: Arc<dyn Geocoder>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, pool: PgPool, settings: Settings) -> Self {
        let auth_limiter = Arc::new(AuthLimiter::new(&settings));
        // Providers call back on the address this process serves (loopback when bound to all).
        let mut addr = leptos_options.site_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let payments = Arc::new(Payments::new(
            pool.clone(),
            settings
                .sandbox_enabled
                .then(|| settings.sandbox_secret.clone()),
            format!("http://{addr}"),
        ));
        let live = Arc::new(LiveHub::new(&pool));
        let geocoder = Arc::new(StoreDirectory::new(pool.clone()));
        AppState {
            leptos_options,
            pool,
            settings: Arc::new(settings),
            auth_limiter,
            payments,
            live,
            geocoder,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Slows down guessing: every login or sign-up attempt from one address takes a token.
pub struct AuthLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl AuthLimiter {
    fn new(settings: &Settings) -> Self {
        let quota = Quota::with_period(settings.auth_refill)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(settings.auth_burst);
        AuthLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    pub fn check(&self, ip: IpAddr) -> Result<(), AppError> {
        self.limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            }
        })?;
        // Forget addresses whose bucket is full again, so the map does not grow without bound.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        Ok(())
    }
}
