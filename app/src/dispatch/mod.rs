//! Couriers and (later) offers and assignments.

pub mod api;
pub mod model;
pub mod pages;
