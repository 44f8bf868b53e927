//! Stores and their catalog: products, categories, stock levels; the merchant console's
//! catalog, stock and store settings (`admin*`).

pub mod admin_api;
pub mod admin_model;
pub mod admin_pages;
pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod admin;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod media;
