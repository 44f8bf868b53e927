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

use crate::error::AppError;

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure: false,
            demo_mode: true,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            auth_burst: NonZeroU32::new(10).expect("10 is not zero"),
            auth_refill: Duration::from_secs(6),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub auth_limiter: Arc<AuthLimiter>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, pool: PgPool, settings: Settings) -> Self {
        let auth_limiter = Arc::new(AuthLimiter::new(&settings));
        AppState {
            leptos_options,
            pool,
            settings: Arc::new(settings),
            auth_limiter,
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
