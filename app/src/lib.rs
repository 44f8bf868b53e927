//! Songda's app: shared types, pages and server fns. Server-only services and SQL sit behind
//! the `ssr` feature; the browser build (`hydrate`) gets the same pages and types.

pub mod accounts;
pub mod addresses;
pub mod catalog;
pub mod delivery;
pub mod demo;
pub mod dispatch;
pub mod error;
pub mod geo;
pub mod money;
pub mod ops;
pub mod orders;
pub mod page;
pub mod payments;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use accounts::pages::{AccountMenu, LoginPage, SignupPage};
use addresses::pages::AddressesPage;
use catalog::admin_pages::{CatalogAdminPage, StoreSettingsPage};
use catalog::pages::{HomePage, MerchantHome, MerchantStorePage, SearchPage, StorePage};
use dispatch::pages::CourierHome;
use ops::pages::OpsHome;
use orders::merchant_views::{
    MerchantOrderPage, PackingLabelPage, StoreBoardPage, StoreOrdersPage, StoreTodayPage,
};
use orders::pages::CartPage;
use orders::views::{CheckoutPage, OrderPage, OrdersPage, TrackingPage};
use payments::pages::SandboxPayPage;

/// The HTML document around the app (server side only renders this).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#e8590c"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href="/leaflet/leaflet.css"/>
                // Leaflet's global `L` must exist before the wasm runs (deferred scripts run in order).
                <script src="/leaflet/leaflet.js" defer></script>
                <HydrationScripts options/>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as hydrated (tests wait for it).
    Effect::new(move |_| {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/songda.css"/>
        <Title text="Songda 送达"/>
        <Router>
            <SiteManifest/>
            <header class="top">
                <a class="brand" href="/">"送达 Songda"</a>
                <nav class="account"><AccountMenu/></nav>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/stores/:id") view=StorePage ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async/>
                    <Route path=path!("/addresses") view=AddressesPage ssr=SsrMode::Async/>
                    <Route path=path!("/checkout/:store_id") view=CheckoutPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/sandbox-pay/:id") view=SandboxPayPage ssr=SsrMode::Async/>
                    <Route path=path!("/track/:token") view=TrackingPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/signup") view=SignupPage/>
                    <Route path=path!("/merchant") view=MerchantHome ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/stores/:id") view=StoreTodayPage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/stores/:id/stock") view=MerchantStorePage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/stores/:id/catalog") view=CatalogAdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/stores/:id/settings") view=StoreSettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/stores/:id/history") view=StoreOrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/stores/:id/orders") view=StoreBoardPage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/orders/:id") view=MerchantOrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/merchant/orders/:id/label") view=PackingLabelPage ssr=SsrMode::Async/>
                    <Route path=path!("/courier") view=CourierHome ssr=SsrMode::Async/>
                    <Route path=path!("/ops") view=OpsHome ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The courier app installs as its own app (starting at `/courier`); the rest of the site
/// as the shop.
#[component]
fn SiteManifest() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let href = move || {
        if location.pathname.get().starts_with("/courier") {
            "/courier.webmanifest"
        } else {
            "/manifest.webmanifest"
        }
    };
    move || view! { <leptos_meta::Link rel="manifest" href=href()/> }
}

#[component]
fn NotFound() -> impl IntoView {
    view! { <ui::ErrorView error=error::AppError::NotFound/> }
}
