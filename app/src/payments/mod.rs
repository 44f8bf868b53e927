//! Payments through a provider boundary built for real providers (WeChat Pay, Alipay): create
//! a payment, receive its signed asynchronous notification, query it, refund it. The built-in
//! `sandbox` provider hosts its own payment page where the payer chooses succeed or fail.

pub mod api;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod provider;
#[cfg(feature = "ssr")]
pub mod sandbox;
#[cfg(feature = "ssr")]
pub mod service;
