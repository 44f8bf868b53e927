//! Operations: the city at a glance.

pub mod api;
pub mod model;
pub mod pages;
