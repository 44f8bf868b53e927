//! The city's stores (customer home) and the merchant's own stores.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use super::admin_api::get_low_stock_count;
use super::api::{get_store_menu, get_store_stock, list_stores, my_stores, nearby_stores, search};
use super::model::{KINDS, NearbyStore, ProductCard, StockState, StoreCard};
use crate::error::AppError;
use crate::orders::api::store_cart;
use crate::orders::merchant_views::StoreNav;
use crate::orders::pages::{CartBar, CartButtons, StoreCart};
use crate::page::Page;
use crate::ui::{Pager, encode_query_value, page_param, uuid_param, when_loaded};

/// A store as a list item; `above` goes first (e.g. distance, fee and ETA from here).
fn store_card(s: StoreCard, href: Option<String>, above: Option<AnyView>) -> impl IntoView {
    let open = if s.open_now {
        "Open 营业中"
    } else {
        "Closed 休息中"
    };
    let title = match href {
        Some(h) => view! { <a href=h>{s.name.clone()}</a> }.into_any(),
        None => view! { <span>{s.name.clone()}</span> }.into_any(),
    };
    view! {
        <li class="store" data-test="store-card">
            {above}
            <h3>{title}</h3>
            <p class="muted">{s.kind_label()} " · " {s.address.clone()}</p>
            <p>
                <span class=if s.open_now { "badge open" } else { "badge closed" }>{open}</span>
                " ★ " {s.rating()}
                " · prep " {s.prep_time_min} " min"
                " · delivers within " {format!("{:.1}", f64::from(s.delivery_radius_m) / 1000.0)} " km"
                " · min. order " {s.min_order.to_string()}
                " · " {s.product_count} " products"
            </p>
        </li>
    }
}

/// What the home page lists: all stores by name, or stores seen from the customer's location.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum StoreList {
    All(Page<StoreCard>),
    Nearby(Page<NearbyStore>),
}

/// Asks the browser where the customer is, then shows stores from there.
#[component]
fn LocateButton() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let locate = move |_| {
        status.set(Some("Finding your location…".to_string()));
        crate::addresses::pages::locate(
            |lat, lng| {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().assign(&format!("/?lat={lat:.5}&lng={lng:.5}"));
                }
            },
            move |message| status.set(Some(format!("{message} Browse all stores below."))),
        );
    };
    view! {
        <p class="locate">
            <button type="button" on:click=locate data-test="locate">"Use my location 使用我的位置"</button>
            <span class="muted" role="status" data-test="locate-status">{move || status.get()}</span>
        </p>
    }
}

/// A store card for customers, linking to the store's page.
fn shop_card(s: StoreCard, above: Option<AnyView>) -> impl IntoView {
    let href = format!("/stores/{}", s.id);
    store_card(s, Some(href), above)
}

fn nearby_card(n: NearbyStore) -> impl IntoView {
    let distance = format!("{:.1} km", f64::from(n.distance_m) / 1000.0);
    let delivery = if n.in_range {
        view! {
            <span data-test="fee">" · delivery " {n.delivery_fee.to_string()}</span>
            <span data-test="eta">" · about " {n.eta_min} " min"</span>
        }
        .into_any()
    } else {
        view! { <span class="badge closed" data-test="out-of-range">"Out of delivery range 超出配送范围 (pickup only)"</span> }
            .into_any()
    };
    let above = view! {
        <p class="delivery-line" data-test="nearby"><strong data-test="distance">{distance}</strong> " " {delivery}</p>
    };
    shop_card(n.store, Some(above.into_any()))
}

#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let page = page_param();
    let point = move || {
        let q = query.read();
        let lat = q.get("lat")?.parse::<f64>().ok()?;
        let lng = q.get("lng")?.parse::<f64>().ok()?;
        Some((lat, lng))
    };
    let kind = move || query.read().get("kind").unwrap_or_default();
    let stores = Resource::new(
        move || (point(), kind(), page()),
        |(point, kind, page)| async move {
            match point {
                Some((lat, lng)) => nearby_stores(lat, lng, kind, page)
                    .await
                    .map(StoreList::Nearby),
                None => list_stores(page).await.map(StoreList::All),
            }
        },
    );
    view! {
        <section data-test="customer-home">
            <h1>"Stores near you 附近门店"</h1>
            <SearchBox action="/search" value=String::new() placeholder="Search stores and products 搜索门店和商品"/>
            <LocateButton/>
            {when_loaded(stores, move |list| match list {
                StoreList::All(p) => view! {
                    <p class="muted">"All stores by name. Use your location to see distance, delivery fee and time."</p>
                    <ul class="stores">
                        {p.items.clone().into_iter().map(|s| shop_card(s, None)).collect_view()}
                    </ul>
                    <Pager page=p base="/".to_string()/>
                }.into_any(),
                StoreList::Nearby(p) => {
                    let (lat, lng) = point().unwrap_or_default();
                    let here = format!("/?lat={lat:.5}&lng={lng:.5}");
                    let current = kind();
                    let pager_base = if current.is_empty() { here.clone() } else { format!("{here}&kind={current}") };
                    view! {
                        <nav class="tabs" aria-label="Store kinds" data-test="kind-tabs">
                            <a href=here.clone() class:active=current.is_empty()>"All 全部"</a>
                            {KINDS.iter().map(|(id, label)| {
                                let href = format!("{here}&kind={id}");
                                view! { <a href=href class:active=current == *id>{*label}</a> }
                            }).collect_view()}
                        </nav>
                        <ul class="stores">
                            {p.items.clone().into_iter().map(nearby_card).collect_view()}
                        </ul>
                        <Pager page=p base=pager_base/>
                    }.into_any()
                }
            })}
        </section>
    }
}

#[component]
pub fn MerchantHome() -> impl IntoView {
    let page = page_param();
    let stores = Resource::new(page, my_stores);
    view! {
        {when_loaded(stores, move |p| view! {
            <section data-test="merchant-home">
                <h1>"Your stores 我的门店"</h1>
                {p.items.is_empty().then(|| view! {
                    <p>"You are not a member of any store yet. Ask the store owner or operations to add you."</p>
                })}
                <ul class="stores">
                    {p.items.clone().into_iter().map(|m| {
                        let href = format!("/merchant/stores/{}", m.store.id);
                        let role = view! { <div class="member-role">{m.member_role.clone()}</div> };
                        store_card(m.store, Some(href), Some(role.into_any()))
                    }).collect_view()}
                </ul>
                <Pager page=p base="/merchant".to_string()/>
            </section>
        })}
    }
}

#[component]
pub fn MerchantStorePage() -> impl IntoView {
    let page = page_param();
    let store_id = uuid_param("id");
    let stock = Resource::new(
        move || (store_id(), page()),
        |(id, page)| async move {
            let Some(id) = id else {
                return Err(AppError::NotFound);
            };
            let stock = get_store_stock(id, page).await?;
            let low = get_low_stock_count(id).await?;
            Ok((stock, low))
        },
    );
    view! {
        {when_loaded(stock, move |(s, low)| {
            let base = format!("/merchant/stores/{}", s.store.id);
            let pager_base = format!("{base}/stock");
            view! {
                <section data-test="merchant-store">
                    <StoreNav store_id=s.store.id current="stock"/>
                    <h1>{s.store.name.clone()} " · Stock 库存"</h1>
                    <p>
                        <a href=format!("{base}/catalog?low=1") data-test="nav-low-stock">
                            "Low stock 库存预警 " <span class="badge low" data-test="low-stock-count">{low}</span>
                        </a>
                        " · " <a href=format!("{base}/catalog") data-test="nav-catalog">"Edit products and stock 编辑商品库存"</a>
                    </p>
                    <div class="table-wrap">
                        <table class="stock">
                            <thead><tr>
                                <th>"Product"</th><th>"Category"</th><th>"Price"</th>
                                <th>"On hand"</th><th>"Reserved"</th><th>"Listed"</th>
                            </tr></thead>
                            <tbody>
                                {s.lines.items.clone().into_iter().map(|l| view! {
                                    <tr data-test="stock-line">
                                        <td>{l.name} <span class="muted">" / " {l.unit}</span></td>
                                        <td>{l.category}</td>
                                        <td class="num">{l.price.to_string()}</td>
                                        <td class="num">{l.on_hand}</td>
                                        <td class="num">{l.reserved}</td>
                                        <td>{if l.listed { "yes" } else { "no" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <Pager page=s.lines base=pager_base/>
                </section>
            }
        })}
    }
}

/// A plain GET search form (works before hydration; the URL is shareable).
#[component]
fn SearchBox(
    #[prop(into)] action: String,
    value: String,
    placeholder: &'static str,
    #[prop(default = None)] hidden: Option<(&'static str, String)>,
) -> impl IntoView {
    view! {
        <form class="search" method="get" action=action role="search" data-test="search-form">
            {hidden.map(|(name, value)| view! { <input type="hidden" name=name value=value/> })}
            <input type="search" name="q" value=value placeholder=placeholder aria-label=placeholder maxlength="60" data-test="search-input"/>
            <button type="submit">"Search 搜索"</button>
        </form>
    }
}

fn stock_badge(stock: StockState) -> impl IntoView {
    match stock {
        StockState::Available => view! { <span class="badge open">"In stock 有货"</span> }.into_any(),
        StockState::Low(n) => view! { <span class="badge low" data-test="low-stock">{format!("Only {n} left 仅剩{n}件")}</span> }.into_any(),
        StockState::SoldOut => view! { <span class="badge closed" data-test="sold-out">"Sold out 已售罄"</span> }.into_any(),
    }
}

fn product_card(
    p: ProductCard,
    store: Option<(String, String)>,
    cart: Option<StoreCart>,
) -> impl IntoView {
    let sold_out = p.stock == StockState::SoldOut;
    let product_id = p.id;
    view! {
        <li class=if sold_out { "product sold-out" } else { "product" } data-test="product-card">
            {p.image_url.map(|src| view! { <img class="product-photo" src=src alt="" loading="lazy" width="160" height="120"/> })}
            <h3>{p.name}</h3>
            <p class="muted">{p.category} " · " {p.unit}</p>
            {store.map(|(href, name)| view! { <p><a href=href>{name}</a></p> })}
            <p class="price-line"><strong class="price">{p.price.to_string()}</strong> {stock_badge(p.stock)}</p>
            {cart.map(|cart| view! { <CartButtons cart product_id sold_out/> })}
        </li>
    }
}

/// Query string for a store page with these filters (page 1 unless given).
fn menu_query(category: Option<&str>, q: &str) -> String {
    let mut parts = Vec::new();
    if let Some(c) = category {
        parts.push(format!("category={}", encode_query_value(c)));
    }
    if !q.is_empty() {
        parts.push(format!("q={}", encode_query_value(q)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A store's shelf: categories as tabs, a search box, product cards with their stock state.
#[component]
pub fn StorePage() -> impl IntoView {
    let query = use_query_map();
    let page = page_param();
    let store_id = uuid_param("id");
    let category = move || query.read().get("category");
    let q = move || query.read().get("q").unwrap_or_default();
    let menu = Resource::new(
        move || (store_id(), category(), q(), page()),
        |(id, category, q, page)| async move {
            let Some(id) = id else {
                return Err(AppError::NotFound);
            };
            let category_id = match category {
                None => None,
                Some(c) => Some(Uuid::parse_str(&c).map_err(|_| AppError::NotFound)?),
            };
            let menu = get_store_menu(id, category_id, q, page).await?;
            let cart = store_cart(id).await?;
            Ok((menu, cart))
        },
    );
    view! {
        {when_loaded(menu, move |(m, cart)| {
            let cart = StoreCart::new(cart);
            let base = format!("/stores/{}", m.store.id);
            let current = category();
            let q_now = q();
            let all_href = format!("{base}{}", menu_query(None, &q_now));
            let pager_base = format!("{base}{}", menu_query(current.as_deref(), &q_now));
            let hidden = current.clone().map(|c| ("category", c));
            let empty = m.products.items.is_empty();
            view! {
                <section data-test="store-page">
                    <ul class="stores">{store_card(m.store.clone(), None, None)}</ul>
                    <SearchBox action=base.clone() value=q_now.clone() placeholder="Search this store 搜索本店商品" hidden=hidden/>
                    <nav class="tabs" aria-label="Categories" data-test="category-tabs">
                        <a href=all_href class:active=current.is_none()>"All 全部"</a>
                        {m.categories.into_iter().map(|c| {
                            let href = format!("{base}{}", menu_query(Some(&c.id.to_string()), &q_now));
                            let active = current.as_deref() == Some(c.id.to_string().as_str());
                            view! { <a href=href class:active=active>{c.name} <span class="muted">{format!(" {}", c.products)}</span></a> }
                        }).collect_view()}
                    </nav>
                    {empty.then(|| view! { <p data-test="no-products">"Nothing matches here. Try another word or category."</p> })}
                    <ul class="products">
                        {m.products.items.clone().into_iter().map(|p| product_card(p, None, Some(cart))).collect_view()}
                    </ul>
                    <Pager page=m.products base=pager_base/>
                    <CartBar cart/>
                </section>
            }
        })}
    }
}

/// Search across all stores and products.
#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let page = page_param();
    let q = move || query.read().get("q").unwrap_or_default();
    let results = Resource::new(move || (q(), page()), |(q, page)| search(q, page));
    view! {
        <section data-test="search-page">
            <h1>"Search 搜索"</h1>
            <SearchBox action="/search" value=q() placeholder="Search stores and products 搜索门店和商品"/>
            {when_loaded(results, move |r| {
                let base = format!("/search?q={}", encode_query_value(&q()));
                let nothing = r.stores.is_empty() && r.products.items.is_empty();
                view! {
                    {nothing.then(|| view! { <p data-test="no-results">"No store or product matches. Try a shorter word."</p> })}
                    {(!r.stores.is_empty()).then(|| view! { <h2>"Stores 门店"</h2> })}
                    <ul class="stores">
                        {r.stores.clone().into_iter().map(|s| shop_card(s, None)).collect_view()}
                    </ul>
                    {(!r.products.items.is_empty()).then(|| view! { <h2>"Products 商品"</h2> })}
                    <ul class="products">
                        {r.products.items.clone().into_iter().map(|(p, store)| {
                            let href = format!("/stores/{}", p.store_id);
                            product_card(p, Some((href, store)), None)
                        }).collect_view()}
                    </ul>
                    <Pager page=r.products base=base/>
                }
            })}
        </section>
    }
}
