//! Couriers, live dispatch (offers, assignments, decisions) and the courier endpoints.

pub mod api;
pub mod model;
pub mod outbox;
pub mod pages;
pub mod photo;
#[cfg(feature = "ssr")]
pub mod pod;
pub mod scan;
#[cfg(feature = "ssr")]
pub mod service;
pub mod sync;
#[cfg(feature = "ssr")]
pub mod tasks;
#[cfg(feature = "ssr")]
pub mod tracking;
