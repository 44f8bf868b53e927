use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::geo::GeoPoint;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub id: Uuid,
    pub label: String,
    pub contact_name: String,
    /// Masked (138****5678): the full number is only for the courier carrying the order.
    pub phone_masked: String,
    pub detail: String,
    pub point: GeoPoint,
}

/// A place a geocoder found: what to call it and where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub label: String,
    pub point: GeoPoint,
}

/// Short free text from a form: trimmed, required, bounded.
pub fn parse_text(field: &str, what: &str, input: &str, max: usize) -> Result<String, AppError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(AppError::validation(field, format!("Enter {what}.")));
    }
    if s.chars().count() > max || s.chars().any(|c| c.is_control()) {
        return Err(AppError::validation(
            field,
            format!("Use at most {max} characters for {what}."),
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_required_and_bounded() {
        assert_eq!(
            parse_text("label", "a label", "  Home ", 20).unwrap(),
            "Home"
        );
        assert!(parse_text("label", "a label", "   ", 20).is_err());
        assert!(parse_text("label", "a label", &"x".repeat(21), 20).is_err());
    }
}
