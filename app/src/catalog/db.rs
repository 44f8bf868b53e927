//! SQL for stores and catalog. No business rules here.

use sqlx::PgPool;
use uuid::Uuid;

use super::model::{CategoryTab, ProductCard, StockLine, StockState, StoreCard};
use crate::money::Money;
use crate::page::PageReq;

struct StoreCardRow {
    id: Uuid,
    name: String,
    kind: String,
    address: String,
    rating_x10: i16,
    prep_time_min: i32,
    delivery_radius_m: i32,
    min_order_fen: i64,
    open_now: bool,
    product_count: i64,
}

impl From<StoreCardRow> for StoreCard {
    fn from(r: StoreCardRow) -> Self {
        StoreCard {
            id: r.id,
            name: r.name,
            kind: r.kind,
            address: r.address,
            rating_x10: r.rating_x10,
            prep_time_min: r.prep_time_min,
            delivery_radius_m: r.delivery_radius_m,
            min_order: Money::from_fen(r.min_order_fen),
            open_now: r.open_now,
            product_count: r.product_count,
        }
    }
}

/// A `LIKE` pattern matching `q` anywhere, with `%`, `_` and `\` taken literally.
pub fn contains_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Stores in `ids` (or all when `ids` is `None`) whose name or kind matches `pattern` (or all),
/// by name, with open-now in each store's time zone.
async fn store_cards(
    pool: &PgPool,
    ids: Option<&[Uuid]>,
    pattern: Option<&str>,
    page: PageReq,
) -> Result<Vec<StoreCard>, sqlx::Error> {
    let rows = sqlx::query_as!(
        StoreCardRow,
        r#"select s.id, s.name, s.kind, s.address, s.rating_x10, s.prep_time_min, s.delivery_radius_m,
                  s.min_order_fen,
                  -- a paused store (busy switch) shows as closed: checkout would refuse it anyway.
                  (s.accepting_orders and store_open_at(s.id, s.time_zone, now())) as "open_now!",
                  (select count(*) from products p where p.store_id = s.id and p.listed) as "product_count!"
           from stores s
           where ($1::uuid[] is null or s.id = any($1))
             and ($4::text is null or s.name ilike $4 or s.kind ilike $4)
           order by s.name, s.id
           limit $2 offset $3"#,
        ids as Option<&[Uuid]>,
        page.limit(),
        page.offset(),
        pattern
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(StoreCard::from).collect())
}

pub async fn list_stores(
    pool: &PgPool,
    page: PageReq,
) -> Result<(Vec<StoreCard>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(r#"select count(*) as "n!" from stores"#)
        .fetch_one(pool)
        .await?;
    Ok((store_cards(pool, None, None, page).await?, total))
}

pub async fn store_card(pool: &PgPool, id: Uuid) -> Result<Option<StoreCard>, sqlx::Error> {
    Ok(store_cards(pool, Some(&[id]), None, PageReq::new(1, 1))
        .await?
        .pop())
}

/// The stores a user belongs to, with their role in each.
pub async fn member_stores(
    pool: &PgPool,
    user_id: Uuid,
    page: PageReq,
) -> Result<(Vec<(StoreCard, String)>, i64), sqlx::Error> {
    let members = sqlx::query!(
        "select store_id, role from store_members where user_id = $1",
        user_id
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.store_id).collect();
    let cards = store_cards(pool, Some(&ids), None, page).await?;
    let with_roles = cards
        .into_iter()
        .map(|card| {
            let role = members
                .iter()
                .find(|m| m.store_id == card.id)
                .map(|m| m.role.clone())
                .unwrap_or_default();
            (card, role)
        })
        .collect();
    Ok((with_roles, members.len() as i64))
}

pub async fn stock_lines(
    pool: &PgPool,
    store_id: Uuid,
    page: PageReq,
) -> Result<(Vec<StockLine>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from products where store_id = $1"#,
        store_id
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select p.id, p.name, c.name as category, p.unit, p.price_fen, p.listed,
                  coalesce(s.on_hand, 0) as "on_hand!", coalesce(s.reserved, 0) as "reserved!"
           from products p
           join categories c on c.id = p.category_id
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.store_id = $1
           order by c.position, p.name, p.id
           limit $2 offset $3"#,
        store_id,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?;
    let lines = rows
        .into_iter()
        .map(|r| StockLine {
            product_id: r.id,
            name: r.name,
            category: r.category,
            unit: r.unit,
            price: Money::from_fen(r.price_fen),
            on_hand: r.on_hand,
            reserved: r.reserved,
            listed: r.listed,
        })
        .collect();
    Ok((lines, total))
}

/// Stores whose name or kind matches `pattern` (from [`contains_pattern`]), at most `limit`.
pub async fn search_stores(
    pool: &PgPool,
    pattern: &str,
    limit: u32,
) -> Result<Vec<StoreCard>, sqlx::Error> {
    store_cards(pool, None, Some(pattern), PageReq::new(1, limit)).await
}

/// A store's categories with how many listed products each has, in shelf order.
pub async fn category_tabs(pool: &PgPool, store_id: Uuid) -> Result<Vec<CategoryTab>, sqlx::Error> {
    sqlx::query_as!(
        CategoryTab,
        r#"select c.id, c.name,
                  (select count(*) from products p where p.category_id = c.id and p.listed) as "products!"
           from categories c
           where c.store_id = $1
           order by c.position, c.name"#,
        store_id
    )
    .fetch_all(pool)
    .await
}

/// Which listed products to show: of one store and/or category, matching a name pattern.
pub struct ProductFilter<'a> {
    pub store_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub pattern: Option<&'a str>,
}

/// Listed products matching `filter` with their store's name, and how many match in all.
pub async fn product_cards(
    pool: &PgPool,
    filter: &ProductFilter<'_>,
    page: PageReq,
) -> Result<(Vec<(ProductCard, String)>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from products p
           where p.listed
             and ($1::uuid is null or p.store_id = $1)
             and ($2::uuid is null or p.category_id = $2)
             and ($3::text is null or p.name ilike $3)"#,
        filter.store_id,
        filter.category_id,
        filter.pattern
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select p.id, p.store_id, p.name, c.name as category, p.unit, p.price_fen,
                  coalesce(s.on_hand, 0) as "on_hand!", coalesce(s.reserved, 0) as "reserved!",
                  st.name as store_name, p.image_file
           from products p
           join categories c on c.id = p.category_id
           join stores st on st.id = p.store_id
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.listed
             and ($1::uuid is null or p.store_id = $1)
             and ($2::uuid is null or p.category_id = $2)
             and ($3::text is null or p.name ilike $3)
           order by st.name, c.position, p.name, p.id
           limit $4 offset $5"#,
        filter.store_id,
        filter.category_id,
        filter.pattern,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?;
    let cards = rows
        .into_iter()
        .map(|r| {
            let card = ProductCard {
                id: r.id,
                store_id: r.store_id,
                name: r.name,
                category: r.category,
                unit: r.unit,
                price: Money::from_fen(r.price_fen),
                stock: StockState::from_levels(r.on_hand, r.reserved),
                image_url: r.image_file.as_deref().map(super::admin::image_url),
            };
            (card, r.store_name)
        })
        .collect();
    Ok((cards, total))
}

/// Stores (of one kind, or all) by straight-line distance from a point, nearest first.
/// The haversine here matches `routing::haversine_m` (same formula and radius).
pub async fn nearby_store_ids(
    pool: &PgPool,
    lat: f64,
    lng: f64,
    kind: Option<&str>,
    page: PageReq,
) -> Result<(Vec<(Uuid, f64)>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from stores where $1::text is null or kind = $1"#,
        kind
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select id, distance_m as "distance_m!" from (
               select s.id, 2 * 6371008.8 * asin(sqrt(
                          power(sin(radians(s.lat - $1) / 2), 2)
                          + cos(radians($1)) * cos(radians(s.lat)) * power(sin(radians(s.lng - $2) / 2), 2)
                      )) as distance_m
               from stores s
               where $3::text is null or s.kind = $3
           ) d
           order by distance_m, id
           limit $4 offset $5"#,
        lat,
        lng,
        kind,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?;
    Ok((
        rows.into_iter().map(|r| (r.id, r.distance_m)).collect(),
        total,
    ))
}

pub async fn store_cards_by_id(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<StoreCard>, sqlx::Error> {
    store_cards(pool, Some(ids), None, PageReq::new(1, 100)).await
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_in_searches_are_literal() {
        assert_eq!(contains_pattern("milk"), "%milk%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
