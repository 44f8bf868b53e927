//! Configuration from `SONGDA_*` environment variables; every one has a default for the demo.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub pg_user: String,
    pub pg_fsync: bool,
    pub public_url: Option<String>,
    pub demo: bool,
    pub body_limit_bytes: usize,
    pub session_ttl: Duration,
    pub auth_burst: u32,
    pub auth_refill: Duration,
    pub payment_ttl: Duration,
    pub offer_ttl: Duration,
    /// The sandbox payment provider; defaults to on for plain http (demo), off for https.
    pub payment_sandbox: Option<bool>,
    /// `None`: maps without tiles (`SONGDA_TILE_URL=none`).
    pub tile_url: Option<String>,
    pub tile_attribution: Option<String>,
    /// Uploaded product images (`SONGDA_UPLOADS_DIR`, default `<data dir>/uploads`).
    pub uploads_dir: PathBuf,
    pub retention: Retention,
    /// `songda --simulate` (or `SONGDA_SIMULATE=true`): the simulated city, with its rates.
    pub simulate: Option<crate::simulate::SimConfig>,
}

/// How long history is kept before the hourly purge deletes it.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Dispatch planning rounds and their snapshots (`SONGDA_ROUNDS_KEEP_DAYS`, default 7).
    pub rounds: Duration,
    /// Courier position history (`SONGDA_POSITIONS_KEEP_DAYS`, default 30).
    pub positions: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {message} (got {value:?})")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    message: &'static str,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(
    name: &'static str,
    default: T,
    message: &'static str,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            name,
            value: v,
            message,
        }),
    }
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(ConfigError {
            name,
            value: v,
            message: "use true or false",
        }),
    }
}

/// The simulator's rates (`SONGDA_SIM_*`).
pub fn sim_config() -> Result<crate::simulate::SimConfig, ConfigError> {
    let d = crate::simulate::SimConfig::default();
    let orders_per_min: f64 = parse(
        "SONGDA_SIM_ORDERS_PER_MIN",
        d.orders_per_min,
        "a number of orders per minute, 0 to 600",
    )?;
    if !(0.0..=600.0).contains(&orders_per_min) {
        return Err(ConfigError {
            name: "SONGDA_SIM_ORDERS_PER_MIN",
            value: orders_per_min.to_string(),
            message: "a number of orders per minute, 0 to 600",
        });
    }
    Ok(crate::simulate::SimConfig {
        orders_per_min,
        couriers: parse("SONGDA_SIM_COURIERS", d.couriers, "a number of couriers")?,
        prep: Duration::from_secs(
            parse(
                "SONGDA_SIM_PREP_SECS",
                d.prep.as_secs(),
                "a number of seconds",
            )?
            .clamp(5, 3600),
        ),
        seed: parse("SONGDA_SIM_SEED", d.seed, "a whole number")?,
    })
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let addr_default: SocketAddr = var("LEPTOS_SITE_ADDR")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8710)));
        Ok(Config {
            addr: parse(
                "SONGDA_ADDR",
                addr_default,
                "use host:port, e.g. 127.0.0.1:8710",
            )?,
            database_url: var("DATABASE_URL"),
            data_dir: PathBuf::from(var("SONGDA_DATA_DIR").unwrap_or_else(|| ".data".into())),
            pg_user: var("SONGDA_PG_USER").unwrap_or_else(|| "postgres".into()),
            pg_fsync: flag("SONGDA_PG_FSYNC", true)?,
            public_url: var("SONGDA_PUBLIC_URL"),
            demo: flag("SONGDA_DEMO", true)?,
            body_limit_bytes: parse("SONGDA_BODY_LIMIT_KB", 1024usize, "a size in KiB")? * 1024,
            session_ttl: Duration::from_secs(
                parse("SONGDA_SESSION_DAYS", 30u64, "a number of days")? * 86_400,
            ),
            auth_burst: parse("SONGDA_AUTH_BURST", 10u32, "a count above 0")?.max(1),
            auth_refill: Duration::from_secs(
                parse("SONGDA_AUTH_REFILL_SECS", 6u64, "a number of seconds")?.max(1),
            ),
            payment_ttl: Duration::from_secs(
                parse("SONGDA_PAYMENT_TTL_MIN", 15u64, "a number of minutes")?.clamp(1, 24 * 60)
                    * 60,
            ),
            offer_ttl: Duration::from_secs(
                parse("SONGDA_OFFER_TTL_SECS", 30u64, "a number of seconds")?.clamp(5, 600),
            ),
            tile_url: match var("SONGDA_TILE_URL") {
                None => Some(app::state::OSM_TILES.to_string()),
                Some(v) if v.eq_ignore_ascii_case("none") => None,
                Some(v) if v.starts_with("https://") || v.starts_with("http://") => Some(v),
                Some(v) => {
                    return Err(ConfigError {
                        name: "SONGDA_TILE_URL",
                        value: v,
                        message: "use an http(s) URL with {z}/{x}/{y}, or none",
                    });
                }
            },
            tile_attribution: var("SONGDA_TILE_ATTRIBUTION"),
            uploads_dir: PathBuf::from(var("SONGDA_UPLOADS_DIR").unwrap_or_else(|| {
                format!(
                    "{}/uploads",
                    var("SONGDA_DATA_DIR").unwrap_or_else(|| ".data".into())
                )
            })),
            payment_sandbox: match var("SONGDA_PAYMENT_SANDBOX") {
                None => None,
                Some(_) => Some(flag("SONGDA_PAYMENT_SANDBOX", false)?),
            },
            retention: Retention {
                rounds: Duration::from_secs(
                    parse("SONGDA_ROUNDS_KEEP_DAYS", 7u64, "a number of days")?.max(1) * 86_400,
                ),
                positions: Duration::from_secs(
                    parse("SONGDA_POSITIONS_KEEP_DAYS", 30u64, "a number of days")?.max(1) * 86_400,
                ),
            },
            simulate: match flag("SONGDA_SIMULATE", false)? {
                false => None,
                true => Some(sim_config()?),
            },
        })
    }

    /// Served over https (from `SONGDA_PUBLIC_URL`): secure cookies and HSTS.
    pub fn secure(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
