//! The boundary for turning text into places. No external geocoder is
//! reachable from a self-hosted install by default, so the built-in one knows the places this
//! platform itself knows (its stores and their streets) and the map pick does the rest; a
//! commercial geocoder (Amap, Baidu, Tencent, Nominatim) plugs in behind the same trait.

use std::future::Future;
use std::pin::Pin;

use sqlx::PgPool;

use super::model::Place;
use crate::geo::GeoPoint;

pub type GeoFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GeocodeError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    #[error("the geocoder is unreachable: {0}")]
    Unreachable(String),
}

pub trait Geocoder: Send + Sync {
    /// Places matching `query`, nearest to `near` first when given. At most `limit`.
    fn search<'a>(
        &'a self,
        query: &'a str,
        near: Option<GeoPoint>,
        limit: i64,
    ) -> GeoFuture<'a, Vec<Place>>;
}

/// Knows the stores of this installation: searching "人民广场" or "Xintiandi" finds the
/// neighbourhood, and the customer refines the point on the map.
pub struct StoreDirectory {
    pool: PgPool,
}

impl StoreDirectory {
    pub fn new(pool: PgPool) -> Self {
        StoreDirectory { pool }
    }
}

impl Geocoder for StoreDirectory {
    fn search<'a>(
        &'a self,
        query: &'a str,
        near: Option<GeoPoint>,
        limit: i64,
    ) -> GeoFuture<'a, Vec<Place>> {
        Box::pin(async move {
            let pattern = crate::catalog::db::contains_pattern(query.trim());
            let rows = sqlx::query!(
                "select name, address, lat, lng from stores
                 where address ilike $1 or name ilike $1
                 order by power(lat - $2, 2) + power(lng - $3, 2), name
                 limit $4",
                pattern,
                near.map_or(0.0, |p| p.lat),
                near.map_or(0.0, |p| p.lng),
                limit
            )
            .fetch_all(&self.pool)
            .await
            .map_err(|e| GeocodeError::Unreachable(e.to_string()))?;
            Ok(rows
                .into_iter()
                .map(|r| Place {
                    label: format!("{} ({})", r.address, r.name),
                    point: GeoPoint {
                        lat: r.lat,
                        lng: r.lng,
                    },
                })
                .collect())
        })
    }
}
