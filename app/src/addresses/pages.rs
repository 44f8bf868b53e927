//! The customer's saved addresses: add at their current location, deliver here, delete.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::api::{AddAddress, DeleteAddress, my_addresses, search_places};
use crate::ui::map::PointPicker;
use crate::ui::{Pager, page_param, when_loaded};

/// Asks the browser for the current position and hands it to `found`.
pub fn locate(found: impl FnOnce(f64, f64) + 'static, failed: impl FnOnce(String) + 'static) {
    let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else {
        failed("This browser cannot share a location.".into());
        return;
    };
    // GeolocationPosition is an unstable web-sys type; read the two numbers by name instead.
    let on_found = Closure::once_into_js(move |pos: wasm_bindgen::JsValue| {
        let number = |obj: &wasm_bindgen::JsValue, key: &str| {
            js_sys::Reflect::get(obj, &key.into())
                .ok()
                .and_then(|v| v.as_f64())
        };
        let coords = js_sys::Reflect::get(&pos, &"coords".into()).unwrap_or_default();
        if let (Some(lat), Some(lng)) = (number(&coords, "latitude"), number(&coords, "longitude"))
        {
            found(lat, lng);
        }
    });
    let on_failed = Closure::once_into_js(move |_: wasm_bindgen::JsValue| {
        failed("Location is off or unavailable. Allow it for this site and try again.".into());
    });
    let _ = geo.get_current_position_with_error_callback(
        on_found.unchecked_ref(),
        Some(on_failed.unchecked_ref()),
    );
}

#[component]
pub fn AddressesPage() -> impl IntoView {
    let page = page_param();
    let add = ServerAction::<AddAddress>::new();
    let delete = ServerAction::<DeleteAddress>::new();
    let addresses = Resource::new(
        move || (page(), add.version().get(), delete.version().get()),
        |(p, _, _)| my_addresses(p),
    );
    let point = RwSignal::new(None::<(f64, f64)>);
    let status = RwSignal::new(None::<String>);
    let value = add.value();
    let field = move |name: &'static str| match value.get() {
        Some(Err(e)) => e.for_field(name),
        _ => None,
    };
    let general = move || match value.get() {
        Some(Err(e))
            if e.for_field("label").is_none()
                && e.for_field("contact_name").is_none()
                && e.for_field("phone").is_none()
                && e.for_field("detail").is_none() =>
        {
            Some(e.to_string())
        }
        Some(Ok(_)) => Some("Address saved.".to_string()),
        _ => None,
    };
    let use_location = move |_| {
        status.set(Some("Finding your location…".into()));
        locate(
            move |lat, lng| {
                point.set(Some((lat, lng)));
                status.set(Some(format!("Location set ({lat:.5}, {lng:.5}).")));
            },
            move |message| status.set(Some(message)),
        );
    };
    let coord = move |i: usize| {
        point
            .get()
            .map(|(a, b)| if i == 0 { a } else { b }.to_string())
            .unwrap_or_default()
    };
    view! {
        <section data-test="addresses-page">
            <h1>"Delivery addresses 收货地址"</h1>
            {when_loaded(addresses, move |p| view! {
                {p.items.is_empty().then(|| view! { <p data-test="no-addresses">"No saved address yet: add one below."</p> })}
                <ul class="rows">
                    {p.items.clone().into_iter().map(|a| {
                        let here = format!("/?lat={:.5}&lng={:.5}", a.point.lat, a.point.lng);
                        let id = a.id;
                        view! {
                            <li data-test="address">
                                <strong>{a.label}</strong> " " {a.contact_name} " " <span class="muted">{a.phone_masked}</span>
                                <br/>{a.detail}
                                <p class="actions">
                                    <a class="button" href=here data-test="deliver-here">"Stores near here"</a>
                                    <button type="button" data-test="delete-address"
                                        on:click=move |_| { delete.dispatch(DeleteAddress { id }); }>"Delete"</button>
                                </p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <Pager page=p base="/addresses".to_string()/>
            })}
            <h2>"Add an address 新增地址"</h2>
            <ActionForm action=add attr:class="card" attr:data-test="address-form">
                <label>"Label 标签" <input name="label" placeholder="Home / Office" required data-test="label-input"/></label>
                <p class="field-error">{move || field("label")}</p>
                <label>"Contact name 联系人" <input name="contact_name" autocomplete="name" required data-test="contact-input"/></label>
                <p class="field-error" data-test="contact-error">{move || field("contact_name")}</p>
                <label>"Mobile 手机号" <input name="phone" autocomplete="tel" inputmode="tel" required data-test="phone-input"/></label>
                <p class="field-error" data-test="phone-error">{move || field("phone")}</p>
                <label>"Building, floor, door 详细地址" <input name="detail" required data-test="detail-input"/></label>
                <p class="field-error">{move || field("detail")}</p>
                <input type="hidden" name="lat" prop:value=move || coord(0)/>
                <input type="hidden" name="lng" prop:value=move || coord(1)/>
                <p class="locate">
                    <button type="button" on:click=use_location data-test="address-locate">"Use my location 使用我的位置"</button>
                    <span class="muted" role="status" data-test="address-locate-status">{move || status.get()}</span>
                </p>
                <PlaceSearch on_pick=move |(lat, lng, label): (f64, f64, String)| {
                    point.set(Some((lat, lng)));
                    status.set(Some(format!("Moved to {label}: tap the map to set the exact point.")));
                }/>
                <PointPicker point=point on_pick=move |(lat, lng): (f64, f64)| {
                    point.set(Some((lat, lng)));
                    status.set(Some(format!("Point set on the map ({lat:.5}, {lng:.5}).")));
                }/>
                <p class="form-error" role="alert" data-test="address-form-status">{general}</p>
                <button type="submit" class="primary" data-test="address-save"
                    disabled=move || point.get().is_none() || add.pending().get()>
                    {move || if point.get().is_none() { "Set the location first" } else { "Save address 保存" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// Text search through the configured geocoder; a result moves the map there.
#[component]
fn PlaceSearch(#[prop(into)] on_pick: Callback<(f64, f64, String)>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let search = Action::new_unsync(|q: &String| search_places(q.clone()));
    let results = move || {
        match search.value().get() {
        Some(Ok(places)) if places.is_empty() => view! {
            <p class="muted" data-test="place-none">"No place found by that name: pick the point on the map."</p>
        }
        .into_any(),
        Some(Ok(places)) => view! {
            <ul class="rows places">
                {places.into_iter().map(|p| {
                    let label = p.label.clone();
                    view! {
                        <li><button type="button" data-test="place-result"
                            on:click=move |_| on_pick.run((p.point.lat, p.point.lng, label.clone()))>{p.label.clone()}</button></li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any(),
        Some(Err(e)) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
        None => ().into_any(),
    }
    };
    view! {
        <div class="place-search">
            <label class="field"><span>"Find a street or area 搜索地点"</span>
                <input type="search" maxlength="60" data-test="place-query" prop:value=query
                    on:input=move |ev| query.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" {
                        ev.prevent_default();
                        search.dispatch(query.get_untracked());
                    }/></label>
            <button type="button" data-test="place-search"
                disabled=move || search.pending().get() || query.with(|q| q.trim().is_empty())
                on:click=move |_| { search.dispatch(query.get_untracked()); }>"Search"</button>
            {results}
        </div>
    }
}
