//! The courier's home.

use leptos::prelude::*;

use super::api::get_courier_profile;
use crate::ui::when_loaded;

#[component]
pub fn CourierHome() -> impl IntoView {
    let profile = Resource::new(|| (), |_| get_courier_profile());
    view! {
        {when_loaded(profile, move |p| view! {
            <section data-test="courier-home">
                <h1>"Hello, " {p.display_name.clone()}</h1>
                <dl class="facts">
                    <dt>"Status 状态"</dt><dd data-test="courier-status">{p.status_label()}</dd>
                    <dt>"Vehicle 车辆"</dt><dd>{p.vehicle_label()}</dd>
                    <dt>"Capacity 运力"</dt><dd>{p.capacity} " orders at once"</dd>
                    <dt>"Speed 速度"</dt><dd>{p.speed_kmh} " km/h"</dd>
                </dl>
            </section>
        })}
    }
}
