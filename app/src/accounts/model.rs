//! Accounts as the browser sees them, and the parsing of what people type into forms.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Merchant,
    Courier,
    Ops,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Customer, Role::Merchant, Role::Courier, Role::Ops];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Merchant => "merchant",
            Role::Courier => "courier",
            Role::Ops => "ops",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Where this role lands after logging in.
    pub fn home(self) -> &'static str {
        match self {
            Role::Customer => "/",
            Role::Merchant => "/merchant",
            Role::Courier => "/courier",
            Role::Ops => "/ops",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Customer => "Customer 顾客",
            Role::Merchant => "Merchant 商家",
            Role::Courier => "Courier 骑手",
            Role::Ops => "Operations 运营",
        }
    }
}

/// The only user type that ever reaches a browser: no hash, no token, no full phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicUser {
    pub id: Uuid,
    pub display_name: String,
    pub role: Role,
}

/// What people log in with: a mainland China mobile number or an email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginId {
    Phone(String),
    Email(String),
}

impl LoginId {
    pub const FIELD: &'static str = "login";

    pub fn parse(input: &str) -> Result<LoginId, AppError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AppError::validation(
                Self::FIELD,
                "Enter your mobile number or email.",
            ));
        }
        if s.contains('@') {
            return parse_email(s).map(LoginId::Email);
        }
        parse_phone(s).map(LoginId::Phone)
    }

    /// Shown in place of a name: phones keep only their first 3 and last 4 digits.
    pub fn masked(&self) -> String {
        match self {
            LoginId::Phone(p) => mask_phone(p),
            LoginId::Email(e) => e.clone(),
        }
    }
}

/// Phones are shown as 138****5678 to anyone who does not need the full number.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "****".to_string()
    }
}

/// A mainland China mobile number for a delivery contact (normalized to 11 digits).
pub fn parse_contact_phone(input: &str) -> Result<String, AppError> {
    parse_phone(input.trim()).map_err(|_| {
        AppError::validation(
            "phone",
            "Enter the contact's mobile number: 11 digits starting with 1.",
        )
    })
}

fn parse_phone(s: &str) -> Result<String, AppError> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    let ok = digits.len() == 11
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if ok {
        Ok(digits.to_string())
    } else {
        Err(AppError::validation(
            LoginId::FIELD,
            "That is not a mobile number: use 11 digits starting with 1 (e.g. 13812345678), or an email address.",
        ))
    }
}

fn parse_email(s: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::validation(
            LoginId::FIELD,
            "That email address does not look right (name@example.com).",
        )
    };
    let email = s.to_lowercase();
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(email) } else { Err(bad()) }
}

pub struct Password(String);

impl Password {
    pub const FIELD: &'static str = "password";
    pub const MIN_CHARS: usize = 8;

    pub fn parse(input: &str) -> Result<Password, AppError> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(AppError::validation(
                Self::FIELD,
                format!(
                    "Use at least {} characters for your password.",
                    Self::MIN_CHARS
                ),
            ));
        }
        if n > 128 {
            return Err(AppError::validation(
                Self::FIELD,
                "Use at most 128 characters for your password.",
            ));
        }
        Ok(Password(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A name to greet the user with; optional at sign-up.
pub fn parse_display_name(input: &str, login: &LoginId) -> Result<String, AppError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(login.masked());
    }
    if s.chars().count() > 40 || s.chars().any(|c| c.is_control()) {
        return Err(AppError::validation(
            "display_name",
            "Use at most 40 characters for your name.",
        ));
    }
    Ok(s.to_string())
}

/// Demo accounts shown on the login page in demo mode (their password is public by design).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub role: Role,
    pub login: String,
    pub password: String,
}

/// Only a local path may be a post-login destination: no other host, no scheme tricks.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control());
    ok.then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalized_and_masked() {
        let id = LoginId::parse(" +86 138-1234-5678 ").unwrap();
        assert_eq!(id, LoginId::Phone("13812345678".into()));
        assert_eq!(id.masked(), "138****5678");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "****");
    }

    #[test]
    fn bad_phones_and_emails_are_refused_with_a_field_message() {
        for bad in [
            "",
            "12345",
            "12812345678",
            "1381234567x",
            "a@b",
            "@x.cn",
            "a b@x.cn",
            "a@x.",
            "a@@x.cn",
        ] {
            let err = LoginId::parse(bad).unwrap_err();
            assert!(err.for_field("login").is_some(), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn emails_are_lowercased() {
        assert_eq!(
            LoginId::parse("Li.Wei@Example.CN").unwrap(),
            LoginId::Email("li.wei@example.cn".into())
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(
            safe_next(Some("/merchant?x=1")).as_deref(),
            Some("/merchant?x=1")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "merchant",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn every_role_has_its_own_home_and_round_trips() {
        let homes: std::collections::HashSet<_> = Role::ALL.iter().map(|r| r.home()).collect();
        assert_eq!(homes.len(), 4);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
