//! Checkout, the order page with its live timeline, order history and the tracking link.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

use super::api::{
    CancelOrder, ChangeOrderDetails, DropAddition, ReduceOrderLine, Reorder, RequestCancel,
    add_to_order, delivery_slots, get_order, get_quote, my_orders, pay_addition, place_order,
    track_order,
};
use super::merchant_api::AnswerMissingItem;
use super::model::{
    Fulfilment, OrderStatus, OrderView, PricedLine, QuoteView, TimelineEntry, Totals,
};
use crate::addresses::api::my_addresses;
use crate::error::AppError;
use crate::payments::api::start_payment;
use crate::ui::map::TrackingMap;
use crate::ui::{ErrorView, Loading, Pager, follow_feed, page_param, uuid_param, when_loaded};

/// Sends the browser to `url` (a provider's payment page is a full page load).
fn go(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(url);
    }
}

fn lines_table(lines: Vec<PricedLine>) -> impl IntoView {
    view! {
        <ul class="rows" data-test="order-lines">
            {lines.into_iter().map(|l| view! {
                <li class="cart-line" data-test="order-line">
                    <span>{l.name.clone()} <span class="muted">" / " {l.unit.clone()}</span></span>
                    <span class="muted">{l.unit_price.to_string()} " × " {l.quantity}</span>
                    <strong>{l.total().to_string()}</strong>
                </li>
            }).collect_view()}
        </ul>
    }
}

fn totals_table(t: Totals, surcharge_reason: Option<String>) -> impl IntoView {
    let row = |label: String, value: String, test: &'static str| {
        view! { <div class="total-row"><dt>{label}</dt><dd data-test=test>{value}</dd></div> }
    };
    view! {
        <dl class="totals" data-test="totals">
            {row("Items 商品".into(), t.items.to_string(), "items-total")}
            {(t.packaging.fen() > 0).then(|| row("Packaging 包装费".into(), t.packaging.to_string(), "packaging"))}
            {(t.delivery_fee.fen() > 0).then(|| row("Delivery 配送费".into(), t.delivery_fee.to_string(), "delivery-fee"))}
            {(t.surcharge.fen() > 0).then(|| row(
                format!("Surcharge 加价{}", surcharge_reason.map(|r| format!(" ({r})")).unwrap_or_default()),
                t.surcharge.to_string(), "surcharge"))}
            {(t.discount.fen() > 0).then(|| row("Discount 满减".into(), format!("−{}", t.discount), "discount"))}
            {(t.tip.fen() > 0).then(|| row("Tip for the courier 小费".into(), t.tip.to_string(), "tip"))}
            <div class="total-row grand"><dt>"Total 合计"</dt><dd data-test="total">{t.total.to_string()}</dd></div>
        </dl>
    }
}

/// One key per page, quote and notes: a double click or a retry of the same request reuses
/// it; changed notes are a new request (the server refuses a key reused with another body).
fn idempotency_key(quote: Uuid, nonce: &str, notes: &str) -> String {
    // FNV-1a: a short stable fingerprint of the notes, not a secret.
    let notes = notes.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{nonce}-{notes:x}", quote.simple())
}

fn page_nonce() -> String {
    let r = (js_sys::Math::random() * 1e15) as u64;
    format!("{r:x}")
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let store_id = uuid_param("store_id");
    let fulfilment = RwSignal::new(Fulfilment::Delivery);
    let address = RwSignal::new(None::<Uuid>);
    let slot = RwSignal::new(None::<DateTime<Utc>>);
    let tip = RwSignal::new(0i64);
    let notes = RwSignal::new(String::new());
    let refresh = RwSignal::new(0u32);
    let nonce = StoredValue::new(String::new());

    let addresses = Resource::new(|| (), |_| my_addresses(1));
    let slots = Resource::new(store_id, |id| async move {
        match id {
            Some(id) => delivery_slots(id).await,
            None => Err(AppError::NotFound),
        }
    });
    let quote = Resource::new(
        move || {
            (
                store_id(),
                fulfilment.get(),
                address.get(),
                slot.get(),
                tip.get(),
                refresh.get(),
            )
        },
        |(store, f, a, s, t, _)| async move {
            match store {
                Some(store) => get_quote(store, f.as_str().to_string(), a, s, t).await,
                None => Err(AppError::NotFound),
            }
        },
    );

    // Place the order, then start paying for it: one click, one order (idempotency key).
    let checkout = Action::new_unsync(move |(quote_id, notes): &(Uuid, String)| {
        let (quote_id, notes) = (*quote_id, notes.clone());
        async move {
            if nonce.with_value(String::is_empty) {
                nonce.set_value(page_nonce());
            }
            let key = idempotency_key(quote_id, &nonce.get_value(), &notes);
            let placed = place_order(quote_id, key, notes).await?;
            match start_payment(placed.order_id).await {
                Ok(url) => Ok(url),
                // The order exists; its page offers to pay again.
                Err(_) => Ok(format!("/orders/{}", placed.order_id)),
            }
        }
    });
    Effect::new(move |_| match checkout.value().get() {
        Some(Ok(url)) => go(&url),
        Some(Err(AppError::Conflict { .. })) => refresh.update(|n| *n += 1),
        _ => {}
    });
    // A closed store takes scheduled orders only: pick its first free slot for the customer.
    let auto_slot = RwSignal::new(false);
    Effect::new(move |_| {
        let closed = matches!(quote.get(), Some(Err(ref e)) if e.for_field("slot").is_some());
        if closed
            && slot.get_untracked().is_none()
            && !auto_slot.get_untracked()
            && let Some(Ok(list)) = slots.get_untracked()
            && let Some(first) = list.iter().find(|s| !s.full)
        {
            auto_slot.set(true);
            slot.set(Some(first.starts_at));
        }
    });
    let checkout_error = move || match checkout.value().get() {
        Some(Err(AppError::Unauthorized)) => None,
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };

    let choose = move |f: Fulfilment| {
        fulfilment.set(f);
        if f == Fulfilment::Pickup {
            tip.set(0);
        }
    };

    view! {
        <section class="checkout" data-test="checkout">
            <h1>"Checkout 结算"</h1>
            <fieldset class="choice">
                <legend>"How 配送方式"</legend>
                <label><input type="radio" name="fulfilment" data-test="choose-delivery"
                    prop:checked=move || fulfilment.get() == Fulfilment::Delivery
                    on:change=move |_| choose(Fulfilment::Delivery)/>" Delivery 外送"</label>
                <label><input type="radio" name="fulfilment" data-test="choose-pickup"
                    prop:checked=move || fulfilment.get() == Fulfilment::Pickup
                    on:change=move |_| choose(Fulfilment::Pickup)/>" Store pickup 到店自取"</label>
            </fieldset>

            <Show when=move || fulfilment.get() == Fulfilment::Delivery>
                <fieldset>
                    <legend>"Deliver to 送至"</legend>
                    {when_loaded(addresses, move |page| {
                        if page.items.is_empty() {
                            return view! {
                                <p data-test="no-address">"You have no saved address yet. "
                                    <a href="/addresses">"Add one (on the map or from your location) →"</a></p>
                            }.into_any();
                        }
                        let chosen = move || quote.get().and_then(|q| q.ok()).and_then(|q| q.address_id);
                        view! {
                            <select data-test="address-select" aria-label="Delivery address"
                                on:change=move |ev| address.set(Uuid::parse_str(&event_target_value(&ev)).ok())>
                                {page.items.into_iter().map(|a| {
                                    let id = a.id;
                                    view! {
                                        <option value=id.to_string() selected=move || chosen() == Some(id)>
                                            {format!("{} · {} · {} {}", a.label, a.detail, a.contact_name, a.phone_masked)}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                            <p class="muted"><a href="/addresses">"Manage addresses"</a></p>
                        }.into_any()
                    })}
                </fieldset>
            </Show>

            <fieldset>
                <legend>"When 时间"</legend>
                <Suspense fallback=Loading>
                    {move || slots.get().map(|r| match r {
                        Ok(list) => view! {
                            <select data-test="slot-select" aria-label="Delivery time"
                                prop:value=move || slot.get().map(|s| s.to_rfc3339()).unwrap_or_default()
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    slot.set(v.parse::<DateTime<Utc>>().ok());
                                }>
                                <option value="">"As soon as possible 尽快送达"</option>
                                {list.into_iter().map(|s| {
                                    let label = if s.full { format!("{} (full 已满)", s.label) } else { s.label.clone() };
                                    view! { <option value=s.starts_at.to_rfc3339() disabled=s.full>{label}</option> }
                                }).collect_view()}
                            </select>
                        }.into_any(),
                        Err(e) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
                    })}
                </Suspense>
                <Show when=move || auto_slot.get() && slot.get().is_some()>
                    <p class="muted" data-test="auto-slot">"The store is closed now, so we chose its first free slot: change it if you like."</p>
                </Show>
            </fieldset>

            <Show when=move || fulfilment.get() == Fulfilment::Delivery>
                <fieldset class="choice">
                    <legend>"Tip for the courier 小费 (optional)"</legend>
                    {[0i64, 200, 500, 1000].into_iter().map(|fen| view! {
                        <label><input type="radio" name="tip" data-test=format!("tip-{fen}")
                            prop:checked=move || tip.get() == fen
                            on:change=move |_| tip.set(fen)/>
                            {if fen == 0 { " None".to_string() } else { format!(" ¥{}", fen / 100) }}</label>
                    }).collect_view()}
                </fieldset>
            </Show>

            <label class="field">
                <span>"Notes for the store and courier 备注"</span>
                <textarea maxlength="200" data-test="notes" prop:value=notes
                    on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
            </label>

            <Transition fallback=Loading>
                {move || quote.get().map(|r| match r {
                    Ok(q) => quote_summary(q, checkout, notes).into_any(),
                    Err(AppError::Unauthorized) => view! { <ErrorView error=AppError::Unauthorized/> }.into_any(),
                    Err(e) => view! {
                        <p class="field-error" role="alert" data-test="quote-error">{e.to_string()}</p>
                        <p><a href="/cart">"Back to your cart"</a></p>
                    }.into_any(),
                })}
            </Transition>
            <p class="field-error" role="alert" data-test="checkout-error">{checkout_error}</p>
        </section>
    }
}

fn quote_summary(
    q: QuoteView,
    checkout: Action<(Uuid, String), Result<String, AppError>>,
    notes: RwSignal<String>,
) -> impl IntoView {
    let id = q.id;
    let when = match (q.scheduled_for.is_some(), q.fulfilment) {
        (true, _) => "In the chosen slot 预约".to_string(),
        (false, Fulfilment::Delivery) => format!("Arrives in about {} min 预计送达", q.eta_min),
        (false, Fulfilment::Pickup) => format!("Ready for pickup in about {} min", q.eta_min),
    };
    let busy = checkout.pending();
    view! {
        <article class="card quote" data-test="quote">
            <h2>{q.store_name.clone()}</h2>
            {q.store_choice.clone().map(|c| view! { <p class="notice" data-test="store-choice">{c}</p> })}
            {lines_table(q.lines.clone())}
            {totals_table(q.totals, q.surcharge_reason.clone())}
            {q.discount_rule.clone().map(|r| view! { <p class="muted" data-test="discount-rule">{r}</p> })}
            <p data-test="eta">{when}
                {q.distance_m.map(|d| format!(" · {:.1} km", f64::from(d) / 1000.0))}</p>
            <button type="button" class="primary" data-test="place-order" disabled=move || busy.get()
                on:click=move |_| { checkout.dispatch((id, notes.get_untracked())); }>
                {move || if busy.get() { "Placing your order…".to_string() } else { format!("Place order and pay {}", q.totals.total) }}
            </button>
            <p class="muted">"Prices are held until " {q.expires_at.format("%H:%M UTC").to_string()} "."</p>
        </article>
    }
}

pub(crate) fn timeline_view(entries: Vec<TimelineEntry>) -> impl IntoView {
    view! {
        <ol class="timeline" data-test="timeline">
            {entries.into_iter().rev().map(|e| view! {
                <li data-test="timeline-entry" data-status=e.status.as_str()>
                    <time datetime=e.at.to_rfc3339()>{e.at_local.clone()}</time>
                    <strong>{e.status.label()}</strong>
                    {(!e.reason.is_empty()).then(|| view! { <span class="muted">" · " {e.reason.clone()}</span> })}
                </li>
            }).collect_view()}
        </ol>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let id = uuid_param("id");
    let version = RwSignal::new(0u32);
    let live = RwSignal::new(false);
    let cancel = ServerAction::<CancelOrder>::new();
    let ask_cancel = ServerAction::<RequestCancel>::new();
    let edits = OrderEdits {
        details: ServerAction::<ChangeOrderDetails>::new(),
        reduce: ServerAction::<ReduceOrderLine>::new(),
        top_up: Action::new_unsync(|t: &TopUp| {
            let t = *t;
            async move {
                match t {
                    TopUp::Add {
                        order_id,
                        product_id,
                    } => add_to_order(order_id, product_id, 1).await,
                    TopUp::Pay(id) => pay_addition(id).await,
                }
            }
        }),
        drop_addition: ServerAction::<DropAddition>::new(),
        missing: ServerAction::<AnswerMissingItem>::new(),
    };
    Effect::new(move |_| {
        if let Some(Ok(url)) = edits.top_up.value().get() {
            go(&url);
        }
    });
    let order = Resource::new(
        move || {
            (
                id(),
                version.get(),
                cancel.version().get(),
                ask_cancel.version().get(),
                edits.details.version().get(),
                edits.reduce.version().get(),
                edits.drop_addition.version().get(),
                edits.missing.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_order(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    // Re-runs when the order id changes (in-app navigation): the cleanup closes the old feed.
    // It starts after what the page already shows, so loading the page replays nothing.
    Effect::new(move |_| {
        if let Some(order_id) = id() {
            let after = order
                .get_untracked()
                .and_then(|r| r.ok())
                .filter(|o| o.id == order_id)
                .and_then(|o| o.timeline.last().map(|e| e.id))
                .unwrap_or(0);
            // EventSource reconnects by itself and sends the last event id: the server replays
            // anything missed.
            follow_feed(
                format!("/api/live/orders/{order_id}?after={after}"),
                &["order", "update"],
                move || version.update(|v| *v += 1),
                live,
            );
        }
    });
    let pay = Action::new_unsync(|order_id: &Uuid| start_payment(*order_id));
    Effect::new(move |_| {
        if let Some(Ok(url)) = pay.value().get() {
            go(&url);
        }
    });
    let problem = move || {
        let errors = [
            pay.value().get().and_then(Result::err),
            cancel.value().get().and_then(Result::err),
            ask_cancel.value().get().and_then(Result::err),
            edits.details.value().get().and_then(Result::err),
            edits.reduce.value().get().and_then(Result::err),
            edits.top_up.value().get().and_then(Result::err),
            edits.drop_addition.value().get().and_then(Result::err),
            edits.missing.value().get().and_then(Result::err),
        ];
        errors.into_iter().flatten().next().map(|e| e.to_string())
    };
    view! {
        <section class="order-page" data-test="order-page">
            <p class="live" data-test="live-state" data-live=move || live.get().to_string()>
                {move || if live.get() { "● Live 实时更新" } else { "○ Connecting…" }}</p>
            <p class="field-error" role="alert" data-test="order-error">{problem}</p>
            {move || id().map(|order_id| view! { <TrackingMap order_id changed=version/> })}
            <Transition fallback=Loading>
                {move || order.get().map(|r| match r {
                    Ok(o) => order_body(o, pay, cancel, ask_cancel, edits).into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Items the store could not find: take the offered substitute or get a refund.
fn missing_items_view(
    o: &OrderView,
    answer: ServerAction<AnswerMissingItem>,
) -> impl IntoView + use<> {
    let items = o.missing_items.clone();
    (!items.is_empty()).then(|| view! {
        <div class="notice" data-test="missing-choice">
            {items.into_iter().map(|m| {
                let missing_id = m.id;
                let fallback = if m.default_choice == "substitute" { "take the substitute" } else { "refund it" };
                view! {
                    <p>
                        <strong>{format!("The store is out of {} × {}. ", m.missing_qty, m.name)}</strong>
                        {m.substitute.clone().map(|s| format!("It offers {s} instead (you never pay more). "))}
                        {format!("Choose by {}, or the store will {fallback}.", m.deadline_local)}
                    </p>
                    <p class="card-actions">
                        {m.substitute.is_some().then(|| view! {
                            <button type="button" data-test="take-substitute" disabled=move || answer.pending().get()
                                on:click=move |_| { answer.dispatch(AnswerMissingItem { missing_id, take_substitute: true }); }>
                                "Take the substitute 接受替换"</button>
                        })}
                        <button type="button" data-test="refund-missing" disabled=move || answer.pending().get()
                            on:click=move |_| { answer.dispatch(AnswerMissingItem { missing_id, take_substitute: false }); }>
                            "Refund it 退款"</button>
                    </p>
                }
            }).collect_view()}
        </div>
    })
}

/// What a customer can still change on an order.
#[derive(Clone, Copy)]
struct OrderEdits {
    details: ServerAction<ChangeOrderDetails>,
    reduce: ServerAction<ReduceOrderLine>,
    /// Add goods (order, product) or pay for added goods (addition): answers a payment page.
    top_up: Action<TopUp, Result<String, AppError>>,
    drop_addition: ServerAction<DropAddition>,
    missing: ServerAction<AnswerMissingItem>,
}

#[derive(Clone, Copy)]
enum TopUp {
    Add { order_id: Uuid, product_id: Uuid },
    Pay(Uuid),
}

/// Lines of an order, each with "remove one" while the items may still change.
fn editable_lines(o: &OrderView, edits: OrderEdits) -> impl IntoView + use<> {
    let order_id = o.id;
    let editable = o.can_change_items();
    let has_addition = o.addition.is_some();
    view! {
        <ul class="rows" data-test="order-lines">
            {o.lines.clone().into_iter().map(|l| {
                let (product_id, q) = (l.product_id, l.quantity);
                view! {
                    <li class="cart-line" data-test="order-line">
                        <span>{l.name.clone()} <span class="muted">" / " {l.unit.clone()}</span></span>
                        <span class="muted">{l.unit_price.to_string()} " × " {q}</span>
                        <strong>{l.total().to_string()}</strong>
                        {editable.then(|| view! {
                            <span class="line-edit">
                                <button type="button" data-test="reduce-line" aria-label="Remove one"
                                    disabled=move || edits.reduce.pending().get()
                                    on:click=move |_| { edits.reduce.dispatch(ReduceOrderLine { order_id, product_id, quantity: q - 1 }); }>
                                    "− Remove one"</button>
                                <button type="button" data-test="add-one" aria-label="Add one"
                                    disabled=move || edits.top_up.pending().get() || has_addition
                                    on:click=move |_| { edits.top_up.dispatch(TopUp::Add { order_id, product_id }); }>
                                    "+ Add one (pay the difference)"</button>
                            </span>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Change the delivery address (to a saved one) and the notes until a courier has the order.
fn details_form(o: &OrderView, details: ServerAction<ChangeOrderDetails>) -> impl IntoView + use<> {
    let order_id = o.id;
    let notes = RwSignal::new(o.notes.clone());
    let address = RwSignal::new(None::<Uuid>);
    let delivery = o.fulfilment == Fulfilment::Delivery;
    // Loaded in the browser only: this form sits inside the order's own async render, where
    // a server-side resource would miss the request (and the hydrated page would differ).
    let addresses = LocalResource::new(|| my_addresses(1));
    view! {
        <details class="card edit-details" data-test="edit-details">
            <summary>"Change address or notes 修改地址/备注"</summary>
            // No Suspense: the list appears when it arrives (nothing is rendered on the server,
            // so hydration finds the same empty spot).
            {move || delivery.then(|| view! {
                    {addresses.get().and_then(|r| r.ok()).map(|page| view! {
                        <select data-test="edit-address" aria-label="New delivery address"
                            on:change=move |ev| address.set(Uuid::parse_str(&event_target_value(&ev)).ok())>
                            <option value="">"Keep the current address"</option>
                            {page.items.into_iter().map(|a| view! {
                                <option value=a.id.to_string()>{format!("{} · {}", a.label, a.detail)}</option>
                            }).collect_view()}
                        </select>
                    })}
            })}
            <label class="field"><span>"Notes 备注"</span>
                <textarea maxlength="200" data-test="edit-notes" prop:value=notes
                    on:input=move |ev| notes.set(event_target_value(&ev))></textarea></label>
            <button type="button" data-test="save-details" disabled=move || details.pending().get()
                on:click=move |_| {
                    details.dispatch(ChangeOrderDetails {
                        order_id,
                        address_id: address.get_untracked(),
                        notes: notes.get_untracked(),
                    });
                }>"Save changes 保存"</button>
            <p class="muted">"A cheaper delivery is refunded; a dearer address needs a new order."</p>
        </details>
    }
}

fn order_body(
    o: OrderView,
    pay: Action<Uuid, Result<String, AppError>>,
    cancel: ServerAction<CancelOrder>,
    ask_cancel: ServerAction<RequestCancel>,
    edits: OrderEdits,
) -> impl IntoView {
    let id = o.id;
    let reason = RwSignal::new(String::new());
    let payment_failed = o
        .payment
        .as_ref()
        .filter(|p| p.status == "failed" && o.status == OrderStatus::PendingPayment)
        .map(|p| p.failure.clone().unwrap_or_default());
    let waiting_for_provider = o.status == OrderStatus::PendingPayment
        && o.payment.as_ref().is_some_and(|p| p.status == "pending");
    view! {
        <header class="order-head">
            <h1>"Order 订单 " <span data-test="order-number">{o.number.clone()}</span></h1>
            <p class="status" data-test="order-status" data-status=o.status.as_str()>{o.status.label()}</p>
            <p class="muted"><a href=format!("/stores/{}", o.store_id)>{o.store_name.clone()}</a>
                " · " {o.fulfilment.label()} " · placed " {o.created_local.clone()}</p>
        </header>
        {o.eta_local.clone().map(|eta| view! {
            <p class="eta" data-test="order-eta">{match o.fulfilment {
                Fulfilment::Delivery => format!("Arrives around {eta} 预计送达"),
                Fulfilment::Pickup => format!("Ready for pickup around {eta}"),
            }}</p>
        }.into_any())}
        {o.scheduled_for_local.clone().map(|s| view! { <p>"Scheduled for 预约 " {s}</p> })}
        {o.pickup_code.clone().map(|code| view! {
            <p class="pickup-code">"Pickup code 取货码 " <strong data-test="pickup-code">{code}</strong></p>
        })}
        {o.delivery_photo.then(|| view! {
            <figure class="pod" data-test="delivery-photo">
                <img src=format!("/api/orders/{}/photo", o.id) alt="The courier's photo at the door" loading="lazy"/>
                <figcaption class="muted">"Photo at the door 送达照片"</figcaption>
            </figure>
        })}
        {o.delivery_pin.clone().map(|pin| view! {
            <p class="pickup-code">"Delivery PIN 收货码 " <strong data-test="delivery-pin">{pin}</strong>
                <span class="muted">" · tell it to the courier at the door"</span></p>
        })}
        {o.can_pay().then(|| view! {
            <div class="card pay" data-test="pay-box">
                {payment_failed.clone().map(|why| view! {
                    <p class="field-error" data-test="payment-failed">"Payment failed 支付失败: " {why}
                        " Your cart is kept; you can try again."</p>
                })}
                {waiting_for_provider.then(|| view! {
                    <p class="muted" data-test="payment-pending">"Waiting for the payment service to confirm…"</p>
                })}
                <p>"Pay " <strong>{o.totals.total.to_string()}</strong>
                    {o.payment_deadline_local.clone().map(|d| format!(" before {d}: after that the items go back on sale."))}</p>
                <button type="button" class="primary" data-test="pay"
                    disabled=move || pay.pending().get()
                    on:click=move |_| { pay.dispatch(id); }>
                    {if payment_failed.is_some() { "Try paying again 重新支付" } else { "Pay now 去支付" }}</button>
            </div>
        }.into_any())}
        {view! { <div class="order-grid">
            <div>
                <h2>"Progress 进度"</h2>
                {timeline_view(o.timeline.clone())}
            </div>
            <div>
                <h2>"Items 商品"</h2>
                {editable_lines(&o, edits)}
                {o.addition.clone().map(|a| {
                    let id = a.id;
                    view! {
                        <div class="card pay" data-test="addition">
                            <p>"Added " {a.quantity} " × " {a.name.clone()} ": pay " <strong>{a.amount.to_string()}</strong>
                                " before " {a.deadline_local.clone()} " or they go back on sale."</p>
                            <button type="button" class="primary" data-test="pay-addition"
                                disabled=move || edits.top_up.pending().get()
                                on:click=move |_| { edits.top_up.dispatch(TopUp::Pay(id)); }>"Pay for the added goods 补差价"</button>
                            <button type="button" data-test="drop-addition"
                                disabled=move || edits.drop_addition.pending().get()
                                on:click=move |_| { edits.drop_addition.dispatch(DropAddition { addition_id: id }); }>"Drop them"</button>
                        </div>
                    }.into_any()
                })}
                {totals_table(o.totals, None)}
                <h2>"Contact 联系人"</h2>
                <p>{o.contact_name.clone()} " " {o.contact_phone_masked.clone()}</p>
                {o.address_detail.clone().map(|a| view! { <p>{a}</p> })}
                {(!o.notes.is_empty()).then(|| view! { <p class="muted" data-test="order-notes">"Notes: " {o.notes.clone()}</p> })}
                {o.can_edit_contact().then(|| details_form(&o, edits.details).into_any())}
            </div>
        </div> }.into_any()}
        {(!o.status.is_final() && o.status != OrderStatus::PendingPayment && o.status != OrderStatus::Cancelled).then(|| view! {
            <p class="share">"Share tracking 分享: "
                <a data-test="tracking-link" href=format!("/track/{}", o.tracking_token)>{format!("/track/{}", o.tracking_token)}</a>
                <span class="muted">" (no phone or address shown; stops working after delivery)"</span></p>
        }.into_any())}
        {(o.can_cancel() || o.can_request_cancel()).then(|| view! {
            <div class="card cancel">
                <label class="field"><span>"Reason (optional) 取消原因"</span>
                    <input maxlength="200" data-test="cancel-reason" prop:value=reason
                        on:input=move |ev| reason.set(event_target_value(&ev))/></label>
                {if o.can_cancel() {
                    view! { <button type="button" data-test="cancel-order"
                        disabled=move || cancel.pending().get()
                        on:click=move |_| { cancel.dispatch(CancelOrder { order_id: id, reason: reason.get_untracked() }); }>
                        {if o.status == OrderStatus::Placed { "Cancel and refund 取消并退款" } else { "Cancel order 取消订单" }}</button> }.into_any()
                } else {
                    view! { <button type="button" data-test="request-cancel"
                        disabled=move || ask_cancel.pending().get()
                        on:click=move |_| { ask_cancel.dispatch(RequestCancel { order_id: id, reason: reason.get_untracked() }); }>
                        "Ask the store to cancel 申请取消"</button> }.into_any()
                }}
            </div>
        }.into_any())}
        {o.open_cancel_request.then(|| view! { <p data-test="cancel-requested">"You asked to cancel: the store will answer soon."</p> })}
        {o.cancel_declined.clone().map(|r| view! { <p class="notice" data-test="cancel-declined">"The store declined to cancel 商家未同意取消: " {r}</p> })}
        {missing_items_view(&o, edits.missing)}
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let page = page_param();
    let orders = Resource::new(page, my_orders);
    let reorder = ServerAction::<Reorder>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(store)) = reorder.value().get() {
            navigate(&format!("/stores/{store}"), Default::default());
        }
    });
    let problem = move || match reorder.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    view! {
        <section data-test="orders-page">
            <h1>"Your orders 我的订单"</h1>
            <p class="field-error" role="alert" data-test="reorder-error">{problem}</p>
            {when_loaded(orders, move |p| view! {
                {p.items.is_empty().then(|| view! { <p data-test="no-orders">"No orders yet. " <a href="/">"Find a store"</a></p> })}
                <ul class="rows">
                    {p.items.clone().into_iter().map(|o| {
                        let id = o.id;
                        view! {
                            <li class="order-row" data-test="order-row">
                                <a href=format!("/orders/{id}")><strong>{o.number.clone()}</strong></a>
                                <span>{o.store_name.clone()}</span>
                                <span class="muted">{o.created_local.clone()} " · " {o.items} " items"</span>
                                <span data-test="order-row-status">{o.status.label()}</span>
                                <strong>{o.total.to_string()}</strong>
                                <button type="button" data-test="reorder"
                                    on:click=move |_| { reorder.dispatch(Reorder { order_id: id }); }>"Order again 再来一单"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <Pager page=p base="/orders".to_string()/>
            })}
        </section>
    }
}

#[component]
pub fn TrackingPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let view_ = Resource::new(token, track_order);
    view! {
        <section data-test="tracking-page">
            {when_loaded(view_, |t| view! {
                <h1>"Order 订单 " {t.number.clone()}</h1>
                <p class="status" data-test="order-status">{t.status.label()}</p>
                <p class="muted">{t.store_name.clone()} " · " {t.fulfilment.label()} " · " {t.items} " items"</p>
                {t.eta_local.clone().map(|e| view! { <p class="eta">"Expected around " {e}</p> })}
                {timeline_view(t.timeline.clone())}
            })}
        </section>
    }
}
