//! The demo city's accounts. Their password is public on purpose: it is printed on the
//! login page in demo mode so anyone can try each role.

use crate::accounts::model::Role;

pub const PASSWORD: &str = "songda-demo";

/// One account per role (logins are email addresses on the reserved `.test` domain).
pub const ACCOUNTS: [(Role, &str); 4] = [
    (Role::Customer, "customer@songda.test"),
    (Role::Merchant, "merchant@songda.test"),
    (Role::Courier, "courier@songda.test"),
    (Role::Ops, "ops@songda.test"),
];
