//! The city's stores (customer home) and the merchant's own stores.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::api::{get_store_stock, list_stores, my_stores};
use super::model::StoreCard;
use crate::error::AppError;
use crate::ui::{Pager, page_param, when_loaded};

fn store_card(s: StoreCard, href: Option<String>) -> impl IntoView {
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

#[component]
pub fn HomePage() -> impl IntoView {
    let page = page_param();
    let stores = Resource::new(page, list_stores);
    view! {
        <section data-test="customer-home">
            <h1>"Stores near you 附近门店"</h1>
            {when_loaded(stores, move |p| view! {
                <ul class="stores">
                    {p.items.clone().into_iter().map(|s| store_card(s, None)).collect_view()}
                </ul>
                <Pager page=p base="/".to_string()/>
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
                        view! {
                            <div class="member-role">{m.member_role.clone()}</div>
                            {store_card(m.store, Some(href))}
                        }
                    }).collect_view()}
                </ul>
                <Pager page=p base="/merchant".to_string()/>
            </section>
        })}
    }
}

#[component]
pub fn MerchantStorePage() -> impl IntoView {
    let params = use_params_map();
    let page = page_param();
    let store_id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };
    let stock = Resource::new(
        move || (store_id(), page()),
        |(id, page)| async move {
            match id {
                Some(id) => get_store_stock(id, page).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        {when_loaded(stock, move |s| {
            let base = format!("/merchant/stores/{}", s.store.id);
            view! {
                <section data-test="merchant-store">
                    <p><a href="/merchant">"← Your stores"</a></p>
                    <h1>{s.store.name.clone()}</h1>
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
                    <Pager page=s.lines base=base/>
                </section>
            }
        })}
    }
}
