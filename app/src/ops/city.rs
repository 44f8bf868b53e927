//! The live city map for operations: couriers coloured by state (moving as their positions
//! arrive over `/api/live/ops`), open orders coloured by age, planned routes, zones coloured
//! by their condition, and the dispatch board to move an order to another courier by hand.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_leaflet::prelude::*;
use uuid::Uuid;

use super::api::{CreateZone, EndZoneCondition, SetZoneCondition, live_city};
use super::model::{CONDITION_KINDS, CourierDot, LiveCity, OrderDot, PlannedRoute, ZoneView};
use crate::dispatch::api::ReassignOrder;
use crate::dispatch::model::MapPoint;
use crate::ui::map::{CITY_CENTER, Tiles};

/// Orders on one page of the dispatch board.
const BOARD_PAGE: usize = 10;

#[component]
pub fn LiveCityPanel() -> impl IntoView {
    let reassign = ServerAction::<ReassignOrder>::new();
    let set_condition = ServerAction::<SetZoneCondition>::new();
    let end_condition = ServerAction::<EndZoneCondition>::new();
    let create_zone = ServerAction::<CreateZone>::new();
    // Points of a zone being drawn (taps on the map), as `[lat, lng]`.
    let draft = RwSignal::new(Vec::<[f64; 2]>::new());
    let zone_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = create_zone.value().get() {
            draft.set(Vec::new());
            zone_name.set(String::new());
        }
    });
    let refresh = RwSignal::new(0u32);
    let city = LocalResource::new(move || {
        refresh.get();
        reassign.version().get();
        set_condition.version().get();
        end_condition.version().get();
        create_zone.version().get();
        live_city()
    });
    let last = RwSignal::new(None::<LiveCity>);
    // One signal per courier: a move wakes that courier's marker only (with 300 couriers
    // moving, a shared map of positions woke all 300 markers 300 times a second).
    let positions = StoredValue::new(HashMap::<Uuid, RwSignal<(f64, f64)>>::new());
    let owner = Owner::current();
    let position_of = move |id: Uuid, at: (f64, f64)| {
        let existing = positions.with_value(|p| p.get(&id).copied());
        match existing {
            Some(signal) => signal.set(at),
            None => {
                // Owned by the panel, not by whichever effect first saw the courier.
                let signal = match &owner {
                    Some(o) => o.with(|| RwSignal::new(at)),
                    None => RwSignal::new(at),
                };
                positions.update_value(|p| {
                    p.insert(id, signal);
                });
            }
        }
    };
    let moved = position_of.clone();
    Effect::new(move |_| {
        if let Some(Ok(c)) = city.get() {
            for d in &c.couriers {
                position_of(d.id, (d.lat, d.lng));
            }
            last.set(Some(c));
        }
    });
    let live = RwSignal::new(false);
    Effect::new(move |_| {
        let position_of = moved.clone();
        crate::ui::follow_events(
            "/api/live/ops".to_string(),
            &["position", "orders"],
            move |event, data| {
                if event != "position" {
                    refresh.update(|n| *n += 1);
                    return;
                }
                #[derive(serde::Deserialize)]
                struct Moved {
                    id: Uuid,
                    #[serde(flatten)]
                    at: MapPoint,
                    status: Option<String>,
                }
                let Ok(m) = serde_json::from_str::<Moved>(&data) else {
                    return;
                };
                // The shift state the courier has on the map now: another state means a new
                // read of the city.
                let was = last.with_untracked(|c| {
                    c.as_ref()
                        .and_then(|c| c.couriers.iter().find(|d| d.id == m.id))
                        .map(|d| d.status.clone())
                });
                let known = match (was, &m.status) {
                    // Off shift and not on the map: nothing to draw.
                    (None, Some(now)) if now == "offline" => true,
                    (None, _) => false,
                    (Some(was), Some(now)) => &was == now,
                    (Some(_), None) => true,
                };
                if known {
                    position_of(m.id, (m.at.lat, m.at.lng));
                } else {
                    // Someone came on shift, went off it or took a task: read the city again.
                    refresh.update(|n| *n += 1);
                }
            },
            Some(live),
        );
    });
    // Leaflet finds its container by id, so the map is made once the page holds the panel
    // (after the first read of the city), and only once.
    let frame = NodeRef::<leptos::html::Div>::new();
    let attached = RwSignal::new(false);
    Effect::new(move |_| crate::ui::map::show_when_attached(frame, attached));
    let ready = Memo::new(move |_| attached.get() && last.with(Option::is_some));
    // Each part of the city is its own memo, shared by the map, the board and the zone forms:
    // a re-read wakes only what changed, and the board and forms keep their rows (and what
    // is typed in them) unless their order or zone changed.
    let parts = CityParts {
        couriers: Memo::new(move |_| {
            last.with(|c| c.as_ref().map(|c| c.couriers.clone()).unwrap_or_default())
        }),
        orders: Memo::new(move |_| {
            last.with(|c| c.as_ref().map(|c| c.orders.clone()).unwrap_or_default())
        }),
        routes: Memo::new(move |_| {
            last.with(|c| c.as_ref().map(|c| c.routes.clone()).unwrap_or_default())
        }),
        zones: Memo::new(move |_| {
            last.with(|c| c.as_ref().map(|c| c.zones.clone()).unwrap_or_default())
        }),
    };
    let problem = move || {
        [
            reassign.value().get().and_then(Result::err),
            set_condition.value().get().and_then(Result::err),
            end_condition.value().get().and_then(Result::err),
            create_zone.value().get().and_then(Result::err),
            city.get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <section class="live-city" data-test="live-city">
            <h2>"Live city 实时城市"</h2>
            <p class="live" data-test="ops-live" data-live=move || live.get().to_string()>
                {move || if live.get() { "● Live 实时" } else { "○ Connecting…" }}</p>
            <p class="field-error" role="alert" data-test="ops-error">{problem}</p>
            {move || last.get().map(|c| view! {
                <p class="muted" data-test="city-counts">
                    {format!("{} couriers on shift · {} open orders · {} zones", c.couriers.len(), c.orders.len(), c.zones.len())}
                </p>
            })}
            <div class="map-frame" node_ref=frame>
                {move || ready.get().then(|| view! { <CityMap parts positions draft/> })}
            </div>
            <form class="row new-zone" data-test="new-zone" on:submit=move |ev| {
                ev.prevent_default();
                let polygon = serde_json::to_string(&draft.get_untracked()).unwrap_or_default();
                create_zone.dispatch(CreateZone { name: zone_name.get_untracked(), polygon });
            }>
                <span class="muted" data-test="zone-points">{move || format!(
                    "New zone 新区域: tap the map to add corners ({} so far)", draft.with(Vec::len))}</span>
                <input data-test="zone-name" placeholder="Zone name 区域名称" aria-label="Zone name" maxlength="60"
                    prop:value=zone_name on:input=move |ev| zone_name.set(event_target_value(&ev))/>
                <button type="submit" data-test="create-zone" disabled=move || draft.with(|d| d.len() < 3)>
                    "Create zone 创建"</button>
                <button type="button" data-test="clear-zone" on:click=move |_| draft.set(Vec::new())>"Clear 清除"</button>
            </form>
            <p class="muted legend">"● free 空闲 (green) · ● on a task 配送中 (orange) · ■ order < 15 min (blue), < 30 min (amber), later (red)"</p>
            <DispatchBoard orders=parts.orders couriers=parts.couriers reassign/>
            <ZoneConditions zones=parts.zones set_condition end_condition/>
        </section>
    }
    .into_any()
}

/// The parts of the city last read.
#[derive(Clone, Copy)]
struct CityParts {
    couriers: Memo<Vec<CourierDot>>,
    orders: Memo<Vec<OrderDot>>,
    routes: Memo<Vec<PlannedRoute>>,
    zones: Memo<Vec<ZoneView>>,
}

#[component]
fn CityMap(
    parts: CityParts,
    positions: StoredValue<HashMap<Uuid, RwSignal<(f64, f64)>>>,
    draft: RwSignal<Vec<[f64; 2]>>,
) -> impl IntoView {
    let events = MapEvents::new().mouse_click(move |ev: leptos_leaflet::leaflet::MouseEvent| {
        let ll = ev.lat_lng();
        draft.update(|d| d.push([ll.lat(), ll.lng()]));
    });
    let CityParts {
        couriers,
        orders,
        routes,
        zones,
    } = parts;
    let to_positions = |points: &[[f64; 2]]| -> Vec<Position> {
        points.iter().map(|p| Position::new(p[0], p[1])).collect()
    };
    view! {
        <MapContainer class="map city-map" center=Position::new(CITY_CENTER.0, CITY_CENTER.1) zoom=13.0 events>
            <Tiles/>
            <For each=move || zones.get() key=|z| (z.id, z.condition.as_ref().map(|c| c.id)) let:z>
                <Polygon positions=to_positions(&z.polygon) color=zone_colour(&z).to_string()
                    fill_opacity=Some(0.12) weight=Some(2.0)/>
            </For>
            <Polygon positions=Signal::derive(move || draft.with(|d| to_positions(d)))
                color="#e8590c".to_string() dash_array="4 4".to_string()/>
            <For each=move || routes.get() key=|r| format!("{}{:?}", r.courier_id, r.points) let:r>
                <Polyline positions=to_positions(&r.points) color="#495057".to_string()
                    weight=Some(2.0) dash_array="4 6".to_string()/>
            </For>
            <For each=move || orders.get() key=|o| (o.id, o.age_class(), o.status) let:o>
                <Marker position=Position::new(o.dest[0], o.dest[1])
                    icon_url=Some(format!("/icons/pin-order-{}.svg", o.age_class()))
                    icon_size=Some((16.0, 16.0)) title=format!("{} · {} min", o.number, o.age_min)/>
            </For>
            <For each=move || couriers.get() key=|c| (c.id, c.status.clone()) let:c>
                <CourierMarker c positions/>
            </For>
        </MapContainer>
    }
}

/// One courier, moving as its own position signal changes.
#[component]
fn CourierMarker(
    c: CourierDot,
    positions: StoredValue<HashMap<Uuid, RwSignal<(f64, f64)>>>,
) -> impl IntoView {
    let start = (c.lat, c.lng);
    let signal = positions.with_value(|p| p.get(&c.id).copied());
    let at = move || signal.map_or(start, |s| s.get());
    let icon = if c.status == "busy" { "busy" } else { "online" };
    view! {
        <Marker position=move || Position::new(at().0, at().1)
            icon_url=Some(format!("/icons/pin-{icon}.svg")) icon_size=Some((20.0, 20.0))
            title=format!("{} · {} open", c.name, c.load)/>
    }
}

fn zone_colour(z: &ZoneView) -> &'static str {
    match z.condition.as_ref().map(|c| c.kind.as_str()) {
        Some("rain") => "#1c7ed6",
        Some("storm") => "#7048e8",
        Some("heavy_traffic") => "#e03131",
        _ => "#868e96",
    }
}

#[component]
fn DispatchBoard(
    orders: Memo<Vec<OrderDot>>,
    couriers: Memo<Vec<CourierDot>>,
    reassign: ServerAction<ReassignOrder>,
) -> impl IntoView {
    let page = RwSignal::new(0usize);
    let pages = Memo::new(move |_| orders.with(|o| o.len().div_ceil(BOARD_PAGE).max(1)));
    // Fewer orders than before: stay on a page that exists.
    Effect::new(move |_| {
        if page.get() >= pages.get() {
            page.set(pages.get() - 1);
        }
    });
    let shown = move || {
        orders.with(|all| {
            all.iter()
                .skip(page.get() * BOARD_PAGE)
                .take(BOARD_PAGE)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <h3>"Dispatch board 调度台"</h3>
        {move || orders.with(Vec::is_empty).then(|| view! {
            <p class="muted">"No open delivery orders."</p>
        })}
        <ul class="rows dispatch-board" data-test="dispatch-board">
            <For each=shown key=|o| (o.id, o.courier_id, o.status) let:o>
                {board_row(o, orders, couriers, reassign)}
            </For>
        </ul>
        {move || (pages.get() > 1).then(|| view! {
            <nav class="pager" aria-label="Board pages">
                <button type="button" disabled=move || page.get() == 0
                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"← Previous"</button>
                <span>{move || format!("Page {} of {}", page.get() + 1, pages.get())}</span>
                <button type="button" disabled=move || page.get() + 1 >= pages.get()
                    on:click=move |_| page.update(|p| *p += 1)>"Next →"</button>
            </nav>
        })}
    }
    .into_any()
}

fn board_row(
    o: OrderDot,
    orders: Memo<Vec<OrderDot>>,
    couriers: Memo<Vec<CourierDot>>,
    reassign: ServerAction<ReassignOrder>,
) -> impl IntoView {
    let order_id = o.id;
    let holder = o.courier_id;
    let choice = RwSignal::new(None::<Uuid>);
    // The age goes on while the row stays.
    let age = move || {
        orders.with(|all| {
            all.iter()
                .find(|x| x.id == order_id)
                .map_or(o.age_min, |x| x.age_min)
        })
    };
    let age_class = move || match age() {
        ..15 => "age-fresh",
        15..30 => "age-ageing",
        _ => "age-late",
    };
    view! {
        <li data-test="board-order" data-number=o.number.clone() class=age_class>
            <strong>{o.number.clone()}</strong>
            <span class="muted">{move || format!(" · {} · {} min · {}", o.store_name, age(), o.status.label())}</span>
            <span data-test="board-courier">{format!(" · {}", o.courier_name.clone().unwrap_or_else(|| "unassigned 未分配".into()))}</span>
            <form class="row" on:submit=move |ev| {
                ev.prevent_default();
                if let Some(courier_id) = choice.get_untracked() {
                    reassign.dispatch(ReassignOrder { order_id, courier_id });
                }
            }>
                <select data-test="reassign-courier" aria-label="Courier" on:change=move |ev| {
                    choice.set(Uuid::parse_str(&event_target_value(&ev)).ok());
                }>
                    <option value="" selected=move || choice.get().is_none()>"Move to… 改派给"</option>
                    {move || couriers.get().into_iter().filter(|c| Some(c.id) != holder).map(|c| {
                        let id = c.id;
                        view! {
                            <option value=id.to_string() selected=move || choice.get() == Some(id)>
                                {format!("{} ({} open)", c.name, c.load)}</option>
                        }
                    }).collect_view()}
                </select>
                <button type="submit" data-test="reassign">"Reassign 改派"</button>
            </form>
        </li>
    }
    .into_any()
}

#[component]
fn ZoneConditions(
    zones: Memo<Vec<ZoneView>>,
    set_condition: ServerAction<SetZoneCondition>,
    end_condition: ServerAction<EndZoneCondition>,
) -> impl IntoView {
    view! {
        <h3>"Zones 区域"</h3>
        <ul class="rows" data-test="zones">
            <For each=move || zones.get() key=|z| (z.id, z.condition.as_ref().map(|c| c.id)) let:z>
                {zone_row(z, set_condition, end_condition)}
            </For>
        </ul>
    }
    .into_any()
}

fn zone_row(
    z: ZoneView,
    set_condition: ServerAction<SetZoneCondition>,
    end_condition: ServerAction<EndZoneCondition>,
) -> impl IntoView {
    let zone_id = z.id;
    let kind = RwSignal::new(CONDITION_KINDS[0].to_string());
    let multiplier = RwSignal::new("1.5".to_string());
    let surcharge = RwSignal::new("3".to_string());
    let hours = RwSignal::new("2".to_string());
    let now = z.condition.as_ref().map(|c| {
        format!(
            "{} · travel ×{:.1} · +¥{:.2}",
            c.kind,
            c.travel_multiplier,
            c.surcharge_fen as f64 / 100.0
        )
    });
    let end = z.condition.as_ref().map(|c| c.id);
    view! {
        <li data-test="zone" data-name=z.name.clone()>
            <strong>{z.name.clone()}</strong>
            <span data-test="zone-condition">{format!(" · {}", now.unwrap_or_else(|| "normal 正常".into()))}</span>
            {end.map(|condition_id| view! {
                <button type="button" data-test="end-condition"
                    on:click=move |_| { end_condition.dispatch(EndZoneCondition { condition_id }); }>
                    "End 结束"</button>
            })}
            <form class="row" on:submit=move |ev| {
                ev.prevent_default();
                // Bad numbers reach the server as out-of-range values and come back with its
                // message.
                set_condition.dispatch(SetZoneCondition {
                    zone_id,
                    kind: kind.get_untracked(),
                    travel_multiplier: multiplier.get_untracked().trim().parse().unwrap_or(f64::NAN),
                    surcharge_fen: (surcharge.get_untracked().trim().parse::<f64>().unwrap_or(-1.0) * 100.0).round() as i64,
                    hours: hours.get_untracked().trim().parse().unwrap_or(0),
                });
            }>
                <select data-test="condition-kind" aria-label="Condition"
                    on:change=move |ev| kind.set(event_target_value(&ev))>
                    {CONDITION_KINDS.iter().map(|k| view! { <option value=*k>{*k}</option> }).collect_view()}
                </select>
                <label>"×" <input data-test="condition-multiplier" inputmode="decimal" size="3"
                    prop:value=multiplier on:input=move |ev| multiplier.set(event_target_value(&ev))/></label>
                <label>"+¥" <input data-test="condition-surcharge" inputmode="decimal" size="3"
                    prop:value=surcharge on:input=move |ev| surcharge.set(event_target_value(&ev))/></label>
                <label><input data-test="condition-hours" inputmode="numeric" size="2"
                    prop:value=hours on:input=move |ev| hours.set(event_target_value(&ev))/> " h"</label>
                <button type="submit" data-test="set-condition">"Set 设置"</button>
            </form>
        </li>
    }
    .into_any()
}
