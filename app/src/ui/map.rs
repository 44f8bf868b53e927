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
    let tiles = LocalResource::new(get_map_tiles);
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
            <Suspense>
                {move || tiles.get().and_then(|t| t.ok()).and_then(|t| t.url.map(|url| view! {
                    <TileLayer url=url attribution=t.attribution/>
                }))}
            </Suspense>
            <Marker position=marker_at/>
        </MapContainer>
    }
}
