//! Stores and their catalog: products, categories, stock levels.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod db;
