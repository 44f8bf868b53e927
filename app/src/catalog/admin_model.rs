//! What the merchant console edits in a store's catalog, stock and settings: the parsed
//! inputs (each constructor refuses bad input with a message for its form field) and the
//! views the console shows. Shared by the browser and the server.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::money::Money;
use crate::page::Page;

/// A short name as people type it: trimmed, not empty, at most `max` characters, no control
/// characters (they break CSV files and labels).
fn short_text(field: &str, what: &str, input: &str, max: usize) -> Result<String, AppError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(AppError::validation(field, format!("Enter {what}.")));
    }
    if s.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("Shorten {what} to at most {max} characters."),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(AppError::validation(
            field,
            format!("Remove line breaks and tabs from {what}."),
        ));
    }
    Ok(s.to_string())
}

/// A product's or category's name: 1–60 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    pub const MAX: usize = 60;

    pub fn parse(field: &str, input: &str) -> Result<ItemName, AppError> {
        short_text(field, "a name", input, Self::MAX).map(ItemName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What one piece is sold as ("500g", "box", "个"): 1–12 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit(String);

impl Unit {
    pub fn parse(input: &str) -> Result<Unit, AppError> {
        short_text("unit", "the unit (e.g. 500g, box, 个)", input, 12).map(Unit)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A shelf price: more than ¥0 and at most ¥100,000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(Money);

impl Price {
    pub const MAX_FEN: i64 = 10_000_000;

    pub fn parse_yuan(input: &str) -> Result<Price, AppError> {
        Self::from_money(Money::parse_yuan("price", input)?)
    }

    pub fn from_money(m: Money) -> Result<Price, AppError> {
        if m.fen() <= 0 || m.fen() > Self::MAX_FEN {
            return Err(AppError::validation(
                "price",
                "Enter a price above ¥0 and at most ¥100000, for example 12.50.",
            ));
        }
        Ok(Price(m))
    }

    pub fn money(self) -> Money {
        self.0
    }
}

/// At or below this many available units the product shows in the low-stock alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold(i32);

impl Threshold {
    pub fn parse(n: i32) -> Result<Threshold, AppError> {
        if (0..=100_000).contains(&n) {
            Ok(Threshold(n))
        } else {
            Err(AppError::validation(
                "low_stock_threshold",
                "Enter a low-stock level between 0 and 100000.",
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// Why stock changes by hand. A count sets the absolute value found on the shelf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustKind {
    /// 到货: goods arrived, on hand goes up.
    Delivery,
    /// 损耗: damaged or expired, on hand goes down.
    Damage,
    /// 盘点: counted, on hand becomes the counted value.
    Count,
}

impl AdjustKind {
    pub const ALL: [AdjustKind; 3] = [AdjustKind::Delivery, AdjustKind::Damage, AdjustKind::Count];

    pub fn parse(input: &str) -> Result<AdjustKind, AppError> {
        match input.trim() {
            "delivery" => Ok(AdjustKind::Delivery),
            "damage" => Ok(AdjustKind::Damage),
            "count" => Ok(AdjustKind::Count),
            _ => Err(AppError::validation(
                "kind",
                "Choose delivery 到货, damage 损耗 or count 盘点.",
            )),
        }
    }

    /// The ledger's reason code.
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustKind::Delivery => "delivery",
            AdjustKind::Damage => "damage",
            AdjustKind::Count => "count",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AdjustKind::Delivery => "Delivery 到货 (+)",
            AdjustKind::Damage => "Damage 损耗 (−)",
            AdjustKind::Count => "Count 盘点 (=)",
        }
    }
}

/// A hand-made stock change: how much, and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockAdjustment {
    pub kind: AdjustKind,
    quantity: i32,
}

impl StockAdjustment {
    pub const MAX: i32 = 100_000;

    pub fn parse(kind: &str, quantity: i32) -> Result<StockAdjustment, AppError> {
        let kind = AdjustKind::parse(kind)?;
        let min = if kind == AdjustKind::Count { 0 } else { 1 };
        if !(min..=Self::MAX).contains(&quantity) {
            return Err(AppError::validation(
                "quantity",
                format!("Enter a quantity between {min} and {}.", Self::MAX),
            ));
        }
        Ok(StockAdjustment { kind, quantity })
    }

    pub fn quantity(self) -> i32 {
        self.quantity
    }

    /// The new on-hand value from the current one (`None`: it would go below zero).
    pub fn apply_to(self, on_hand: i32) -> Option<i32> {
        match self.kind {
            AdjustKind::Delivery => on_hand.checked_add(self.quantity),
            AdjustKind::Damage => on_hand.checked_sub(self.quantity).filter(|n| *n >= 0),
            AdjustKind::Count => Some(self.quantity),
        }
    }
}

/// An optional note on a stock change: at most 200 characters.
pub fn parse_note(input: &str) -> Result<Option<String>, AppError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    short_text("note", "the note", s, 200).map(Some)
}

/// Minutes since local midnight, 0..=1440 (24:00 closes at midnight).
fn parse_clock(field: &str, s: &str) -> Result<u16, AppError> {
    let bad = || {
        AppError::validation(
            field,
            format!("Write times as HH:MM, e.g. 09:00-21:30 (got \"{s}\")."),
        )
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// One opening range, local time; `closes` may be 24:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRange {
    pub opens_min: u16,
    pub closes_min: u16,
}

impl OpenRange {
    fn fmt_min(m: u16) -> String {
        format!("{:02}:{:02}", m / 60, m % 60)
    }

    pub fn opens(self) -> String {
        Self::fmt_min(self.opens_min)
    }

    pub fn closes(self) -> String {
        Self::fmt_min(self.closes_min)
    }
}

/// A day's opening hours as typed: "" (closed) or up to three ranges
/// "HH:MM-HH:MM, HH:MM-HH:MM" in order, not overlapping.
pub fn parse_day_hours(field: &str, input: &str) -> Result<Vec<OpenRange>, AppError> {
    let mut out: Vec<OpenRange> = Vec::new();
    for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part
            .split_once(['-', '–'])
            .ok_or_else(|| AppError::validation(field, "Write hours as 09:00-21:30."))?;
        let r = OpenRange {
            opens_min: parse_clock(field, a)?,
            closes_min: parse_clock(field, b)?,
        };
        if r.closes_min <= r.opens_min {
            return Err(AppError::validation(
                field,
                format!("{part}: closing must come after opening."),
            ));
        }
        if out.last().is_some_and(|prev| prev.closes_min > r.opens_min) {
            return Err(AppError::validation(
                field,
                "List ranges in order without overlaps, e.g. 10:00-14:00, 17:00-21:00.",
            ));
        }
        out.push(r);
    }
    if out.len() > 3 {
        return Err(AppError::validation(
            field,
            "At most three opening ranges per day.",
        ));
    }
    Ok(out)
}

pub fn format_day_hours(ranges: &[OpenRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{}-{}", r.opens(), r.closes()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Store settings as the owner submits them, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingsInput {
    pub prep_time_min: i32,
    pub delivery_radius_m: i32,
    pub min_order: Money,
    pub packaging_fee: Money,
    pub pickup_enabled: bool,
    /// Minutes a paid order may wait for acceptance before the system rejects it (None: keep).
    pub accept_timeout_min: Option<i32>,
    /// What a missing item becomes when the customer does not answer (None: keep).
    pub missing_default: Option<&'static str>,
    /// Monday first (ISO weekday 1..=7).
    pub week: [Vec<OpenRange>; 7],
}

fn bounded(field: &str, what: &str, n: i32, min: i32, max: i32) -> Result<i32, AppError> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(AppError::validation(
            field,
            format!("Enter {what} between {min} and {max}."),
        ))
    }
}

fn bounded_money(field: &str, input: &str, max_yuan: i64) -> Result<Money, AppError> {
    let m = Money::parse_yuan(field, input)?;
    if m.fen() > max_yuan * 100 {
        return Err(AppError::validation(
            field,
            format!("Enter at most ¥{max_yuan}."),
        ));
    }
    Ok(m)
}

impl SettingsInput {
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the settings form, parsed together"
    )]
    pub fn parse(
        prep_time_min: i32,
        delivery_radius_m: i32,
        min_order: &str,
        packaging_fee: &str,
        pickup_enabled: bool,
        accept_timeout_min: Option<i32>,
        missing_default: &str,
        week: &[String],
    ) -> Result<SettingsInput, AppError> {
        if week.len() != 7 {
            return Err(AppError::validation(
                "hours",
                "Give opening hours for all seven weekdays.",
            ));
        }
        let mut days: [Vec<OpenRange>; 7] = Default::default();
        for (i, day) in week.iter().enumerate() {
            days[i] = parse_day_hours(&format!("hours_{}", i + 1), day)?;
        }
        Ok(SettingsInput {
            prep_time_min: bounded(
                "prep_time_min",
                "a preparation time in minutes",
                prep_time_min,
                0,
                240,
            )?,
            delivery_radius_m: bounded(
                "delivery_radius_m",
                "a delivery radius in metres",
                delivery_radius_m,
                100,
                50_000,
            )?,
            min_order: bounded_money("min_order", min_order, 10_000)?,
            packaging_fee: bounded_money("packaging_fee", packaging_fee, 100)?,
            pickup_enabled,
            accept_timeout_min: accept_timeout_min
                .map(|n| {
                    bounded(
                        "accept_timeout_min",
                        "the minutes to accept an order",
                        n,
                        1,
                        60,
                    )
                })
                .transpose()?,
            missing_default: match missing_default.trim() {
                "" => None,
                "refund" => Some("refund"),
                "substitute" => Some("substitute"),
                _ => {
                    return Err(AppError::validation(
                        "missing_default",
                        "Choose refund or substitute.",
                    ));
                }
            },
            week: days,
        })
    }
}

/// A date that differs from the weekly hours: closed all day (no range) or special hours.
#[derive(Clone, Debug, PartialEq)]
pub struct ExceptionInput {
    pub day: NaiveDate,
    pub hours: Option<OpenRange>,
    pub note: String,
}

impl ExceptionInput {
    pub fn parse(day: &str, hours: &str, note: &str) -> Result<ExceptionInput, AppError> {
        let day = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::validation("day", "Choose a date (YYYY-MM-DD)."))?;
        let ranges = parse_day_hours("exception_hours", hours)?;
        if ranges.len() > 1 {
            return Err(AppError::validation(
                "exception_hours",
                "Give one range for special hours, or leave empty for closed all day.",
            ));
        }
        let note = note.trim();
        if note.chars().count() > 60 {
            return Err(AppError::validation(
                "note",
                "Shorten the note to at most 60 characters.",
            ));
        }
        Ok(ExceptionInput {
            day,
            hours: ranges.first().copied(),
            note: note.to_string(),
        })
    }
}

// ----- views -----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminProduct {
    pub id: Uuid,
    pub name: String,
    pub category_id: Uuid,
    pub category: String,
    pub unit: String,
    pub price: Money,
    pub listed: bool,
    pub on_hand: i32,
    pub reserved: i32,
    pub low_stock_threshold: i32,
    pub image_url: Option<String>,
    /// Handed over only after an ID check (medicine, alcohol, tobacco).
    pub restricted: Option<crate::dispatch::model::Restriction>,
}

impl AdminProduct {
    /// Listed, and what customers can still buy is at or below the product's threshold (the
    /// same rule as the low-stock count and filter).
    pub fn is_low(&self) -> bool {
        self.listed && self.on_hand - self.reserved <= self.low_stock_threshold
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminCategory {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub products: i64,
}

/// The console's catalog page: products with stock, the categories, the low-stock count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogAdmin {
    pub store_id: Uuid,
    pub store_name: String,
    pub is_owner: bool,
    pub accepting_orders: bool,
    pub categories: Vec<AdminCategory>,
    pub low_stock_count: i64,
    pub products: Page<AdminProduct>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceChange {
    pub old_price: Money,
    pub new_price: Money,
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub delta: i32,
    pub on_hand_after: i32,
    pub reason: String,
    pub note: Option<String>,
    pub actor: Option<String>,
    pub order_number: Option<String>,
    pub at: DateTime<Utc>,
}

impl LedgerEntry {
    pub fn reason_label(&self) -> &'static str {
        match self.reason.as_str() {
            "opening" => "Opening 期初",
            "delivery" => "Delivery 到货",
            "damage" => "Damage 损耗",
            "count" => "Count 盘点",
            "sale" => "Sale 销售",
            "return" => "Return 退回",
            "import" => "Import 导入",
            _ => "Other",
        }
    }
}

/// One product's history: its price changes and its stock ledger, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductHistory {
    pub product: AdminProduct,
    pub prices: Page<PriceChange>,
    pub ledger: Page<LedgerEntry>,
}

/// What became of one CSV row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub product: String,
    /// create | update | unchanged | error
    pub outcome: String,
    pub message: String,
}

/// A CSV import's report. A dry run reports exactly what applying would do and changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub applied: bool,
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub failed: u32,
    pub rows: Vec<ImportRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourException {
    pub day: NaiveDate,
    /// `None`: closed all day.
    pub hours: Option<OpenRange>,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreSettings {
    pub store_id: Uuid,
    pub store_name: String,
    pub is_owner: bool,
    pub prep_time_min: i32,
    pub delivery_radius_m: i32,
    pub min_order: Money,
    pub packaging_fee: Money,
    pub pickup_enabled: bool,
    pub accepting_orders: bool,
    pub accept_timeout_min: i32,
    /// "refund" or "substitute".
    pub missing_default: String,
    pub open_now: bool,
    /// Monday first.
    pub week: Vec<Vec<OpenRange>>,
    pub exceptions: Page<HourException>,
}

pub const WEEKDAYS: [&str; 7] = [
    "Mon 周一",
    "Tue 周二",
    "Wed 周三",
    "Thu 周四",
    "Fri 周五",
    "Sat 周六",
    "Sun 周日",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_single_line() {
        assert_eq!(ItemName::parse("name", "  牛奶 ").unwrap().as_str(), "牛奶");
        for bad in ["", "   ", "a\tb", &"长".repeat(61)] {
            let e = ItemName::parse("name", bad).unwrap_err();
            assert!(e.for_field("name").is_some(), "{bad}");
        }
        assert!(ItemName::parse("name", &"长".repeat(60)).is_ok());
        assert!(Unit::parse("500g").is_ok());
        assert!(Unit::parse("").is_err());
    }

    #[test]
    fn prices_are_positive_fen() {
        assert_eq!(Price::parse_yuan("12.5").unwrap().money().fen(), 1250);
        assert!(Price::parse_yuan("0").is_err());
        assert!(Price::parse_yuan("-3").is_err());
        assert!(Price::parse_yuan("100001").is_err());
        assert!(
            Price::parse_yuan("abc")
                .unwrap_err()
                .for_field("price")
                .is_some()
        );
    }

    #[test]
    fn adjustments_move_stock_the_way_their_kind_says() {
        let d = StockAdjustment::parse("delivery", 5).unwrap();
        assert_eq!(d.apply_to(3), Some(8));
        let w = StockAdjustment::parse("damage", 5).unwrap();
        assert_eq!(w.apply_to(3), None);
        assert_eq!(w.apply_to(7), Some(2));
        let c = StockAdjustment::parse("count", 0).unwrap();
        assert_eq!(c.apply_to(40), Some(0));
        assert!(StockAdjustment::parse("delivery", 0).is_err());
        assert!(StockAdjustment::parse("count", -1).is_err());
        assert!(StockAdjustment::parse("count", 100_001).is_err());
        assert!(
            StockAdjustment::parse("theft", 1)
                .unwrap_err()
                .for_field("kind")
                .is_some()
        );
    }

    #[test]
    fn day_hours_parse_in_order_and_round_trip() {
        let r = parse_day_hours("h", "10:30-14:00, 16:30–24:00").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(format_day_hours(&r), "10:30-14:00, 16:30-24:00");
        assert!(parse_day_hours("h", "").unwrap().is_empty());
        for bad in [
            "9:00-10:00",
            "10:00-09:00",
            "10:00-14:00, 13:00-15:00",
            "24:30-25:00",
            "10:00",
        ] {
            assert!(parse_day_hours("h", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exceptions_are_closed_or_one_range() {
        let e = ExceptionInput::parse("2026-10-01", "", "国庆").unwrap();
        assert_eq!(e.hours, None);
        let e = ExceptionInput::parse("2026-10-02", "10:00-14:00", "").unwrap();
        assert_eq!(e.hours.map(|h| h.opens()), Some("10:00".to_string()));
        assert!(ExceptionInput::parse("2026-13-01", "", "").is_err());
        assert!(ExceptionInput::parse("2026-10-02", "10:00-11:00, 12:00-13:00", "").is_err());
    }

    #[test]
    fn settings_are_bounded() {
        let week: Vec<String> = vec!["09:00-21:00".into(); 7];
        let s = SettingsInput::parse(15, 3000, "20", "1.5", true, Some(8), "substitute", &week)
            .unwrap();
        assert_eq!(s.packaging_fee.fen(), 150);
        assert_eq!(
            (s.accept_timeout_min, s.missing_default),
            (Some(8), Some("substitute"))
        );
        let kept = SettingsInput::parse(15, 3000, "20", "1.5", true, None, "", &week).unwrap();
        assert_eq!(
            (kept.accept_timeout_min, kept.missing_default),
            (None, None)
        );
        let e = SettingsInput::parse(15, 50, "20", "1", true, None, "", &week).unwrap_err();
        assert!(e.for_field("delivery_radius_m").is_some());
        let e = SettingsInput::parse(15, 3000, "20", "101", true, None, "", &week).unwrap_err();
        assert!(e.for_field("packaging_fee").is_some());
        let e = SettingsInput::parse(15, 3000, "20", "1", true, Some(0), "", &week).unwrap_err();
        assert!(e.for_field("accept_timeout_min").is_some());
        let e = SettingsInput::parse(15, 3000, "20", "1", true, None, "ignore", &week).unwrap_err();
        assert!(e.for_field("missing_default").is_some());
    }
}
