//! Ordering: server-side carts (one per store), quotes, checkout with stock reservation,
//! the order state machine, order pages with a live timeline, history and tracking links.

pub mod api;
pub mod board;
pub mod merchant_api;
pub mod merchant_views;
pub mod model;
pub mod pages;
pub mod pricing;
pub mod views;

#[cfg(feature = "ssr")]
pub mod additions;
#[cfg(feature = "ssr")]
pub mod checkout;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod merchant;
#[cfg(feature = "ssr")]
pub mod missing;
#[cfg(feature = "ssr")]
pub mod service;
