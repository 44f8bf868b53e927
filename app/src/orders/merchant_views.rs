//! The merchant console's order pages: the live board, one order's pick list and actions,
//! and the printable packing label.

use leptos::prelude::*;
use uuid::Uuid;

use leptos_router::hooks::use_query_map;

use super::board::{
    Board, BoardCard, BoardColumn, MerchantOrder, OrderFilter, PackingLabel, PickLine, StoreToday,
    SubstituteOption,
};
use super::merchant_api::{
    AcceptOrder, AnswerCancelRequest, CollectOrder, DismissStoreAlert, MarkOrderReady,
    ReceiveReturn, RejectOrder, ReportMissingItem, TickPickLine, get_merchant_order,
    get_packing_label, get_store_board, get_store_today, search_store_orders,
};
use super::model::{Fulfilment, OrderStatus};
use crate::error::AppError;
use crate::ui::{ErrorView, Loading, Pager, follow_feed, page_param, uuid_param, when_loaded};

/// The store's sections (shown on every merchant store page).
#[component]
pub fn StoreNav(store_id: Uuid, #[prop(into)] current: String) -> impl IntoView {
    // "current" names the section ("" = Today) the page belongs to.
    let base = format!("/merchant/stores/{store_id}");
    let links = [
        ("orders", "Order board 订单看板"),
        ("", "Today 今日概览"),
        ("history", "All orders 全部订单"),
        ("stock", "Stock 库存"),
        ("catalog", "Products 商品管理"),
        ("settings", "Settings 门店设置"),
    ];
    view! {
        <nav class="tabs store-nav" aria-label="Store sections" data-test="store-nav">
            <a href="/merchant">"← Stores"</a>
            {links.into_iter().map(|(path, label)| {
                let href = if path.is_empty() { base.clone() } else { format!("{base}/{path}") };
                view! { <a href=href class:active=current == path>{label}</a> }
            }).collect_view()}
        </nav>
    }
}

/// A short two-tone chime through Web Audio (only after staff turned sound on: browsers
/// allow audio after a click).
fn chime(ctx: &web_sys::AudioContext) {
    let now = ctx.current_time();
    for (i, freq) in [880.0f32, 1318.5].into_iter().enumerate() {
        let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
            return;
        };
        osc.frequency().set_value(freq);
        let start = now + 0.18 * i as f64;
        let _ = gain.gain().set_value_at_time(0.0001, start);
        let _ = gain
            .gain()
            .exponential_ramp_to_value_at_time(0.3, start + 0.02);
        let _ = gain
            .gain()
            .exponential_ramp_to_value_at_time(0.0001, start + 0.3);
        let _ = osc.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&ctx.destination());
        let _ = osc.start_with_when(start);
        let _ = osc.stop_with_when(start + 0.32);
    }
}

thread_local! {
    /// The chime's audio context, once staff turned sound on (browser only: the server never
    /// touches it, so nothing browser-bound lives in the reactive graph SSR drops elsewhere).
    static SOUND: std::cell::RefCell<Option<web_sys::AudioContext>> = const { std::cell::RefCell::new(None) };
}

fn set_document_title(title: &str) {
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        d.set_title(title);
    }
}

#[derive(Clone, Copy)]
struct BoardActions {
    accept: ServerAction<AcceptOrder>,
    reject: ServerAction<RejectOrder>,
}

/// The live order board: new paid orders appear within a second (store feed), with a chime,
/// a banner and the count in the tab title.
#[component]
pub fn StoreBoardPage() -> impl IntoView {
    let store_id = uuid_param("id");
    let version = RwSignal::new(0u32);
    let live = RwSignal::new(false);
    let actions = BoardActions {
        accept: ServerAction::<AcceptOrder>::new(),
        reject: ServerAction::<RejectOrder>::new(),
    };
    let dismiss = ServerAction::<DismissStoreAlert>::new();
    let board = Resource::new(
        move || {
            (
                store_id(),
                version.get(),
                actions.accept.version().get(),
                actions.reject.version().get(),
                dismiss.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_store_board(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(id) = store_id() {
            follow_feed(
                format!("/api/live/stores/{id}"),
                &["board"],
                move || version.update(|v| *v += 1),
                live,
            );
        }
    });
    // New-order alert: compare the "new" column with what was on screen before.
    let sound_on = RwSignal::new(false);
    let seen = StoredValue::new(None::<Vec<Uuid>>);
    let arrived = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        let Some(Ok(b)) = board.get() else { return };
        let new: Vec<&BoardCard> = b
            .lanes
            .iter()
            .filter(|l| l.column == BoardColumn::New)
            .flat_map(|l| l.cards.iter())
            .collect();
        let count = b.count(BoardColumn::New);
        set_document_title(&if count > 0 {
            format!("({count}) 新订单 New orders · {}", b.store_name)
        } else {
            format!("{} · Songda 送达", b.store_name)
        });
        let fresh: Vec<String> = match seen.get_value() {
            Some(before) => new
                .iter()
                .filter(|c| !before.contains(&c.id))
                .map(|c| c.number.clone())
                .collect(),
            None => vec![],
        };
        seen.set_value(Some(new.iter().map(|c| c.id).collect()));
        if !fresh.is_empty() {
            arrived.set(fresh);
            SOUND.with_borrow(|ctx| {
                if let Some(ctx) = ctx {
                    chime(ctx);
                }
            });
        }
    });
    let enable_sound = move |_| {
        if let Ok(ctx) = web_sys::AudioContext::new() {
            let _ = ctx.resume();
            chime(&ctx);
            SOUND.set(Some(ctx));
            sound_on.set(true);
        }
    };
    let problem = move || {
        [
            actions.accept.value().get().and_then(Result::err),
            actions.reject.value().get().and_then(Result::err),
            dismiss.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <section class="board-page" data-test="board-page">
            {move || store_id().map(|id| view! { <StoreNav store_id=id current="orders"/> })}
            <div class="board-head">
                <p class="live" data-test="live-state" data-live=move || live.get().to_string()>
                    {move || if live.get() { "● Live 实时更新" } else { "○ Connecting…" }}</p>
                <button type="button" data-test="sound" on:click=enable_sound disabled=move || sound_on.get()>
                    {move || if sound_on.get() { "🔔 Sound on 提示音已开" } else { "🔕 Turn on sound 开启提示音" }}</button>
            </div>
            {move || {
                let numbers = arrived.get();
                (!numbers.is_empty()).then(|| view! {
                    <p class="new-order-alert" role="alert" data-test="new-order-alert">
                        "🔔 New order 新订单: " {numbers.join(", ")}
                        <button type="button" class="link" on:click=move |_| arrived.set(vec![])>"OK"</button>
                    </p>
                })
            }}
            <p class="field-error" role="alert" data-test="board-error">{problem}</p>
            {move || store_id().map(|store_id| view! { <crate::ui::map::StoreCouriersMap store_id/> })}
            <Transition fallback=Loading>
                {move || board.get().map(|r| match r {
                    Ok(b) => board_body(b, actions, dismiss).into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn board_body(
    b: Board,
    actions: BoardActions,
    dismiss: ServerAction<DismissStoreAlert>,
) -> impl IntoView {
    let prep = b.default_prep_min;
    view! {
        <h1>{b.store_name.clone()} " · Orders 订单"</h1>
        {(!b.accepting_orders).then(|| view! {
            <p class="notice" data-test="paused">"This store is paused (busy): customers cannot order until you resume it in Settings."</p>
        })}
        {(!b.alerts.is_empty()).then(|| view! {
            <ul class="alerts" data-test="store-alerts">
                {b.alerts.clone().into_iter().map(|a| {
                    let id = a.id;
                    view! {
                        <li class="alert" data-test="store-alert">
                            <span>{a.at_local} " " {a.message}</span>
                            <button type="button" class="link" on:click=move |_| { dismiss.dispatch(DismissStoreAlert { alert_id: id }); }>"Dismiss"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
        <p class="muted">{format!("Orders not accepted within {} min are rejected and refunded automatically.", b.accept_timeout_min)}</p>
        <div class="board" data-test="board">
            {b.lanes.into_iter().map(|lane| {
                let column = lane.column;
                let hidden = lane.total - lane.cards.len() as i64;
                view! {
                    <section class="lane" data-test="lane" data-column=column.as_str()>
                        <h2>{column.label()} " " <span class="count" data-test="lane-count">{lane.total}</span></h2>
                        {lane.cards.is_empty().then(|| view! { <p class="muted">"Nothing here."</p> })}
                        <ul class="cards">
                            {lane.cards.into_iter().map(|c| board_card(c, column, prep, actions)).collect_view()}
                        </ul>
                        {(hidden > 0).then(|| view! { <p class="muted">{format!("and {hidden} more (see All orders)")}</p> })}
                    </section>
                }.into_any()
            }).collect_view()}
        </div>
    }
}

fn fulfilment_badge(f: Fulfilment) -> impl IntoView {
    let (class, text) = match f {
        Fulfilment::Delivery => ("badge", "Delivery 外送"),
        Fulfilment::Pickup => ("badge open", "Pickup 自取"),
    };
    view! { <span class=class>{text}</span> }
}

fn board_card(
    c: BoardCard,
    column: BoardColumn,
    prep: i32,
    actions: BoardActions,
) -> impl IntoView {
    let order_id = c.id;
    let href = format!("/merchant/orders/{}", c.id);
    let prep_min = RwSignal::new(prep);
    let reason = RwSignal::new(String::new());
    let overdue = c.accept_within_min.is_some_and(|m| m < 2);
    view! {
        <li class="card order-card" class:urgent=overdue data-test="order-card" data-number=c.number.clone() data-status=c.status.as_str()>
            <p><a href=href data-test="open-order"><strong>{c.number.clone()}</strong></a> " " {fulfilment_badge(c.fulfilment)}</p>
            <p class="muted">
                {format!("{} items · {} · paid {} ({} min ago)", c.items, c.total, c.paid_local, c.age_min)}
            </p>
            {c.scheduled_local.clone().map(|s| view! { <p class="badge low">"Scheduled 预约 " {s}</p> })}
            {c.accept_within_min.map(|m| view! {
                <p class:field-error=m < 2 data-test="accept-within">{if m >= 0 { format!("Accept within {m} min") } else { "Overdue: will be rejected".to_string() }}</p>
            })}
            {c.ready_by_local.clone().map(|t| view! { <p>"Ready by 预计备好 " {t}</p> })}
            {c.courier_arrival.clone().map(|t| view! { <p data-test="courier-arrival">"Courier 骑手 " {t}</p> })}
            {(column == BoardColumn::Preparing).then(|| view! {
                <p data-test="picked-progress">{format!("Picked {}/{} lines", c.picked_lines, c.lines)}</p>
            })}
            {c.cancel_reason.clone().map(|r| view! { <p class="field-error" data-test="cancel-reason">"Customer asks to cancel: " {r}</p> })}
            {(c.missing_open > 0).then(|| view! { <p class="field-error" data-test="missing-waiting">{format!("{} missing item(s): waiting for the customer", c.missing_open)}</p> })}
            {(c.status == OrderStatus::Placed).then(|| view! {
                <div class="card-actions">
                    <label>"Prep min 备货分钟 "
                        <input type="number" min="1" max="240" class="narrow" data-test="prep-min"
                            prop:value=move || prep_min.get().to_string()
                            on:input=move |ev| { if let Ok(n) = event_target_value(&ev).parse() { prep_min.set(n); } }/>
                    </label>
                    <button type="button" data-test="accept" disabled=move || actions.accept.pending().get()
                        on:click=move |_| { actions.accept.dispatch(AcceptOrder { order_id, prep_min: prep_min.get_untracked() }); }>
                        "Accept 接单"</button>
                    <details>
                        <summary data-test="reject-open">"Reject 拒单"</summary>
                        <input type="text" maxlength="200" placeholder="Reason (the customer sees it)" data-test="reject-reason"
                            prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                        <button type="button" class="danger" data-test="reject" disabled=move || actions.reject.pending().get()
                            on:click=move |_| { actions.reject.dispatch(RejectOrder { order_id, reason: reason.get_untracked() }); }>
                            "Reject and refund"</button>
                    </details>
                </div>
            })}
        </li>
    }
    .into_any()
}

#[derive(Clone, Copy)]
struct OrderActions {
    accept: ServerAction<AcceptOrder>,
    reject: ServerAction<RejectOrder>,
    tick: ServerAction<TickPickLine>,
    ready: ServerAction<MarkOrderReady>,
    collect: ServerAction<CollectOrder>,
    answer: ServerAction<AnswerCancelRequest>,
    missing: ServerAction<ReportMissingItem>,
    receive: ServerAction<ReceiveReturn>,
}

/// One order for the store: pick list with tick-off, ready, label, hand-over, cancel requests.
#[component]
pub fn MerchantOrderPage() -> impl IntoView {
    let id = uuid_param("id");
    let version = RwSignal::new(0u32);
    let live = RwSignal::new(false);
    let a = OrderActions {
        accept: ServerAction::new(),
        reject: ServerAction::new(),
        tick: ServerAction::new(),
        ready: ServerAction::new(),
        collect: ServerAction::new(),
        answer: ServerAction::new(),
        missing: ServerAction::new(),
        receive: ServerAction::new(),
    };
    let order = Resource::new(
        move || {
            (
                id(),
                version.get(),
                a.accept.version().get(),
                a.reject.version().get(),
                a.tick.version().get(),
                a.ready.version().get(),
                a.collect.version().get(),
                a.answer.version().get(),
                a.missing.version().get(),
                a.receive.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_merchant_order(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(order_id) = id() {
            // Starts after the last event, like the customer's page: only news wake it (the
            // loaded order may still be the previous one after in-app navigation).
            let after = order
                .get_untracked()
                .and_then(|r| r.ok())
                .filter(|o| o.id == order_id)
                .and_then(|o| o.timeline.last().map(|e| e.id))
                .unwrap_or(0);
            follow_feed(
                format!("/api/live/orders/{order_id}?after={after}"),
                &["order", "update"],
                move || version.update(|v| *v += 1),
                live,
            );
        }
    });
    let problem = move || {
        [
            a.accept.value().get().and_then(Result::err),
            a.reject.value().get().and_then(Result::err),
            a.tick.value().get().and_then(Result::err),
            a.ready.value().get().and_then(Result::err),
            a.collect.value().get().and_then(Result::err),
            a.answer.value().get().and_then(Result::err),
            a.missing.value().get().and_then(Result::err),
            a.receive.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <section class="merchant-order" data-test="merchant-order">
            <p class="live" data-test="live-state" data-live=move || live.get().to_string()>
                {move || if live.get() { "● Live 实时更新" } else { "○ Connecting…" }}</p>
            <p class="field-error" role="alert" data-test="order-error">{problem}</p>
            <Transition fallback=Loading>
                {move || order.get().map(|r| match r {
                    Ok(o) => merchant_order_body(o, a).into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn merchant_order_body(o: MerchantOrder, a: OrderActions) -> impl IntoView {
    let order_id = o.id;
    let prep_min = RwSignal::new(o.prep_estimate_min.unwrap_or(o.default_prep_min));
    let reason = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let can_pick = o.can_pick();
    let all_picked = o.all_picked() && !o.waits_for_answer();
    let label_href = format!("/merchant/orders/{}/label", o.id);
    let awaits_code = o.awaits_pickup_code();
    let waits_courier = o.status == OrderStatus::Ready && o.fulfilment == Fulfilment::Delivery;
    let head = view! {
        <article class="card">
            <h1 data-test="order-number">{o.number.clone()} " " {fulfilment_badge(o.fulfilment)}</h1>
            <p data-test="order-status" data-status=o.status.as_str()><strong>{o.status.label()}</strong></p>
            <p class="muted">{format!("{} · {}", o.customer_masked, o.phone_masked)}
                {o.paid_local.clone().map(|t| format!(" · paid {t}"))}
                {o.ready_by_local.clone().map(|t| format!(" · ready by {t}"))}</p>
            {o.courier_arrival.clone().map(|t| view! { <p data-test="courier-arrival">"Courier coming 骑手 " {t}</p> })}
            {o.scheduled_local.clone().map(|s| view! { <p class="badge low">"Scheduled 预约 " {s}</p> })}
            {(!o.notes.is_empty()).then(|| view! { <p class="notes">"Notes 备注: " {o.notes.clone()}</p> })}
            {o.cancel_reason.clone().map(|r| view! {
                <div class="notice" data-test="cancel-request">
                    <p>"The customer asks to cancel 顾客申请取消: " <strong>{r}</strong></p>
                    <input type="text" maxlength="200" placeholder="Reason (needed to decline)" data-test="cancel-answer-reason"
                        prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                    <button type="button" data-test="approve-cancel"
                        on:click=move |_| { a.answer.dispatch(AnswerCancelRequest { order_id, approve: true, reason: reason.get_untracked() }); }>
                        "Approve and refund 同意"</button>
                    <button type="button" class="danger" data-test="decline-cancel"
                        on:click=move |_| { a.answer.dispatch(AnswerCancelRequest { order_id, approve: false, reason: reason.get_untracked() }); }>
                        "Decline 拒绝"</button>
                </div>
            })}
            {o.awaiting_return.clone().map(|who| {
                let restock = RwSignal::new(true);
                view! {
                    <div class="notice" data-test="awaiting-return">
                        <p>"Delivery failed 配送失败: " <strong>{who}</strong></p>
                        <label><input type="checkbox" data-test="return-restock" prop:checked=restock
                            on:change=move |ev| restock.set(event_target_checked(&ev))/>
                            " Put the goods back on sale (not for cooked food) 重新上架"</label>
                        <button type="button" class="primary" data-test="receive-return"
                            on:click=move |_| { a.receive.dispatch(ReceiveReturn { order_id, restock: restock.get_untracked() }); }>
                            "Goods received back 已收回 · refund the customer"</button>
                    </div>
                }
            })}
            {o.can_accept().then(|| view! {
                <div class="card-actions">
                    <label>"Prep min 备货分钟 "
                        <input type="number" min="1" max="240" class="narrow" data-test="prep-min"
                            prop:value=move || prep_min.get().to_string()
                            on:input=move |ev| { if let Ok(n) = event_target_value(&ev).parse() { prep_min.set(n); } }/>
                    </label>
                    <button type="button" data-test="accept" on:click=move |_| { a.accept.dispatch(AcceptOrder { order_id, prep_min: prep_min.get_untracked() }); }>"Accept 接单"</button>
                    <input type="text" maxlength="200" placeholder="Reason to reject" data-test="reject-reason"
                        prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                    <button type="button" class="danger" data-test="reject" on:click=move |_| { a.reject.dispatch(RejectOrder { order_id, reason: reason.get_untracked() }); }>"Reject 拒单"</button>
                </div>
            })}
        </article>
    }
    .into_any();
    let picks = view! {
        <article class="card">
            <h2>"Pick list 拣货单"</h2>
            {o.pick_list.into_iter().map(|g| {
                let options: Vec<SubstituteOption> = o.substitutes.iter().filter(|s| s.category == g.category).cloned().collect();
                view! {
                    <h3 class="shelf">{g.category}</h3>
                    <ul class="rows pick-list">
                        {g.lines.into_iter().map(|l| pick_line(order_id, l, can_pick, options.clone(), a)).collect_view()}
                    </ul>
                }
            }).collect_view()}
            {(!o.missing.is_empty()).then(|| view! {
                <h3 class="shelf">"Missing items 缺货处理"</h3>
                <ul class="rows" data-test="missing-items">
                    {o.missing.iter().map(|m| view! {
                        <li data-test="missing-item" data-status=m.status.clone()>
                            {format!("{} × {}", m.missing_qty, m.name)}
                            {m.substitute.clone().map(|s| format!(" → offered {s}"))}
                            <strong>{match m.status.as_str() {
                                "open" => format!(" · waiting for the customer until {} (then: {})", m.deadline_local, m.default_choice),
                                "substituted" => " · substituted".to_string(),
                                _ => " · refunded".to_string(),
                            }}</strong>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            <div class="card-actions">
                {o.status.ne(&OrderStatus::Placed).then(|| view! {
                    <a class="button" href=label_href target="_blank" data-test="print-label">"Packing label 打印标签"</a>
                })}
                {can_pick.then(|| view! {
                    <button type="button" data-test="mark-ready" disabled=!all_picked on:click=move |_| { a.ready.dispatch(MarkOrderReady { order_id }); }>
                        "Packed, mark ready 备货完成"</button>
                    {(!all_picked).then(|| view! { <span class="muted">"Tick every line first."</span> })}
                })}
            </div>
            {awaits_code.then(|| view! {
                <div class="card-actions" data-test="pickup-handover">
                    <label>"Customer's pickup code 取货码 "
                        <input type="text" inputmode="numeric" maxlength="7" class="narrow" data-test="pickup-code"
                            prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                    </label>
                    <button type="button" data-test="collect" on:click=move |_| { a.collect.dispatch(CollectOrder { order_id, code: code.get_untracked() }); }>"Hand over 交付"</button>
                </div>
            })}
            {waits_courier.then(|| view! {
                <p class="muted">"Waiting for the courier: they scan the QR on the label (or type its code)."</p>
            })}
        </article>
    }
    .into_any();
    let history = view! {
        <article class="card">
            <h2>"Timeline 时间线"</h2>
            {super::views::timeline_view(o.timeline)}
        </article>
    }
    .into_any();
    view! {
        <StoreNav store_id=o.store_id current="orders"/>
        {head}
        {picks}
        {history}
    }
}

/// One line of the pick list: tick it, or report it (partly) missing with an optional substitute.
fn pick_line(
    order_id: Uuid,
    l: PickLine,
    can_pick: bool,
    options: Vec<SubstituteOption>,
    a: OrderActions,
) -> AnyView {
    let product_id = l.product_id;
    let picked = l.picked;
    let missing_qty = RwSignal::new(l.quantity);
    let substitute = RwSignal::new(String::new());
    let can_report = can_pick && !l.missing_open;
    view! {
        <li class="pick-line" class:picked=picked data-test="pick-line" data-picked=picked.to_string()>
            <label>
                <input type="checkbox" data-test="pick-tick" prop:checked=picked disabled=!can_pick || l.missing_open
                    on:change=move |ev| { a.tick.dispatch(TickPickLine { order_id, product_id, picked: event_target_checked(&ev) }); }/>
                <strong>{format!("{} × ", l.quantity)}</strong>{l.name.clone()} <span class="muted">" / " {l.unit.clone()}</span>
            </label>
            {l.missing_open.then(|| view! { <span class="badge low">"Missing: waiting for the customer 等待顾客选择"</span> })}
            {can_report.then(|| view! {
                <details class="missing">
                    <summary data-test="report-missing">"Missing? 缺货"</summary>
                    <div class="card-actions">
                        <label>"How many 缺几件 "
                            <input type="number" min="1" max=l.quantity class="narrow" data-test="missing-qty"
                                prop:value=move || missing_qty.get().to_string()
                                on:input=move |ev| { if let Ok(n) = event_target_value(&ev).parse() { missing_qty.set(n); } }/>
                        </label>
                        <select data-test="substitute" on:change=move |ev| substitute.set(event_target_value(&ev))>
                            <option value="">"No substitute: refund 退款"</option>
                            {options.into_iter().map(|s| view! {
                                <option value=s.product_id.to_string()>{format!("{} / {} · {} ({} left)", s.name, s.unit, s.price, s.available)}</option>
                            }).collect_view()}
                        </select>
                        <button type="button" data-test="missing-submit"
                            on:click=move |_| { a.missing.dispatch(ReportMissingItem { order_id, product_id, missing_qty: missing_qty.get_untracked(), substitute_id: substitute.get_untracked() }); }>
                            "Report 提交"</button>
                    </div>
                </details>
            })}
        </li>
    }
    .into_any()
}

/// The printable packing label (a page of its own: print it or keep it on screen).
#[component]
pub fn PackingLabelPage() -> impl IntoView {
    let id = uuid_param("id");
    let label = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_packing_label(id).await,
            None => Err(AppError::NotFound),
        }
    });
    let print = |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match label.await {
                    Ok(l) => label_view(l, print).into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn label_view(l: PackingLabel, print: impl Fn(leptos::ev::MouseEvent) + 'static) -> impl IntoView {
    view! {
        <p class="no-print"><a href=format!("/merchant/orders/{}", l.order_id)>"← Order"</a> " "
            <button type="button" on:click=print data-test="print">"Print 打印"</button></p>
        <article class="label" data-test="packing-label">
            <header>
                <strong class="label-number" data-test="label-number">{l.number.clone()}</strong>
                <span>{l.store_name.clone()}</span>
            </header>
            <div class="label-body">
                <div class="qr" data-test="label-qr" inner_html=l.qr_svg.clone()></div>
                <dl>
                    <dt>"Items 件数"</dt><dd data-test="label-items">{l.items}</dd>
                    <dt>"Customer 顾客"</dt><dd>{l.customer_masked.clone()}</dd>
                    <dt>"Phone 电话"</dt><dd>{l.phone_masked.clone()}</dd>
                    <dt>"Type 方式"</dt><dd>{l.fulfilment.label()}</dd>
                    {l.scheduled_local.clone().map(|s| view! { <dt>"Slot 预约"</dt><dd>{s}</dd> })}
                    <dt>"Hand-over code 交接码"</dt><dd class="code" data-test="label-code">{l.handover_code.clone()}</dd>
                </dl>
            </div>
            {(!l.notes.is_empty()).then(|| view! { <p class="notes">"Notes 备注: " {l.notes.clone()}</p> })}
        </article>
    }
}

/// Today at a glance: the store's numbers so far, refreshed live.
#[component]
pub fn StoreTodayPage() -> impl IntoView {
    let store_id = uuid_param("id");
    let today = Resource::new(store_id, |id| async move {
        match id {
            Some(id) => get_store_today(id).await,
            None => Err(AppError::NotFound),
        }
    });
    view! { {when_loaded(today, today_body)} }
}

fn today_body(t: StoreToday) -> impl IntoView {
    let minutes = |m: Option<f64>| m.map_or("–".to_string(), |m| format!("{m:.1} min"));
    view! {
        <section data-test="store-today">
            <StoreNav store_id=t.store_id current=""/>
            <h1>{t.store_name.clone()} " · " {t.date_local.clone()}</h1>
            <dl class="facts stats" data-test="today-facts">
                <dt>"Orders today 今日订单"</dt><dd data-test="today-orders">{t.orders}</dd>
                <dt>"Revenue 营业额"</dt><dd data-test="today-revenue">{t.revenue.to_string()}</dd>
                <dt>"Refunded 退款"</dt><dd>{t.refunded.to_string()}</dd>
                <dt>"Open now 进行中"</dt><dd>{t.open_now}</dd>
                <dt>"Late 超时"</dt><dd data-test="today-late">{t.late}</dd>
            </dl>
            <h2>"Average time per stage 各环节平均用时"</h2>
            <div class="table-wrap">
                <table class="stock" data-test="stage-times">
                    <thead><tr><th>"Stage"</th><th>"Average"</th><th>"Orders"</th></tr></thead>
                    <tbody>
                        {t.stages.iter().map(|s| view! {
                            <tr><td>{s.stage.clone()}</td><td class="num">{minutes(s.avg_min)}</td><td class="num">{s.orders}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {(!t.late_numbers.is_empty()).then(|| view! {
                <p data-test="late-orders">"Late 超时订单: " {t.late_numbers.join(", ")}</p>
            })}
            <p class="muted">"Stages are measured from each order's timeline: paid → accepted → ready → handed over."</p>
        </section>
    }
}

/// Every order of the store: filter by status, dates, number, phone; pages; CSV export.
#[component]
pub fn StoreOrdersPage() -> impl IntoView {
    let store_id = uuid_param("id");
    let query = use_query_map();
    let page = page_param();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let args = move || {
        (
            get("status"),
            get("from"),
            get("to"),
            get("number"),
            get("phone"),
        )
    };
    let orders = Resource::new(
        move || (store_id(), args(), page()),
        |(id, (status, from, to, number, phone), page)| async move {
            match id {
                Some(id) => search_store_orders(id, status, from, to, number, phone, page).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <section data-test="store-orders">
            {move || store_id().map(|id| view! { <StoreNav store_id=id current="history"/> })}
            <h1>"All orders 全部订单"</h1>
            <form class="filters" method="get" data-test="order-filters">
                <label>"Status 状态"
                    <select name="status">
                        <option value="" selected=move || get("status").is_empty()>"Any 全部"</option>
                        {OrderStatus::ALL.into_iter().filter(|s| *s != OrderStatus::PendingPayment).map(|s| view! {
                            <option value=s.as_str() selected=move || get("status") == s.as_str()>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"From 从"<input type="date" name="from" value=move || get("from")/></label>
                <label>"To 到"<input type="date" name="to" value=move || get("to")/></label>
                <label>"Order no. 单号"<input type="search" name="number" maxlength="20" value=move || get("number") data-test="filter-number"/></label>
                <label>"Phone last 4 手机尾号"<input type="search" name="phone" inputmode="numeric" maxlength="4" value=move || get("phone")/></label>
                <button type="submit">"Filter 筛选"</button>
            </form>
            {when_loaded(orders, move |p| {
                let id = store_id().unwrap_or_default();
                let (status, from, to, number, phone) = args();
                let filter = OrderFilter::parse(&status, &from, &to, &number, &phone).unwrap_or_default();
                let q = filter.to_query();
                let base = format!("/merchant/stores/{id}/history{}", if q.is_empty() { String::new() } else { format!("?{q}") });
                let csv = format!("/merchant/stores/{id}/orders.csv{}", if q.is_empty() { String::new() } else { format!("?{q}") });
                view! {
                    <p><a class="button" href=csv rel="external" download="orders.csv" data-test="export-csv">"Export CSV 导出"</a></p>
                    {p.items.is_empty().then(|| view! { <p data-test="no-orders">"No order matches. Clear a filter to see more."</p> })}
                    <div class="table-wrap">
                        <table class="stock" data-test="order-table">
                            <thead><tr><th>"Order"</th><th>"Status"</th><th>"Type"</th><th>"Created"</th><th>"Items"</th><th>"Total"</th><th>"Phone"</th></tr></thead>
                            <tbody>
                                {p.items.clone().into_iter().map(|r| view! {
                                    <tr data-test="order-row">
                                        <td><a href=format!("/merchant/orders/{}", r.id)>{r.number}</a></td>
                                        <td>{r.status.label()}</td>
                                        <td>{r.fulfilment.label()}</td>
                                        <td>{r.created_local}</td>
                                        <td class="num">{r.items}</td>
                                        <td class="num">{r.total.to_string()}</td>
                                        <td>{r.phone_masked}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <Pager page=p base=base/>
                }
            })}
        </section>
    }
}
