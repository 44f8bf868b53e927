//! Operations home: the city in numbers, the courier roster and the live city map.

use leptos::prelude::*;

use super::api::get_city_overview;
use crate::ui::{Pager, page_param, when_loaded};

#[component]
pub fn OpsHome() -> impl IntoView {
    let page = page_param();
    let overview = Resource::new(page, get_city_overview);
    // The live city is the browser's alone (its data is read there): the server renders the
    // overview without waiting for it.
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    view! {
        {when_loaded(overview, move |o| view! {
            <section data-test="ops-home">
                <h1>"City overview 城市概览"</h1>
                <dl class="facts">
                    <dt>"Stores"</dt><dd data-test="ops-stores">{o.stores}</dd>
                    <dt>"Products"</dt><dd>{o.products}</dd>
                    <dt>"Customers"</dt><dd>{o.customers}</dd>
                    <dt>"Couriers online"</dt><dd>{o.couriers_online} " of " {o.couriers.total}</dd>
                </dl>
                <h2>"Couriers 骑手"</h2>
                <ul class="rows">
                    {o.couriers.items.clone().into_iter().map(|c| view! {
                        <li data-test="courier-row">
                            <strong>{c.display_name.clone()}</strong>
                            <span class="muted">" · " {c.vehicle_label()} " · " {c.status_label()}</span>
                        </li>
                    }).collect_view()}
                </ul>
                <Pager page=o.couriers base="/ops".to_string()/>
            </section>
        })}
        // Outside the overview's Suspense: re-reading the overview never re-makes the map.
        {move || mounted.get().then(|| view! { <super::city::LiveCityPanel/> })}
    }
}
