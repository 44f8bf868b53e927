//! Couriers, live dispatch (offers, assignments, decisions) and the courier endpoints.

pub mod api;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod tasks;
