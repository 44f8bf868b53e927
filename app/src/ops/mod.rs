//! Operations: the city at a glance.

pub mod api;
pub mod city;
#[cfg(feature = "ssr")]
pub mod live;
pub mod model;
pub mod pages;
