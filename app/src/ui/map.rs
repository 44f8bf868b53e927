//! Maps (Leaflet, served from our own `public/leaflet/`). The tile URL is configuration; with
//! none (or none reachable) the map keeps its markers on a neutral background, so picking a
//! point still works offline.

use leptos::prelude::*;
use leptos_leaflet::leaflet;
use leptos_leaflet::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Central Shanghai (People's Square): where a map starts when nothing better is known.
pub const CITY_CENTER: (f64, f64) = (31.2304, 121.4737);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapTiles {
    /// `{z}/{x}/{y}` template, or none for a plain background.
    pub url: Option<String>,
    pub attribution: String,
}

/// Which tiles maps load (`SONGDA_TILE_URL`). Public: pages for visitors show maps too.
#[server(endpoint = "map_tiles")]
pub async fn get_map_tiles() -> Result<MapTiles, AppError> {
    let state = crate::context::state()?;
    Ok(MapTiles {
        url: state.settings.tile_url.clone(),
        attribution: state.settings.tile_attribution.clone(),
    })
}

/// The configured tiles under a map's pins (none when `SONGDA_TILE_URL` is `none`); placed
/// inside a `MapContainer`.
#[component]
pub fn Tiles() -> impl IntoView {
    let tiles = LocalResource::new(get_map_tiles);
    view! {
        <Suspense>
            {move || tiles.get().and_then(|t| t.ok()).and_then(|t| t.url.map(|url| view! {
                <TileLayer url=url attribution=t.attribution/>
            }))}
        </Suspense>
    }
}

/// Sets `shown` once the element is in the document (checked every frame until it is):
/// Leaflet looks its container up by id, so a map made in a fragment not yet attached (a
/// suspended or transitioning view) is never drawn.
pub fn show_when_attached(node: NodeRef<leptos::html::Div>, shown: RwSignal<bool>) {
    fn check(node: NodeRef<leptos::html::Div>, shown: RwSignal<bool>) {
        if shown.get_untracked() {
            return;
        }
        match node.get_untracked() {
            Some(el) if el.is_connected() => shown.set(true),
            _ => request_animation_frame(move || check(node, shown)),
        }
    }
    check(node, shown);
}

/// A map to choose a point: click (or tap) to move the marker; `point` follows, and the map
/// re-centres when `point` changes from elsewhere (e.g. "use my location"). The map exists
/// only in the browser (Leaflet's handles are thread-local): the server renders its frame.
#[component]
pub fn PointPicker(
    point: RwSignal<Option<(f64, f64)>>,
    #[prop(into)] on_pick: Callback<(f64, f64)>,
) -> impl IntoView {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    view! {
        <div class="map-frame" data-test="map-picker">
            {move || mounted.get().then(|| view! { <PickerMap point on_pick/> })}
            <p class="muted map-hint">"Tap the map where the courier should come 点击地图选择位置"</p>
        </div>
    }
}

#[component]
fn PickerMap(point: RwSignal<Option<(f64, f64)>>, on_pick: Callback<(f64, f64)>) -> impl IntoView {
    let (map, set_map) = create_map_signal();
    let start = point.get_untracked().unwrap_or(CITY_CENTER);
    Effect::new(move |_| {
        if let (Some(m), Some((lat, lng))) = (map.get(), point.get()) {
            m.pan_to(&leaflet::LatLng::new(lat, lng));
        }
    });
    let events = MapEvents::new().mouse_click(move |ev: leaflet::MouseEvent| {
        let ll = ev.lat_lng();
        on_pick.run((ll.lat(), ll.lng()));
    });
    let marker_at = move || {
        let (lat, lng) = point.get().unwrap_or(start);
        Position::new(lat, lng)
    };
    view! {
        <MapContainer class="map" center=Position::new(start.0, start.1) zoom=15.0 map=set_map events=events>
            <Tiles/>
            <Marker position=marker_at/>
        </MapContainer>
    }
}

/// The customer's map of an order on its way: the store, the door, and the courier moving
/// (pushed by `/api/live/orders/{id}/courier` while the courier carries the order; nothing
/// before or after). `changed` is bumped when the order changes, to re-read the courier.
#[component]
pub fn TrackingMap(order_id: uuid::Uuid, #[prop(into)] changed: Signal<u32>) -> impl IntoView {
    use crate::dispatch::api::order_tracking;
    use crate::dispatch::model::OrderTracking;

    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let tracking = LocalResource::new(move || {
        changed.get();
        order_tracking(order_id)
    });
    // Store and door do not move: the map is drawn once from the first read.
    let base = RwSignal::new(None::<OrderTracking>);
    let courier = RwSignal::new(None::<(f64, f64)>);
    let courier_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(t)) = tracking.get() {
            courier.set(t.courier.as_ref().map(|c| (c.at.lat, c.at.lng)));
            courier_name.set(
                t.courier
                    .as_ref()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            );
            if base.get_untracked().is_none() {
                base.set(Some(t));
            }
        }
    });
    Effect::new(move |_| {
        crate::ui::follow_events(
            format!("/api/live/orders/{order_id}/courier"),
            &["position", "hidden"],
            move |event, data| match event {
                "position" => {
                    if let Ok(p) = serde_json::from_str::<crate::dispatch::model::MapPoint>(&data) {
                        courier.set(Some((p.lat, p.lng)));
                    }
                }
                _ => courier.set(None),
            },
            None,
        );
    });
    let distance = move || {
        let (c, t) = (courier.get()?, base.get()?);
        let d = t.destination?;
        Some(routing::haversine_m(c.0, c.1, d.lat, d.lng))
    };
    view! {
        {move || mounted.get().then(|| base.get().filter(|t| t.destination.is_some()).map(|t| view! {
            <div class="map-frame" data-test="tracking-map">
                <TrackingLeaflet t courier/>
                <p class="muted" data-test="courier-distance">{move || match distance() {
                    Some(m) => format!("{} is {:.1} km away 骑手距您 {:.1} km", courier_name.get(), m / 1000.0, m / 1000.0),
                    None => "The courier appears here once your order is on its way 配送中显示骑手位置".to_string(),
                }}</p>
            </div>
        }))}
    }
}

#[component]
fn TrackingLeaflet(
    t: crate::dispatch::model::OrderTracking,
    courier: RwSignal<Option<(f64, f64)>>,
) -> impl IntoView {
    let (map, set_map) = create_map_signal();
    let store = (t.store.lat, t.store.lng);
    let door = t.destination.map_or(store, |d| (d.lat, d.lng));
    // Everything in view once the map exists.
    Effect::new(move |_| {
        if let Some(m) = map.get() {
            let bounds = leaflet::LatLngBounds::new(
                &leaflet::LatLng::new(store.0, store.1),
                &leaflet::LatLng::new(door.0, door.1),
            );
            if let Some((lat, lng)) = courier.get_untracked() {
                bounds.extend(&leaflet::LatLng::new(lat, lng));
            }
            m.fit_bounds(&bounds);
        }
    });
    let shown = Memo::new(move |_| courier.with(Option::is_some));
    let at = move || {
        let (lat, lng) = courier.get().unwrap_or(door);
        Position::new(lat, lng)
    };
    // Image icons from our own `public/icons/` (the map's CSS makes the courier glide).
    let pin = |name: &str| Some(format!("/icons/pin-{name}.svg"));
    view! {
        <MapContainer class="map" center=Position::new(door.0, door.1) zoom=14.0 map=set_map>
            <Tiles/>
            <Marker position=Position::new(store.0, store.1) icon_url=pin("store") icon_size=Some((22.0, 22.0))
                title=t.store_name.clone()/>
            <Marker position=Position::new(door.0, door.1) icon_url=pin("door") icon_size=Some((22.0, 22.0))
                title="You 收货地址".to_string()/>
            {move || shown.get().then(|| view! {
                <Polyline positions=Signal::derive(move || vec![at(), Position::new(door.0, door.1)])
                    color="#e8590c".to_string() dash_array="6 8".to_string()/>
                <Marker position=at icon_url=pin("courier") icon_size=Some((26.0, 26.0))
                    title="Courier 骑手".to_string()/>
            })}
        </MapContainer>
    }
}

/// The courier's route: where they are, then every stop in the plan's order (stores as shop
/// pins, doors as house pins, joined by a line). Drawn in the browser only.
#[component]
pub fn RouteMap(
    #[prop(into)] stops: Signal<Vec<crate::dispatch::model::TaskStop>>,
    here: RwSignal<Option<(f64, f64)>>,
) -> impl IntoView {
    let frame = NodeRef::<leptos::html::Div>::new();
    let attached = RwSignal::new(false);
    Effect::new(move |_| show_when_attached(frame, attached));
    view! {
        <div class="map-frame" data-test="route-map" node_ref=frame>
            {move || attached.get().then(|| view! { <RouteLeaflet stops here/> })}
        </div>
    }
}

#[component]
fn RouteLeaflet(
    stops: Signal<Vec<crate::dispatch::model::TaskStop>>,
    here: RwSignal<Option<(f64, f64)>>,
) -> impl IntoView {
    use crate::dispatch::model::StopKind;

    let (map, set_map) = create_map_signal();
    let points =
        Memo::new(move |_| stops.with(|s| s.iter().map(|s| (s.lat, s.lng)).collect::<Vec<_>>()));
    // Re-fit when the stops change (not on every move of the courier).
    Effect::new(move |_| {
        let (Some(m), pts) = (map.get(), points.get()) else {
            return;
        };
        let mut all = pts;
        all.extend(here.get_untracked());
        if let Some(first) = all.first() {
            let bounds = leaflet::LatLngBounds::new(
                &leaflet::LatLng::new(first.0, first.1),
                &leaflet::LatLng::new(first.0, first.1),
            );
            for p in &all[1..] {
                bounds.extend(&leaflet::LatLng::new(p.0, p.1));
            }
            m.fit_bounds(&bounds);
        }
    });
    let line = Signal::derive(move || {
        here.get()
            .into_iter()
            .chain(points.get())
            .map(|(lat, lng)| Position::new(lat, lng))
            .collect::<Vec<_>>()
    });
    let numbered = move || {
        let list: Vec<(usize, crate::dispatch::model::TaskStop)> =
            stops.get().into_iter().enumerate().collect();
        list
    };
    let start = stops
        .with_untracked(|s| s.first().map(|s| (s.lat, s.lng)))
        .unwrap_or(CITY_CENTER);
    view! {
        <MapContainer class="map route-map" center=Position::new(start.0, start.1) zoom=14.0 map=set_map>
            <Tiles/>
            <Polyline positions=line color="#1971c2".to_string() weight=Some(3.0) dash_array="6 6".to_string()/>
            <For each=numbered key=|(i, s)| (*i, s.order_id, s.kind, s.lat.to_bits(), s.lng.to_bits()) let:item>
                {
                    let (i, s) = item;
                    let icon = if s.kind == StopKind::Dropoff { "door" } else { "store" };
                    view! {
                        <Marker position=Position::new(s.lat, s.lng)
                            icon_url=Some(format!("/icons/pin-{icon}.svg")) icon_size=Some((22.0, 22.0))
                            title=format!("{}. {} · {}", i + 1, s.place, s.number)/>
                    }
                }
            </For>
            {move || here.get().map(|(lat, lng)| view! {
                <Marker position=Position::new(lat, lng) icon_url=Some("/icons/pin-courier.svg".to_string())
                    icon_size=Some((26.0, 26.0)) title="You 我".to_string()/>
            })}
        </MapContainer>
    }
}

/// The store's map of the couriers coming for its orders (`/api/live/stores/{id}/couriers`):
/// the store, each courier moving as they ride, and a list with when each is due.
#[component]
pub fn StoreCouriersMap(store_id: uuid::Uuid) -> impl IntoView {
    use std::collections::HashMap;

    use crate::dispatch::model::{MapPoint, StoreCouriers};

    let frame = NodeRef::<leptos::html::Div>::new();
    let attached = RwSignal::new(false);
    Effect::new(move |_| show_when_attached(frame, attached));
    let view_of = RwSignal::new(None::<StoreCouriers>);
    let moved = RwSignal::new(HashMap::<uuid::Uuid, (f64, f64)>::new());
    Effect::new(move |_| {
        crate::ui::follow_events(
            format!("/api/live/stores/{store_id}/couriers"),
            &["couriers", "position"],
            move |event, data| {
                #[derive(Deserialize)]
                struct Moved {
                    id: uuid::Uuid,
                    #[serde(flatten)]
                    at: MapPoint,
                }
                if event == "couriers" {
                    if let Ok(v) = serde_json::from_str::<StoreCouriers>(&data) {
                        moved.set(HashMap::new());
                        view_of.set(Some(v));
                    }
                } else if let Ok(m) = serde_json::from_str::<Moved>(&data) {
                    moved.update(|p| {
                        p.insert(m.id, (m.at.lat, m.at.lng));
                    });
                }
            },
            None,
        );
    });
    // One map while anyone is coming (not re-made on each list).
    let shown = Memo::new(move |_| {
        attached.get() && view_of.with(|v| v.as_ref().is_some_and(|v| !v.couriers.is_empty()))
    });
    view! {
        <section class="card store-couriers" data-test="store-couriers">
            <h2>"Couriers coming 骑手到店"</h2>
            {move || view_of.with(|v| v.as_ref().map(|v| v.couriers.is_empty())).unwrap_or(true).then(|| view! {
                <p class="muted">"No courier is on the way to the store right now."</p>
            })}
            <ul class="plain" data-test="coming-couriers">
                {move || view_of.get().map(|v| v.couriers.into_iter().map(|c| view! {
                    <li data-test="coming-courier">
                        <strong>{c.name}</strong>
                        {c.eta_local.map(|t| format!(" · due ~{t}"))}
                        <span class="muted">{format!(" · for {}", c.orders.join(", "))}</span>
                    </li>
                }).collect_view())}
            </ul>
            <div node_ref=frame>
                {move || shown.get().then(|| view! { <StoreCouriersLeaflet view_of moved/> })}
            </div>
        </section>
    }
}

#[component]
fn StoreCouriersLeaflet(
    view_of: RwSignal<Option<crate::dispatch::model::StoreCouriers>>,
    moved: RwSignal<std::collections::HashMap<uuid::Uuid, (f64, f64)>>,
) -> impl IntoView {
    let (map, set_map) = create_map_signal();
    let store = view_of
        .with_untracked(|v| v.as_ref().map(|v| (v.store.lat, v.store.lng)))
        .unwrap_or(CITY_CENTER);
    let couriers = Memo::new(move |_| {
        view_of.with(|v| v.as_ref().map(|v| v.couriers.clone()).unwrap_or_default())
    });
    Effect::new(move |_| {
        let Some(m) = map.get() else { return };
        let bounds = leaflet::LatLngBounds::new(
            &leaflet::LatLng::new(store.0, store.1),
            &leaflet::LatLng::new(store.0, store.1),
        );
        for c in couriers.get() {
            bounds.extend(&leaflet::LatLng::new(c.at.lat, c.at.lng));
        }
        m.fit_bounds(&bounds);
    });
    view! {
        <MapContainer class="map" center=Position::new(store.0, store.1) zoom=14.0 map=set_map>
            <Tiles/>
            <Marker position=Position::new(store.0, store.1) icon_url=Some("/icons/pin-store.svg".to_string())
                icon_size=Some((22.0, 22.0)) title="The store 门店".to_string()/>
            <For each=move || couriers.get() key=|c| c.id let:c>
                {
                    let id = c.id;
                    let start = (c.at.lat, c.at.lng);
                    let at = Memo::new(move |_| moved.with(|m| m.get(&id).copied().unwrap_or(start)));
                    view! {
                        <Marker position=move || Position::new(at.get().0, at.get().1)
                            icon_url=Some("/icons/pin-courier.svg".to_string()) icon_size=Some((24.0, 24.0))
                            title=format!("{}{}", c.name, c.eta_local.clone().map(|t| format!(" · ~{t}")).unwrap_or_default())/>
                    }
                }
            </For>
        </MapContainer>
    }
}
