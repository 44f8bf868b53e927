//! The merchant console's catalog, stock and store settings: the rules and their SQL.
//!
//! Stock changes never write `stock_ledger` themselves: a trigger on `stock_levels` does, for
//! every path (console, CSV import, checkout, cancellation, seed). Code here only says why
//! (`songda.stock_reason`, `songda.actor_id`, `songda.stock_note`, transaction-local).

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::admin_model::{
    AdminCategory, AdminProduct, CatalogAdmin, ExceptionInput, HourException, ImportReport,
    ImportRow, ItemName, LedgerEntry, OpenRange, Price, PriceChange, ProductHistory, SettingsInput,
    StockAdjustment, StoreSettings, Threshold, Unit,
};
use crate::dispatch::model::Restriction;
use crate::error::AppError;
use crate::money::Money;
use crate::page::PageReq;

/// What a product form (or a CSV row) says about a product.
pub struct ProductInput {
    pub name: ItemName,
    pub category_id: Uuid,
    pub unit: Unit,
    pub price: Price,
    pub threshold: Threshold,
    pub listed: bool,
}

pub fn image_url(file: &str) -> String {
    format!("/media/{file}")
}

struct AdminProductRow {
    id: Uuid,
    name: String,
    category_id: Uuid,
    category: String,
    unit: String,
    price_fen: i64,
    listed: bool,
    low_stock_threshold: i32,
    image_file: Option<String>,
    on_hand: i32,
    reserved: i32,
    restricted: Option<String>,
}

impl From<AdminProductRow> for AdminProduct {
    fn from(r: AdminProductRow) -> Self {
        AdminProduct {
            id: r.id,
            name: r.name,
            category_id: r.category_id,
            category: r.category,
            unit: r.unit,
            price: Money::from_fen(r.price_fen),
            listed: r.listed,
            on_hand: r.on_hand,
            reserved: r.reserved,
            low_stock_threshold: r.low_stock_threshold,
            image_url: r.image_file.as_deref().map(image_url),
            restricted: r.restricted.as_deref().and_then(Restriction::parse),
        }
    }
}

/// Says why stock is about to change, for the ledger rows the trigger writes in this transaction.
async fn stock_context(
    tx: &mut Transaction<'_, Postgres>,
    reason: &str,
    actor: Uuid,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select set_config('songda.stock_reason', $1, true) as reason,
                set_config('songda.actor_id', $2, true) as actor,
                set_config('songda.stock_note', $3, true) as note",
        reason,
        actor.to_string(),
        note.unwrap_or("")
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

pub struct CatalogFilter<'a> {
    pub pattern: Option<&'a str>,
    pub low_only: bool,
}

/// Listed products whose available stock (on hand − reserved) is at or below their threshold.
pub async fn low_stock_count(pool: &PgPool, store_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from products p
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.store_id = $1 and p.listed
             and coalesce(s.on_hand - s.reserved, 0) <= p.low_stock_threshold"#,
        store_id
    )
    .fetch_one(pool)
    .await
}

pub async fn catalog(
    pool: &PgPool,
    store_id: Uuid,
    is_owner: bool,
    filter: &CatalogFilter<'_>,
    page: PageReq,
) -> Result<CatalogAdmin, AppError> {
    let store = sqlx::query!(
        "select name, accepting_orders from stores where id = $1",
        store_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from products p
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.store_id = $1
             and ($2::text is null or p.name ilike $2)
             and (not $3 or (p.listed and coalesce(s.on_hand - s.reserved, 0) <= p.low_stock_threshold))"#,
        store_id,
        filter.pattern,
        filter.low_only
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as!(
        AdminProductRow,
        r#"select p.id, p.name, p.category_id, c.name as category, p.unit, p.price_fen, p.listed,
                  p.low_stock_threshold, p.image_file,
                  coalesce(s.on_hand, 0) as "on_hand!", coalesce(s.reserved, 0) as "reserved!", p.restricted
           from products p
           join categories c on c.id = p.category_id
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.store_id = $1
             and ($2::text is null or p.name ilike $2)
             and (not $3 or (p.listed and coalesce(s.on_hand - s.reserved, 0) <= p.low_stock_threshold))
           order by c.position, c.name, p.name, p.id
           limit $4 offset $5"#,
        store_id,
        filter.pattern,
        filter.low_only,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?;
    Ok(CatalogAdmin {
        store_id,
        store_name: store.name,
        is_owner,
        accepting_orders: store.accepting_orders,
        categories: categories(pool, store_id).await?,
        low_stock_count: low_stock_count(pool, store_id).await?,
        products: page.wrap(rows.into_iter().map(AdminProduct::from).collect(), total),
    })
}

/// A store's categories in shelf order (a store has a handful, not pages of them).
pub async fn categories(pool: &PgPool, store_id: Uuid) -> Result<Vec<AdminCategory>, sqlx::Error> {
    sqlx::query_as!(
        AdminCategory,
        r#"select c.id, c.name, c.position,
                  (select count(*) from products p where p.category_id = c.id) as "products!"
           from categories c where c.store_id = $1
           order by c.position, c.name
           limit 200"#,
        store_id
    )
    .fetch_all(pool)
    .await
}

pub async fn product(
    pool: &PgPool,
    store_id: Uuid,
    product_id: Uuid,
) -> Result<AdminProduct, AppError> {
    let row = sqlx::query_as!(
        AdminProductRow,
        r#"select p.id, p.name, p.category_id, c.name as category, p.unit, p.price_fen, p.listed,
                  p.low_stock_threshold, p.image_file,
                  coalesce(s.on_hand, 0) as "on_hand!", coalesce(s.reserved, 0) as "reserved!", p.restricted
           from products p
           join categories c on c.id = p.category_id
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.store_id = $1 and p.id = $2"#,
        store_id,
        product_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(row.into())
}

pub async fn product_history(
    pool: &PgPool,
    store_id: Uuid,
    product_id: Uuid,
    page: PageReq,
) -> Result<ProductHistory, AppError> {
    let product = product(pool, store_id, product_id).await?;
    let price_total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from price_history where product_id = $1"#,
        product_id
    )
    .fetch_one(pool)
    .await?;
    let prices = sqlx::query!(
        r#"select h.old_price_fen, h.new_price_fen, u.display_name as "changed_by?", h.changed_at
           from price_history h left join users u on u.id = h.changed_by
           where h.product_id = $1
           order by h.id desc limit $2 offset $3"#,
        product_id,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| PriceChange {
        old_price: Money::from_fen(r.old_price_fen),
        new_price: Money::from_fen(r.new_price_fen),
        changed_by: r.changed_by,
        changed_at: r.changed_at,
    })
    .collect();
    let ledger_total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from stock_ledger where store_id = $1 and product_id = $2"#,
        store_id,
        product_id
    )
    .fetch_one(pool)
    .await?;
    let ledger = sqlx::query_as!(
        LedgerEntry,
        r#"select l.id, l.delta, l.on_hand_after, l.reason, l.note,
                  u.display_name as "actor?", o.number as "order_number?", l.at
           from stock_ledger l
           left join users u on u.id = l.actor_id
           left join orders o on o.id = l.order_id
           where l.store_id = $1 and l.product_id = $2
           order by l.id desc limit $3 offset $4"#,
        store_id,
        product_id,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?;
    Ok(ProductHistory {
        product,
        prices: page.wrap(prices, price_total),
        ledger: page.wrap(ledger, ledger_total),
    })
}

async fn require_category(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    category_id: Uuid,
) -> Result<(), AppError> {
    let found = sqlx::query_scalar!(
        "select id from categories where id = $1 and store_id = $2",
        category_id,
        store_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    found.map(|_| ()).ok_or_else(|| {
        AppError::validation(
            "category_id",
            "Choose one of this store's categories (or create the category first).",
        )
    })
}

/// Two products of one category may not share a name: CSV files match products by it.
async fn refuse_duplicate_name(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    category_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<(), AppError> {
    let taken = sqlx::query_scalar!(
        r#"select exists (select 1 from products
                          where store_id = $1 and category_id = $2 and lower(name) = lower($3)
                            and ($4::uuid is null or id <> $4)) as "taken!""#,
        store_id,
        category_id,
        name,
        except
    )
    .fetch_one(&mut **tx)
    .await?;
    if taken {
        return Err(AppError::validation(
            "name",
            "This category already has a product with this name: choose another name or edit that product.",
        ));
    }
    Ok(())
}

async fn insert_product(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    input: &ProductInput,
    on_hand: i32,
) -> Result<Uuid, AppError> {
    require_category(tx, store_id, input.category_id).await?;
    refuse_duplicate_name(tx, store_id, input.category_id, input.name.as_str(), None).await?;
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into products (id, store_id, category_id, name, unit, price_fen, listed, low_stock_threshold)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        store_id,
        input.category_id,
        input.name.as_str(),
        input.unit.as_str(),
        input.price.money().fen(),
        input.listed,
        input.threshold.get()
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into stock_levels (store_id, product_id, on_hand) values ($1, $2, $3)",
        store_id,
        id,
        on_hand
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Updates a product; a new price is kept in `price_history`. Returns whether anything changed.
async fn update_product_in(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    actor: Uuid,
    product_id: Uuid,
    input: &ProductInput,
) -> Result<bool, AppError> {
    let old = sqlx::query!(
        "select name, category_id, unit, price_fen, listed, low_stock_threshold
         from products where id = $1 and store_id = $2 for update",
        product_id,
        store_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let price = input.price.money().fen();
    let changed = old.name != input.name.as_str()
        || old.category_id != input.category_id
        || old.unit != input.unit.as_str()
        || old.price_fen != price
        || old.listed != input.listed
        || old.low_stock_threshold != input.threshold.get();
    if !changed {
        return Ok(false);
    }
    require_category(tx, store_id, input.category_id).await?;
    refuse_duplicate_name(
        tx,
        store_id,
        input.category_id,
        input.name.as_str(),
        Some(product_id),
    )
    .await?;
    sqlx::query!(
        "update products set name = $2, category_id = $3, unit = $4, price_fen = $5, listed = $6,
                low_stock_threshold = $7
         where id = $1",
        product_id,
        input.name.as_str(),
        input.category_id,
        input.unit.as_str(),
        price,
        input.listed,
        input.threshold.get()
    )
    .execute(&mut **tx)
    .await?;
    if old.price_fen != price {
        sqlx::query!(
            "insert into price_history (product_id, old_price_fen, new_price_fen, changed_by)
             values ($1, $2, $3, $4)",
            product_id,
            old.price_fen,
            price,
            actor
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// Creates (`product_id` none) or edits a product.
pub async fn save_product(
    pool: &PgPool,
    store_id: Uuid,
    actor: Uuid,
    product_id: Option<Uuid>,
    input: ProductInput,
) -> Result<AdminProduct, AppError> {
    let mut tx = pool.begin().await?;
    let id = match product_id {
        Some(id) => {
            update_product_in(&mut tx, store_id, actor, id, &input).await?;
            id
        }
        None => {
            stock_context(&mut tx, "opening", actor, Some("new product")).await?;
            insert_product(&mut tx, store_id, &input, 0).await?
        }
    };
    tx.commit().await?;
    product(pool, store_id, id).await
}

/// Marks a product as restricted (an ID check at the door) or not (`None`).
pub async fn set_restricted(
    pool: &PgPool,
    store_id: Uuid,
    product_id: Uuid,
    restricted: Option<Restriction>,
) -> Result<AdminProduct, AppError> {
    let done = sqlx::query!(
        "update products set restricted = $3 where id = $1 and store_id = $2",
        product_id,
        store_id,
        restricted.map(Restriction::as_str)
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    product(pool, store_id, product_id).await
}

pub async fn set_listed(
    pool: &PgPool,
    store_id: Uuid,
    product_id: Uuid,
    listed: bool,
) -> Result<AdminProduct, AppError> {
    let done = sqlx::query!(
        "update products set listed = $3 where id = $1 and store_id = $2",
        product_id,
        store_id,
        listed
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    product(pool, store_id, product_id).await
}

/// Changes on hand by hand. It may not drop below what open orders hold (`reserved`).
async fn adjust_in(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    product_id: Uuid,
    adj: StockAdjustment,
) -> Result<(), AppError> {
    let level = sqlx::query!(
        "select on_hand, reserved from stock_levels
         where store_id = $1 and product_id = $2 for update",
        store_id,
        product_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let Some(next) = adj.apply_to(level.on_hand) else {
        return Err(AppError::validation(
            "quantity",
            format!(
                "Only {} on hand: write off at most that many, or count the shelf instead.",
                level.on_hand
            ),
        ));
    };
    if next < level.reserved {
        return Err(AppError::validation(
            "quantity",
            format!(
                "{} are held by open orders, so on hand cannot go below {}. Cancel or reject those orders first.",
                level.reserved, level.reserved
            ),
        ));
    }
    sqlx::query!(
        "update stock_levels set on_hand = $3 where store_id = $1 and product_id = $2",
        store_id,
        product_id,
        next
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn adjust_stock(
    pool: &PgPool,
    store_id: Uuid,
    actor: Uuid,
    product_id: Uuid,
    adj: StockAdjustment,
    note: Option<String>,
) -> Result<AdminProduct, AppError> {
    let mut tx = pool.begin().await?;
    stock_context(&mut tx, adj.kind.as_str(), actor, note.as_deref()).await?;
    adjust_in(&mut tx, store_id, product_id, adj).await?;
    tx.commit().await?;
    product(pool, store_id, product_id).await
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

fn category_taken() -> AppError {
    AppError::validation(
        "name",
        "This store already has a category with this name: choose another name.",
    )
}

/// Creates a category at the end of the shelf, or renames one.
pub async fn save_category(
    pool: &PgPool,
    store_id: Uuid,
    category_id: Option<Uuid>,
    name: ItemName,
) -> Result<AdminCategory, AppError> {
    let id = match category_id {
        Some(id) => {
            let done = sqlx::query!(
                "update categories set name = $3 where id = $1 and store_id = $2",
                id,
                store_id,
                name.as_str()
            )
            .execute(pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    category_taken()
                } else {
                    e.into()
                }
            })?;
            if done.rows_affected() == 0 {
                return Err(AppError::NotFound);
            }
            id
        }
        None => {
            let id = Uuid::now_v7();
            sqlx::query!(
                "insert into categories (id, store_id, name, position)
                 select $1, $2, $3, coalesce(max(position) + 1, 0) from categories where store_id = $2",
                id,
                store_id,
                name.as_str()
            )
            .execute(pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    category_taken()
                } else {
                    e.into()
                }
            })?;
            id
        }
    };
    categories(pool, store_id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound)
}

/// Moves a category one place up or down the shelf (positions are renumbered 0..n).
pub async fn move_category(
    pool: &PgPool,
    store_id: Uuid,
    category_id: Uuid,
    up: bool,
) -> Result<Vec<AdminCategory>, AppError> {
    let mut tx = pool.begin().await?;
    let mut ids = sqlx::query_scalar!(
        "select id from categories where store_id = $1 order by position, name for update",
        store_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let at = ids
        .iter()
        .position(|id| *id == category_id)
        .ok_or(AppError::NotFound)?;
    let other = if up {
        at.checked_sub(1)
    } else {
        Some(at + 1).filter(|i| *i < ids.len())
    };
    if let Some(other) = other {
        ids.swap(at, other);
    }
    sqlx::query!(
        "update categories c set position = t.pos - 1
         from unnest($1::uuid[]) with ordinality as t(id, pos)
         where c.id = t.id and c.store_id = $2",
        &ids,
        store_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(categories(pool, store_id).await?)
}

pub async fn set_image(
    pool: &PgPool,
    store_id: Uuid,
    product_id: Uuid,
    file: &str,
) -> Result<AdminProduct, AppError> {
    let done = sqlx::query!(
        "update products set image_file = $3 where id = $1 and store_id = $2",
        product_id,
        store_id,
        file
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    product(pool, store_id, product_id).await
}

/// The store a product belongs to (for routes that only know the product).
pub async fn store_of_product(
    pool: &PgPool,
    product_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("select store_id from products where id = $1", product_id)
        .fetch_optional(pool)
        .await
}

// ----- CSV -----

/// The CSV columns, in export order. Import needs the header; column order is free.
pub const CSV_COLUMNS: [&str; 9] = [
    "product_id",
    "category",
    "name",
    "unit",
    "price",
    "listed",
    "low_stock_threshold",
    "on_hand",
    "restricted",
];

/// The `restricted` cell of a product without an ID check.
const UNRESTRICTED: &str = "none";

/// Spreadsheets run cells starting with = + - @ as formulas: exported text cells get a
/// leading apostrophe, which import removes again, so a round trip changes nothing.
fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn csv_unquote(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => s,
    }
}

fn yuan(m: Money) -> String {
    format!("{}.{:02}", m.fen() / 100, m.fen() % 100)
}

/// All of a store's products with their stock (exports are whole files, capped at 10000 rows).
pub async fn export_csv(pool: &PgPool, store_id: Uuid) -> Result<String, AppError> {
    let rows = sqlx::query!(
        r#"select p.id, c.name as category, p.name, p.unit, p.price_fen, p.listed, p.low_stock_threshold,
                  coalesce(s.on_hand, 0) as "on_hand!", p.restricted
           from products p
           join categories c on c.id = p.category_id
           left join stock_levels s on s.store_id = p.store_id and s.product_id = p.id
           where p.store_id = $1
           order by c.position, c.name, p.name, p.id
           limit 10000"#,
        store_id
    )
    .fetch_all(pool)
    .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(AppError::internal)?;
    for r in rows {
        w.write_record([
            r.id.to_string(),
            csv_safe(&r.category),
            csv_safe(&r.name),
            csv_safe(&r.unit),
            yuan(Money::from_fen(r.price_fen)),
            if r.listed { "yes" } else { "no" }.to_string(),
            r.low_stock_threshold.to_string(),
            r.on_hand.to_string(),
            r.restricted.unwrap_or_else(|| UNRESTRICTED.to_string()),
        ])
        .map_err(AppError::internal)?;
    }
    let bytes = w.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// One CSV row, parsed. Empty optional cells keep what the product has (or a default for new ones).
#[derive(Debug, PartialEq)]
pub struct CsvLine {
    pub product_id: Option<Uuid>,
    pub category: ItemName,
    pub name: ItemName,
    pub unit: Unit,
    pub price: Price,
    pub listed: Option<bool>,
    pub threshold: Option<Threshold>,
    pub on_hand: Option<i32>,
    /// `Some(None)` clears the ID check, `None` (an empty cell or no column) keeps it.
    pub restricted: Option<Option<Restriction>>,
}

fn in_column(column: &str, e: AppError) -> String {
    match e {
        AppError::Validation { message, .. } => format!("{column}: {message}"),
        other => format!("{column}: {other}"),
    }
}

/// Parses one record; the error names the column and says what to write instead.
pub fn parse_csv_line(get: impl Fn(&str) -> String) -> Result<CsvLine, String> {
    let text = |c: &str| csv_unquote(get(c).trim()).to_string();
    let product_id = match get("product_id").trim() {
        "" => None,
        s => Some(Uuid::parse_str(s).map_err(|_| {
            "product_id: not a product id; leave it empty to create a new product".to_string()
        })?),
    };
    let listed = match get("listed").trim().to_ascii_lowercase().as_str() {
        "" => None,
        "yes" | "y" | "true" | "1" | "是" => Some(true),
        "no" | "n" | "false" | "0" | "否" => Some(false),
        _ => return Err("listed: write yes or no".into()),
    };
    let int = |c: &str| -> Result<Option<i32>, String> {
        match get(c).trim() {
            "" => Ok(None),
            s => s
                .parse::<i32>()
                .map(Some)
                .map_err(|_| format!("{c}: write a whole number")),
        }
    };
    let threshold = int("low_stock_threshold")?
        .map(Threshold::parse)
        .transpose()
        .map_err(|e| in_column("low_stock_threshold", e))?;
    let on_hand = int("on_hand")?;
    let restricted = match get("restricted").trim().to_ascii_lowercase().as_str() {
        "" => None,
        UNRESTRICTED | "no" | "无" => Some(None),
        s => Some(Some(Restriction::parse(s).ok_or_else(|| {
            format!("restricted: write medicine, alcohol, tobacco or {UNRESTRICTED}")
        })?)),
    };
    if let Some(n) = on_hand
        && !(0..=StockAdjustment::MAX).contains(&n)
    {
        return Err(format!(
            "on_hand: write a count between 0 and {}",
            StockAdjustment::MAX
        ));
    }
    Ok(CsvLine {
        product_id,
        category: ItemName::parse("category", &text("category"))
            .map_err(|e| in_column("category", e))?,
        name: ItemName::parse("name", &text("name")).map_err(|e| in_column("name", e))?,
        unit: Unit::parse(&text("unit")).map_err(|e| in_column("unit", e))?,
        price: Price::parse_yuan(&get("price")).map_err(|e| in_column("price", e))?,
        listed,
        threshold,
        on_hand,
        restricted,
    })
}

pub const CSV_MAX_ROWS: usize = 2000;

/// Imports products and stock from CSV. Every row is applied entirely or not at all (each in
/// its own savepoint); rows that fail are reported and the others go ahead; the whole file
/// is one transaction. A dry run does exactly the same work and rolls it back, so its report
/// is what applying would do. Products are matched by `product_id`, else by (category, name);
/// a file applied twice changes nothing the second time.
pub async fn import_csv(
    pool: &PgPool,
    store_id: Uuid,
    actor: Uuid,
    text: &str,
    apply: bool,
) -> Result<ImportReport, AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| {
            AppError::validation("csv", "The file is not CSV: export one to see the format.")
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    for required in ["category", "name", "unit", "price"] {
        if !headers.iter().any(|h| h == required) {
            return Err(AppError::validation(
                "csv",
                format!(
                    "The first line must name the columns ({}); \"{required}\" is missing.",
                    CSV_COLUMNS.join(",")
                ),
            ));
        }
    }
    let mut report = ImportReport {
        applied: apply,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        rows: Vec::new(),
    };
    let mut tx = pool.begin().await?;
    stock_context(&mut tx, "import", actor, Some("CSV import")).await?;
    // Checkouts lock stock rows in product order; rows of a file come in any order. Taking all
    // of this store's stock rows first, in product order, means an import never deadlocks
    // with a checkout (checkouts at this store wait the few seconds an import takes).
    sqlx::query_scalar!(
        "select product_id from stock_levels where store_id = $1 order by product_id for update",
        store_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= CSV_MAX_ROWS {
            return Err(AppError::validation(
                "csv",
                format!("Import at most {CSV_MAX_ROWS} rows at a time: split the file."),
            ));
        }
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i as u64 + 2, |p| p.line());
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.failed += 1;
                report.rows.push(ImportRow {
                    line,
                    product: String::new(),
                    outcome: "error".into(),
                    message: format!("Not readable as CSV ({e}). Check the quotes on this line."),
                });
                continue;
            }
        };
        let get = |c: &str| {
            headers
                .iter()
                .position(|h| h == c)
                .and_then(|at| record.get(at))
                .unwrap_or("")
                .to_string()
        };
        let label = get("name").trim().to_string();
        let parsed = parse_csv_line(get).and_then(|l| {
            let key = (
                l.category.as_str().to_lowercase(),
                l.name.as_str().to_lowercase(),
            );
            if seen.contains(&key) {
                return Err("name: this product appears twice in the file; keep one row".into());
            }
            seen.push(key);
            Ok(l)
        });
        let outcome = match parsed {
            Err(message) => Err(message),
            Ok(l) => {
                let mut row_tx = sqlx::Acquire::begin(&mut tx).await?;
                match import_row(&mut row_tx, store_id, actor, &l).await {
                    Ok(outcome) => {
                        row_tx.commit().await?;
                        Ok(outcome)
                    }
                    Err(e) => {
                        row_tx.rollback().await?;
                        Err(in_column_of(e))
                    }
                }
            }
        };
        let (outcome, message) = match outcome {
            Ok(RowOutcome::Created) => {
                report.created += 1;
                ("create", String::new())
            }
            Ok(RowOutcome::Updated) => {
                report.updated += 1;
                ("update", String::new())
            }
            Ok(RowOutcome::Unchanged) => {
                report.unchanged += 1;
                ("unchanged", String::new())
            }
            Err(message) => {
                report.failed += 1;
                ("error", message)
            }
        };
        report.rows.push(ImportRow {
            line,
            product: label,
            outcome: outcome.into(),
            message,
        });
    }
    if apply {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(report)
}

fn in_column_of(e: AppError) -> String {
    match e {
        AppError::Validation { field, message } => format!("{field}: {message}"),
        AppError::NotFound => {
            "product_id: no such product in this store; leave it empty to create one".into()
        }
        other => other.to_string(),
    }
}

enum RowOutcome {
    Created,
    Updated,
    Unchanged,
}

async fn import_row(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    actor: Uuid,
    l: &CsvLine,
) -> Result<RowOutcome, AppError> {
    let category_id = match sqlx::query_scalar!(
        "select id from categories where store_id = $1 and lower(name) = lower($2) order by position limit 1",
        store_id,
        l.category.as_str()
    )
    .fetch_optional(&mut **tx)
    .await?
    {
        Some(id) => id,
        None => save_category_in(tx, store_id, &l.category).await?,
    };
    let existing = match l.product_id {
        Some(id) => Some(
            sqlx::query!(
                "select id, listed, low_stock_threshold from products where id = $1 and store_id = $2 for update",
                id,
                store_id
            )
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| (r.id, r.listed, r.low_stock_threshold))
            .ok_or(AppError::NotFound)?,
        ),
        None => sqlx::query!(
            "select id, listed, low_stock_threshold from products
             where store_id = $1 and category_id = $2 and lower(name) = lower($3)
             order by id limit 1 for update",
            store_id,
            category_id,
            l.name.as_str()
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| (r.id, r.listed, r.low_stock_threshold)),
    };
    let input = |listed: bool, threshold: i32| -> Result<ProductInput, AppError> {
        Ok(ProductInput {
            name: l.name.clone(),
            category_id,
            unit: l.unit.clone(),
            price: l.price,
            threshold: match l.threshold {
                Some(t) => t,
                None => Threshold::parse(threshold)?,
            },
            listed: l.listed.unwrap_or(listed),
        })
    };
    match existing {
        None => {
            let id = insert_product(tx, store_id, &input(true, 5)?, l.on_hand.unwrap_or(0)).await?;
            if let Some(restricted) = l.restricted {
                restrict_in(tx, store_id, id, restricted).await?;
            }
            Ok(RowOutcome::Created)
        }
        Some((id, listed, threshold)) => {
            let mut changed =
                update_product_in(tx, store_id, actor, id, &input(listed, threshold)?).await?;
            if let Some(count) = l.on_hand {
                let now = sqlx::query_scalar!(
                    "select on_hand from stock_levels where store_id = $1 and product_id = $2 for update",
                    store_id,
                    id
                )
                .fetch_optional(&mut **tx)
                .await?;
                if now != Some(count) {
                    adjust_in(tx, store_id, id, StockAdjustment::parse("count", count)?)
                        .await
                        .map_err(|e| match e {
                            AppError::Validation { message, .. } => {
                                AppError::validation("on_hand", message)
                            }
                            other => other,
                        })?;
                    changed = true;
                }
            }
            if let Some(restricted) = l.restricted {
                changed |= restrict_in(tx, store_id, id, restricted).await?;
            }
            Ok(if changed {
                RowOutcome::Updated
            } else {
                RowOutcome::Unchanged
            })
        }
    }
}

/// Sets a product's ID check; returns whether it changed.
async fn restrict_in(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    product_id: Uuid,
    restricted: Option<Restriction>,
) -> Result<bool, AppError> {
    let done = sqlx::query!(
        "update products set restricted = $3
         where id = $1 and store_id = $2 and restricted is distinct from $3",
        product_id,
        store_id,
        restricted.map(Restriction::as_str)
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

async fn save_category_in(
    tx: &mut Transaction<'_, Postgres>,
    store_id: Uuid,
    name: &ItemName,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into categories (id, store_id, name, position)
         select $1, $2, $3, coalesce(max(position) + 1, 0) from categories where store_id = $2",
        id,
        store_id,
        name.as_str()
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

// ----- store settings -----

fn to_range(opens: &str, closes: &str) -> Option<OpenRange> {
    let r = super::admin_model::parse_day_hours("h", &format!("{opens}-{closes}")).ok()?;
    r.first().copied()
}

pub async fn settings(
    pool: &PgPool,
    store_id: Uuid,
    is_owner: bool,
    page: PageReq,
) -> Result<StoreSettings, AppError> {
    let s = sqlx::query!(
        r#"select name, prep_time_min, delivery_radius_m, min_order_fen, packaging_fee_fen,
                  pickup_enabled, accepting_orders, time_zone, accept_timeout_min, missing_default,
                  store_open_at(id, time_zone, now()) as "open_now!"
           from stores where id = $1"#,
        store_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let hours = sqlx::query!(
        r#"select weekday, to_char(opens, 'HH24:MI') as "opens!", to_char(closes, 'HH24:MI') as "closes!"
           from store_hours where store_id = $1 order by weekday, opens"#,
        store_id
    )
    .fetch_all(pool)
    .await?;
    let mut week: Vec<Vec<OpenRange>> = vec![Vec::new(); 7];
    for h in hours {
        if let (Some(day), Some(r)) = (
            usize::try_from(h.weekday - 1)
                .ok()
                .and_then(|d| week.get_mut(d)),
            to_range(&h.opens, &h.closes),
        ) {
            day.push(r);
        }
    }
    // Past exceptions are history: the list starts at yesterday in the store's time zone.
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from store_hour_exceptions
           where store_id = $1 and day >= (now() at time zone $2)::date - 1"#,
        store_id,
        s.time_zone
    )
    .fetch_one(pool)
    .await?;
    let exceptions = sqlx::query!(
        r#"select day, to_char(opens, 'HH24:MI') as "opens?", to_char(closes, 'HH24:MI') as "closes?", note
           from store_hour_exceptions
           where store_id = $1 and day >= (now() at time zone $2)::date - 1
           order by day limit $3 offset $4"#,
        store_id,
        s.time_zone,
        page.limit(),
        page.offset()
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|e| HourException {
        day: e.day,
        hours: match (e.opens, e.closes) {
            (Some(o), Some(c)) => to_range(&o, &c),
            _ => None,
        },
        note: e.note,
    })
    .collect();
    Ok(StoreSettings {
        store_id,
        store_name: s.name,
        is_owner,
        prep_time_min: s.prep_time_min,
        delivery_radius_m: s.delivery_radius_m,
        min_order: Money::from_fen(s.min_order_fen),
        packaging_fee: Money::from_fen(s.packaging_fee_fen),
        pickup_enabled: s.pickup_enabled,
        accepting_orders: s.accepting_orders,
        accept_timeout_min: s.accept_timeout_min,
        missing_default: s.missing_default,
        open_now: s.open_now,
        week,
        exceptions: page.wrap(exceptions, total),
    })
}

pub async fn save_settings(
    pool: &PgPool,
    store_id: Uuid,
    input: &SettingsInput,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "update stores set prep_time_min = $2, delivery_radius_m = $3, min_order_fen = $4,
                packaging_fee_fen = $5, pickup_enabled = $6,
                accept_timeout_min = coalesce($7, accept_timeout_min),
                missing_default = coalesce($8, missing_default)
         where id = $1",
        store_id,
        input.prep_time_min,
        input.delivery_radius_m,
        input.min_order.fen(),
        input.packaging_fee.fen(),
        input.pickup_enabled,
        input.accept_timeout_min,
        input.missing_default
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    let (mut days, mut opens, mut closes) = (Vec::new(), Vec::new(), Vec::new());
    for (i, ranges) in input.week.iter().enumerate() {
        for r in ranges {
            days.push(i as i16 + 1);
            opens.push(r.opens());
            closes.push(r.closes());
        }
    }
    sqlx::query!("delete from store_hours where store_id = $1", store_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into store_hours (store_id, weekday, opens, closes)
         select $1, d, o::time, c::time from unnest($2::smallint[], $3::text[], $4::text[]) as t(d, o, c)",
        store_id,
        &days,
        &opens,
        &closes
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_accepting_orders(
    pool: &PgPool,
    store_id: Uuid,
    accepting: bool,
) -> Result<(), AppError> {
    let done = sqlx::query!(
        "update stores set accepting_orders = $2 where id = $1",
        store_id,
        accepting
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Sets (or replaces) the exception for one date.
pub async fn save_exception(
    pool: &PgPool,
    store_id: Uuid,
    e: &ExceptionInput,
) -> Result<(), AppError> {
    sqlx::query!(
        "insert into store_hour_exceptions (store_id, day, opens, closes, note)
         values ($1, $2, $3::text::time, $4::text::time, $5)
         on conflict (store_id, day) do update
             set opens = excluded.opens, closes = excluded.closes, note = excluded.note",
        store_id,
        e.day,
        e.hours.map(|h| h.opens()),
        e.hours.map(|h| h.closes()),
        e.note
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete_exception(
    pool: &PgPool,
    store_id: Uuid,
    day: chrono::NaiveDate,
) -> Result<(), AppError> {
    sqlx::query!(
        "delete from store_hour_exceptions where store_id = $1 and day = $2",
        store_id,
        day
    )
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(cells: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> String + 'a {
        move |c| {
            cells
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        }
    }

    #[test]
    fn csv_rows_parse_with_column_named_errors() {
        let ok = parse_csv_line(row(&[
            ("category", "Dairy"),
            ("name", "'=Milk"),
            ("unit", "1L"),
            ("price", "12.5"),
            ("listed", "no"),
            ("on_hand", "7"),
        ]))
        .unwrap();
        assert_eq!(ok.name.as_str(), "=Milk");
        assert_eq!(ok.price.money().fen(), 1250);
        assert_eq!(ok.listed, Some(false));
        assert_eq!(ok.on_hand, Some(7));
        assert_eq!(ok.threshold, None);
        assert_eq!(ok.restricted, None, "no column keeps the ID check");
        let with = |cell: &str| {
            parse_csv_line(row(&[
                ("category", "Drinks"),
                ("name", "Beer"),
                ("unit", "can"),
                ("price", "8"),
                ("restricted", cell),
            ]))
            .map(|l| l.restricted)
        };
        assert_eq!(with(""), Ok(None));
        assert_eq!(with(" Alcohol "), Ok(Some(Some(Restriction::Alcohol))));
        assert_eq!(with("none"), Ok(Some(None)));
        let cases = [
            (("price", "free"), "price:"),
            (("listed", "maybe"), "listed:"),
            (("on_hand", "-1"), "on_hand:"),
            (("product_id", "42"), "product_id:"),
            (("name", ""), "name:"),
            (("restricted", "wine"), "restricted:"),
        ];
        for ((k, v), prefix) in cases {
            let mut cells = vec![
                ("category", "Dairy"),
                ("name", "Milk"),
                ("unit", "1L"),
                ("price", "12.5"),
            ];
            cells.retain(|(c, _)| *c != k);
            cells.push((k, v));
            let err = parse_csv_line(row(&cells)).unwrap_err();
            assert!(err.starts_with(prefix), "{k}={v}: {err}");
        }
    }

    #[test]
    fn exported_formulas_are_defused_and_round_trip() {
        assert_eq!(csv_safe("=1+1"), "'=1+1");
        assert_eq!(csv_unquote(&csv_safe("=1+1")), "=1+1");
        assert_eq!(csv_unquote("'plain"), "'plain");
        assert_eq!(yuan(Money::from_fen(1205)), "12.05");
    }
}
