//! Customers' saved delivery addresses.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod geocoder;
