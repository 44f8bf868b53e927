//! The courier's app (`/courier`): the shift with live position, offers with a countdown, and
//! the accepted stops in plan order with pickup (label code) and delivery (customer's PIN).

use std::time::Duration;

use leptos::prelude::*;

use super::api::{
    AnswerOffer, CourierGoOffline, CourierGoOnline, courier_today, get_courier_profile, my_offers,
    my_tasks,
};
use super::model::{
    FailReason, FollowUp, MAX_ATTEMPTS, MAX_SHIFT_HOURS, OfferView, StopKind, TaskStop,
    check_follow_up,
};
use super::outbox::Outbox;
use super::sync::CourierAction;
use crate::error::AppError;
use crate::money::Money;
use crate::orders::model::OrderStatus;
use crate::ui::map::RouteMap;
use crate::ui::when_loaded;

/// Offers and stops are re-read this often while the page is open.
const REFRESH: Duration = Duration::from_secs(3);
/// Positions go out at most this often, or sooner after this many metres.
#[cfg(feature = "hydrate")]
const POSITION_EVERY_MS: f64 = 5_000.0;
#[cfg(feature = "hydrate")]
const POSITION_EVERY_M: f64 = 20.0;

/// The first error among these actions' last results.
fn first_error(errors: [Option<AppError>; 3]) -> Option<String> {
    errors.into_iter().flatten().next().map(|e| e.to_string())
}

#[component]
pub fn CourierHome() -> impl IntoView {
    let go_online = ServerAction::<CourierGoOnline>::new();
    let go_offline = ServerAction::<CourierGoOffline>::new();
    let answer = ServerAction::<AnswerOffer>::new();
    let outbox = Outbox::new();
    // The app shell is cached on the phone: the route opens without network.
    Effect::new(move |_| register_service_worker());
    let tick = RwSignal::new(0u64);
    let located = RwSignal::new(None::<String>);
    let profile = Resource::new(
        move || (go_online.version().get(), go_offline.version().get()),
        |_| get_courier_profile(),
    );
    // The device's queue belongs to the courier logged in.
    Effect::new(move |_| {
        if let Some(Ok(p)) = profile.get() {
            outbox.open_for(p.user_id);
        }
    });
    let changes = move || {
        (
            tick.get(),
            answer.version().get(),
            outbox.applied.get(),
            go_offline.version().get(),
        )
    };
    // Read in the browser only: the page is the courier's live console, not a document.
    let offers = LocalResource::new(move || {
        changes();
        my_offers()
    });
    let tasks = LocalResource::new(move || {
        changes();
        my_tasks()
    });
    // Without network the route stays as last read (the courier keeps working from it).
    let stops = RwSignal::new(None::<Vec<TaskStop>>);
    Effect::new(move |_| {
        if let Some(Ok(list)) = tasks.get() {
            stops.set(Some(list));
        }
    });
    let today = LocalResource::new(move || {
        outbox.applied.get();
        courier_today(local_midnight_ms())
    });
    // The browser says the network is back: send what waits right away.
    let online = window_event_listener(leptos::ev::online, move |_| outbox.flush());
    on_cleanup(move || online.remove());
    // Seconds since the offers were read, for the countdowns.
    let elapsed = RwSignal::new(0i64);
    Effect::new(move |_| {
        offers.get();
        elapsed.set(0);
    });
    Effect::new(move |_| {
        let every_second = set_interval_with_handle(
            move || {
                elapsed.update(|s| *s += 1);
                if elapsed.get_untracked() % REFRESH.as_secs() as i64 == 0 {
                    tick.update(|t| *t += 1);
                    outbox.flush();
                }
            },
            Duration::from_secs(1),
        );
        on_cleanup(move || {
            if let Ok(handle) = every_second {
                handle.clear();
            }
        });
    });
    let on_shift = move || {
        profile
            .get()
            .and_then(|p| p.ok())
            .is_some_and(|p| p.status != "offline")
    };
    // Where the phone is (for the route map), whatever is sent.
    let here = RwSignal::new(None::<(f64, f64)>);
    let route = Memo::new(move |_| stops.get().unwrap_or_default());
    // The map is made once and follows the route (not re-made on each change).
    let has_route = Memo::new(move |_| route.with(|r| !r.is_empty()));
    // While on shift the browser's position goes out, throttled.
    Effect::new(move |_| {
        if on_shift() {
            let watch = track_position(located, here, outbox);
            on_cleanup(move || stop_tracking(watch));
        }
    });
    let shift_hours = RwSignal::new(4u32);
    let start_shift = move |_| {
        located.set(Some("Finding your position…".into()));
        locate_once(
            move |lat, lng| {
                located.set(None);
                go_online.dispatch(CourierGoOnline {
                    lat,
                    lng,
                    shift_hours: shift_hours.get_untracked(),
                });
            },
            move |why| located.set(Some(why)),
        );
    };
    let problem = move || {
        first_error([
            go_online.value().get().and_then(Result::err),
            go_offline.value().get().and_then(Result::err),
            answer.value().get().and_then(Result::err),
        ])
    };
    view! {
        <section class="courier" data-test="courier-home">
            {when_loaded(profile, move |p| {
                let online = p.status != "offline";
                view! {
                    <header class="card">
                        <h1>"Hello, " {p.display_name.clone()}</h1>
                        <p>"Status 状态: " <strong data-test="courier-status">{p.status_label()}</strong>
                            " · " {p.vehicle_label()} " · up to " {p.capacity} " orders"</p>
                        {if online {
                            view! {
                                <button type="button" data-test="go-offline"
                                    on:click=move |_| { go_offline.dispatch(CourierGoOffline {}); }>
                                    "Go offline 下线"</button>
                            }.into_any()
                        } else {
                            view! {
                                <div class="row">
                                    <label>"Shift 班次 "
                                        <select data-test="shift-hours" on:change=move |ev| {
                                            if let Ok(h) = event_target_value(&ev).parse() { shift_hours.set(h); }
                                        }>
                                            {(1..=MAX_SHIFT_HOURS).map(|h| view! {
                                                <option value=h.to_string() selected=h == 4>{format!("{h} h")}</option>
                                            }).collect_view()}
                                        </select>
                                    </label>
                                    <button type="button" class="primary" data-test="go-online" on:click=start_shift>
                                        "Go online 上线"</button>
                                </div>
                            }.into_any()
                        }}
                    </header>
                }
            })}
            <p class="muted" role="status" data-test="location-state">{move || located.get()}</p>
            <p class="field-error" role="alert" data-test="courier-error">{problem}</p>
            {move || (outbox.waiting_actions() + outbox.waiting_photos() > 0).then(|| view! {
                <p class="notice" role="status" data-test="outbox-pending">
                    {move || match (outbox.waiting_actions(), outbox.waiting_photos()) {
                        (a, 0) => format!("{a} action(s) waiting to be sent 待发送"),
                        (0, p) => format!("{p} photo(s) waiting to be sent 待发送"),
                        (a, p) => format!("{a} action(s) and {p} photo(s) waiting to be sent 待发送"),
                    }}
                    {move || if outbox.offline.get() { " · no network: sent when it is back" } else { " · sending…" }}
                </p>
            })}
            <ul class="field-error" data-test="outbox-refused">
                {move || outbox.refused.get().into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
            </ul>
            {move || today.get().and_then(Result::ok).map(|t| view! {
                <p class="card today" data-test="courier-today">
                    "Today 今日: " <strong data-test="today-delivered">{t.delivered}</strong> " delivered · "
                    {format!("{:.1} km", t.distance_m as f64 / 1000.0)} " · earned "
                    <strong>{Money::from_fen(t.earnings_fen).to_string()}</strong>
                </p>
            })}
            <h2>"Offers 新派单"</h2>
            {move || offers.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <p class="muted" data-test="no-offers">{move || if on_shift() {
                        "No offers right now: they appear here by themselves."
                    } else {
                        "Go online to receive offers."
                    }}</p>
                }.into_any(),
                Ok(list) => list.into_iter().map(|o| offer_card(o, elapsed, answer)).collect_view().into_any(),
                Err(e) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
            })}
            <h2>"My route 我的路线"</h2>
            {move || tasks.get().and_then(Result::err).map(|e| view! {
                <p class="muted" data-test="tasks-stale">{format!("Showing the route as last loaded: {e}")}</p>
            })}
            {move || has_route.get().then(|| view! { <RouteMap stops=route here/> })}
            {move || stops.get().map(|list| if list.is_empty() {
                view! { <p class="muted" data-test="no-tasks">"Nothing to do yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="stops" data-test="stops">
                        {list.into_iter().enumerate().map(|(i, s)| stop_card(i == 0, s, outbox)).collect_view()}
                    </ol>
                }.into_any()
            })}
        </section>
    }
}

fn offer_card(
    o: OfferView,
    elapsed: RwSignal<i64>,
    answer: ServerAction<AnswerOffer>,
) -> impl IntoView {
    let id = o.id;
    let left = move || (o.expires_in_s - elapsed.get()).max(0);
    let busy = answer.pending();
    view! {
        <article class="card offer" data-test="offer">
            <p><strong data-test="offer-earnings">{format!("Earn {}", Money::from_fen(o.earnings_fen))}</strong>
                " · " {format!("{:.1} km", f64::from(o.distance_m) / 1000.0)}
                " · " <span data-test="offer-countdown">{move || format!("{} s left", left())}</span></p>
            <ul>
                {o.orders.into_iter().map(|x| view! {
                    <li>{x.number} ": " {x.store_name} " (" {x.store_address} ") → "
                        {format!("drop-off {:.1} km from the store", f64::from(x.dropoff_distance_m) / 1000.0)}</li>
                }).collect_view()}
            </ul>
            <div class="row">
                <button type="button" class="primary" data-test="accept-offer"
                    disabled=move || busy.get() || left() == 0
                    on:click=move |_| { answer.dispatch(AnswerOffer { offer_id: id, accept: true }); }>
                    "Accept 接单"</button>
                <button type="button" data-test="decline-offer" disabled=move || busy.get()
                    on:click=move |_| { answer.dispatch(AnswerOffer { offer_id: id, accept: false }); }>
                    "Decline 拒绝"</button>
            </div>
        </article>
    }
}

fn stop_card(next: bool, s: TaskStop, outbox: Outbox) -> impl IntoView {
    let order_id = s.order_id;
    let restricted = s.restricted.clone();
    let attempts = s.attempts.clone();
    // Hand-off to the phone's map app at the stop.
    let navigate = format!(
        "https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}#map=18/{:.6}/{:.6}",
        s.lat, s.lng, s.lat, s.lng
    );
    let action = move || {
        match (s.kind, s.status, outbox.waiting_for(order_id)) {
        (_, _, Some(what)) => view! {
            <p class="notice" data-test="stop-waiting">{format!("{what}: waiting to be sent 待发送")}</p>
        }
        .into_any(),
        (StopKind::Pickup, OrderStatus::Ready, None) => view! {
            <super::scan::LabelScanner order_id
                found=Callback::new(move |code| outbox.push(CourierAction::PickedUp { order_id, code }))/>
            {code_form(
                CodeField {
                    test: "handover-code",
                    max: 6,
                    hint: "Code on the label 取货码",
                    label: "Hand-over code",
                    button_test: "picked-up",
                    button: "Picked up 已取货",
                },
                move |code| outbox.push(CourierAction::PickedUp { order_id, code }),
            )}
        }
        .into_any(),
        (StopKind::Pickup, _, None) => view! {
            <p class="muted">"Being packed: the store marks it ready 备货中"</p>
        }
        .into_any(),
        (StopKind::Dropoff, OrderStatus::PickedUp, None) => view! {
            <button type="button" class="primary" data-test="start-delivering"
                on:click=move |_| outbox.push(CourierAction::StartDelivering { order_id })>
                "On my way 开始配送"</button>
        }
        .into_any(),
        (StopKind::Dropoff, OrderStatus::Delivering, None) => {
            let id_checked = RwSignal::new(false);
            let restricted = restricted.clone();
            let needs_id = !restricted.is_empty();
            view! {
                {needs_id.then(|| view! {
                    <div class="notice" data-test="id-check">
                        <p><strong>"Check ID before handing over 交付前核验身份"</strong></p>
                        <ul>{restricted.iter().map(|r| view! { <li>{r.check()}</li> }).collect_view()}</ul>
                        <label><input type="checkbox" data-test="id-checked" prop:checked=id_checked
                            on:change=move |ev| id_checked.set(event_target_checked(&ev))/>
                            " I checked the recipient's ID 已核验"</label>
                    </div>
                })}
                {code_form(
                    CodeField {
                        test: "delivery-pin-input",
                        max: 4,
                        hint: "Customer's PIN 收货码",
                        label: "Customer's delivery PIN",
                        button_test: "delivered",
                        button: "Delivered 已送达",
                    },
                    move |pin| outbox.push(CourierAction::Delivered {
                        order_id,
                        pin,
                        id_checked: id_checked.get_untracked(),
                    }),
                )}
                <super::photo::DoorPhoto order_id outbox/>
                {failure_form(order_id, attempts.len(), outbox)}
            }
            .into_any()
        }
        (StopKind::Dropoff, _, None) => view! {
            <p class="muted">"After the pickup 取货后"</p>
        }
        .into_any(),
        (StopKind::Return, _, None) => view! {
            <p class="notice" data-test="return-note">
                "Bring the goods back to the store: the staff confirm they have them 请将商品送回门店"</p>
        }
        .into_any(),
    }
    };
    view! {
        <li class="card stop" class:next=next data-test="stop" data-kind=match s.kind {
            StopKind::Pickup => "pickup",
            StopKind::Dropoff => "dropoff",
            StopKind::Return => "return",
        }>
            <p><strong>{match s.kind {
                StopKind::Pickup => "Pick up 取货",
                StopKind::Dropoff => "Deliver 送达",
                StopKind::Return => "Return to store 退回门店",
            }}</strong> " · " {s.number.clone()}
                {s.planned_at.map(|t| format!(" · planned {} UTC", t.format("%H:%M")))}</p>
            <p>{s.place.clone()} " · " {s.address.clone()}</p>
            {s.contact.clone().map(|c| view! { <p data-test="stop-contact">{c}</p> })}
            {(!s.restricted.is_empty() && s.kind == StopKind::Pickup).then(|| view! {
                <p class="badge low">"ID check at the door 需验证身份"</p>
            })}
            {(!s.attempts.is_empty()).then(|| view! {
                <p class="muted" data-test="stop-attempts">{s.attempts.iter().enumerate()
                    .map(|(i, r)| format!("Attempt {}: {}", i + 1, r.label()))
                    .collect::<Vec<_>>().join(" · ")}</p>
            })}
            <p><a href=navigate target="_blank" rel="noopener" data-test="navigate">"Navigate 导航"</a></p>
            {action}
        </li>
    }
}

/// A short numeric code typed at a stop: the label's hand-over code, the customer's PIN.
struct CodeField {
    test: &'static str,
    max: u8,
    hint: &'static str,
    label: &'static str,
    button_test: &'static str,
    button: &'static str,
}

fn code_form(f: CodeField, submit: impl Fn(String) + Send + Sync + 'static) -> AnyView {
    let code = RwSignal::new(String::new());
    view! {
        <form class="row" on:submit=move |ev| {
            ev.prevent_default();
            submit(code.get_untracked());
        }>
            <input data-test=f.test inputmode="numeric" autocomplete="off" maxlength=f.max.to_string()
                placeholder=f.hint aria-label=f.label
                on:input=move |ev| code.set(event_target_value(&ev)) prop:value=code/>
            <button type="submit" class="primary" data-test=f.button_test>{f.button}</button>
        </form>
    }
    .into_any()
}

/// Could not hand it over: why, and whether to try again or take it back to the store. A
/// refusal, or the last try, can only go back.
fn failure_form(order_id: uuid::Uuid, earlier: usize, outbox: Outbox) -> impl IntoView {
    let open = RwSignal::new(false);
    let reason = RwSignal::new(FailReason::NoAnswer);
    let can_retry = move || check_follow_up(earlier, reason.get(), FollowUp::Retry).is_ok();
    let report = move |follow_up| {
        open.set(false);
        outbox.push(CourierAction::Failed {
            order_id,
            reason: reason.get_untracked(),
            follow_up,
        });
    };
    view! {
        <button type="button" class="link" data-test="cannot-deliver" on:click=move |_| open.update(|o| *o = !*o)>
            "Cannot deliver? 无法送达"</button>
        <Show when=move || open.get()>
            <div class="card" data-test="failure-form">
                <label>"Why 原因 "
                    <select data-test="fail-reason" on:change=move |ev| {
                        if let Some(r) = FailReason::parse(&event_target_value(&ev)) { reason.set(r); }
                    }>
                        {FailReason::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=move || reason.get() == r>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <div class="row">
                    <button type="button" data-test="fail-retry" disabled=move || !can_retry()
                        on:click=move |_| report(FollowUp::Retry)>"Try again later 稍后重试"</button>
                    <button type="button" class="danger" data-test="fail-return"
                        on:click=move |_| report(FollowUp::Return)>"Return to store 退回门店"</button>
                </div>
                <p class="muted">{move || if can_retry() {
                    format!("Call the customer first. {} of {MAX_ATTEMPTS} tries used.", earlier)
                } else {
                    "This one goes back to the store.".to_string()
                }}</p>
            </div>
        </Show>
    }
}

/// One position now (for going online).
fn locate_once(found: impl FnOnce(f64, f64) + 'static, failed: impl FnOnce(String) + 'static) {
    crate::addresses::pages::locate(found, failed);
}

/// Follows the browser's position (`watchPosition`) and sends it at most every 5 s or 20 m.
/// Returns the watch id for [`stop_tracking`]. A refusal shows a message; nothing crashes.
#[cfg(feature = "hydrate")]
fn track_position(
    state: RwSignal<Option<String>>,
    here: RwSignal<Option<(f64, f64)>>,
    outbox: Outbox,
) -> Option<i32> {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let geo = web_sys::window().and_then(|w| w.navigator().geolocation().ok())?;
    let last: Rc<Cell<Option<(f64, f64, f64)>>> = Rc::new(Cell::new(None));
    let on_position =
        Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |pos: wasm_bindgen::JsValue| {
            let number = |obj: &wasm_bindgen::JsValue, key: &str| {
                js_sys::Reflect::get(obj, &key.into())
                    .ok()
                    .and_then(|v| v.as_f64())
            };
            let coords = js_sys::Reflect::get(&pos, &"coords".into()).unwrap_or_default();
            let (Some(lat), Some(lng)) =
                (number(&coords, "latitude"), number(&coords, "longitude"))
            else {
                return;
            };
            here.set(Some((lat, lng)));
            let now = js_sys::Date::now();
            let due = match last.get() {
                None => true,
                Some((t, la, ln)) => {
                    now - t >= POSITION_EVERY_MS
                        || routing::haversine_m(la, ln, lat, lng) >= POSITION_EVERY_M
                }
            };
            if due {
                last.set(Some((now, lat, lng)));
                state.set(None);
                // Queued like every action: positions taken offline go out when it is back.
                outbox.push(CourierAction::Position { lat, lng });
            }
        });
    let on_error = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |_| {
        state.set(Some(
            "Location is off or denied: dispatch cannot see where you are. Allow location for this site."
                .into(),
        ));
    });
    let id = geo
        .watch_position_with_error_callback(
            on_position.as_ref().unchecked_ref(),
            Some(on_error.as_ref().unchecked_ref()),
        )
        .ok();
    // The callbacks live as long as the page: the watch is cleared on cleanup.
    on_position.forget();
    on_error.forget();
    id
}

#[cfg(feature = "hydrate")]
fn stop_tracking(watch: Option<i32>) {
    if let (Some(id), Some(geo)) = (
        watch,
        web_sys::window().and_then(|w| w.navigator().geolocation().ok()),
    ) {
        geo.clear_watch(id);
    }
}

#[cfg(not(feature = "hydrate"))]
fn track_position(
    _: RwSignal<Option<String>>,
    _: RwSignal<Option<(f64, f64)>>,
    _: Outbox,
) -> Option<i32> {
    None
}

#[cfg(feature = "hydrate")]
fn register_service_worker() {
    if let Some(window) = web_sys::window() {
        // Absent on plain http other than localhost: the app then simply works online only.
        if js_sys::Reflect::has(&window.navigator(), &"serviceWorker".into()).unwrap_or(false) {
            let pending = window.navigator().service_worker().register("/sw.js");
            leptos::task::spawn_local(async move {
                if let Err(e) = wasm_bindgen_futures::JsFuture::from(pending).await {
                    leptos::logging::warn!("service worker not registered: {e:?}");
                }
            });
        }
    }
}

#[cfg(not(feature = "hydrate"))]
fn register_service_worker() {}

/// The device's local midnight today, in milliseconds since 1970 (for "today").
#[cfg(feature = "hydrate")]
fn local_midnight_ms() -> i64 {
    let d = js_sys::Date::new_0();
    d.set_hours(0);
    d.set_minutes(0);
    d.set_seconds(0);
    d.set_milliseconds(0);
    d.get_time() as i64
}

#[cfg(not(feature = "hydrate"))]
fn local_midnight_ms() -> i64 {
    0
}

#[cfg(not(feature = "hydrate"))]
fn stop_tracking(_: Option<i32>) {}
