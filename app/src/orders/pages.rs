//! Cart controls on store pages and the cart page.

use leptos::prelude::*;
use uuid::Uuid;

use super::api::{SetCartQuantity, my_carts};
use super::model::CartView;
use crate::error::AppError;
use crate::ui::{Pager, encode_query_value, page_param, when_loaded};

/// What a cart change answered, turned into something to show (or a trip to the log-in page).
fn explain(error: AppError) -> Option<String> {
    match error {
        AppError::Unauthorized => {
            if let Some(w) = web_sys::window() {
                let loc = w.location();
                let here = format!(
                    "{}{}",
                    loc.pathname().unwrap_or_default(),
                    loc.search().unwrap_or_default()
                );
                let _ = loc.assign(&format!("/login?next={}", encode_query_value(&here)));
            }
            None
        }
        AppError::Forbidden => Some("Log in with a customer account to order.".to_string()),
        other => Some(other.to_string()),
    }
}

/// The cart of one store page: shared by every product card's buttons and the summary bar.
#[derive(Clone, Copy)]
pub struct StoreCart {
    cart: RwSignal<Option<CartView>>,
    action: ServerAction<SetCartQuantity>,
    /// The product the last refusal was about, and why.
    refusal: RwSignal<Option<(Uuid, String)>>,
    /// The product of the last change sent (the action forgets its input once answered).
    last: RwSignal<Option<Uuid>>,
}

impl StoreCart {
    pub fn new(initial: Option<CartView>) -> StoreCart {
        let cart = RwSignal::new(initial);
        let action = ServerAction::<SetCartQuantity>::new();
        let refusal = RwSignal::new(None);
        let last = RwSignal::new(None);
        Effect::new(move |_| {
            let Some(answer) = action.value().get() else {
                return;
            };
            let product = last.get_untracked();
            match answer {
                Ok(view) => {
                    cart.set(Some(view));
                    refusal.set(None);
                }
                Err(e) => refusal.set(explain(e).zip(product).map(|(m, p)| (p, m))),
            }
        });
        StoreCart {
            cart,
            action,
            refusal,
            last,
        }
    }

    fn set(&self, product_id: Uuid, quantity: i32) {
        self.last.set(Some(product_id));
        self.action.dispatch(SetCartQuantity {
            product_id,
            quantity,
        });
    }
}

/// "Add" or "− n +" for one product.
#[component]
pub fn CartButtons(cart: StoreCart, product_id: Uuid, sold_out: bool) -> impl IntoView {
    let quantity = move || {
        cart.cart
            .with(|c| c.as_ref().map_or(0, |c| c.quantity_of(product_id)))
    };
    let busy = move || cart.action.pending().get();
    let refusal = move || {
        cart.refusal
            .get()
            .filter(|(p, _)| *p == product_id)
            .map(|(_, m)| m)
    };
    view! {
        <div class="cart-buttons" data-test="cart-buttons">
            {move || if quantity() == 0 {
                view! {
                    <button type="button" class="add" disabled=move || sold_out || busy() data-test="add-to-cart"
                        on:click=move |_| cart.set(product_id, 1)>
                        {if sold_out { "Sold out" } else { "Add 加入" }}
                    </button>
                }.into_any()
            } else {
                view! {
                    <button type="button" aria-label="One less" disabled=busy data-test="less"
                        on:click=move |_| cart.set(product_id, quantity() - 1)>"−"</button>
                    <span class="qty" data-test="quantity">{quantity}</span>
                    <button type="button" aria-label="One more" disabled=busy data-test="more"
                        on:click=move |_| cart.set(product_id, quantity() + 1)>"+"</button>
                }.into_any()
            }}
            <p class="field-error" role="alert" data-test="cart-error">{refusal}</p>
        </div>
    }
}

/// The bar under a store's products: what is in this store's cart.
#[component]
pub fn CartBar(cart: StoreCart) -> impl IntoView {
    move || {
        cart.cart.get().filter(|c| c.items > 0).map(|c| {
            view! {
                <aside class="cart-bar" data-test="cart-bar">
                    <span data-test="cart-count">{format!("{} items 件", c.items)}</span>
                    <strong data-test="cart-subtotal">{c.subtotal.to_string()}</strong>
                    <a class="button primary-link" href="/cart">"View cart 购物车 →"</a>
                </aside>
            }
        })
    }
}

/// All carts of the customer, one per store.
#[component]
pub fn CartPage() -> impl IntoView {
    let page = page_param();
    let action = ServerAction::<SetCartQuantity>::new();
    let carts = Resource::new(
        move || (page(), action.version().get()),
        |(p, _)| my_carts(p),
    );
    let problem = move || match action.value().get() {
        Some(Err(e)) => explain(e),
        _ => None,
    };
    view! {
        <section data-test="cart-page">
            <h1>"Your carts 购物车"</h1>
            <p class="field-error" role="alert" data-test="cart-error">{problem}</p>
            {when_loaded(carts, move |p| view! {
                {p.items.is_empty().then(|| view! {
                    <p data-test="empty-cart">"Your carts are empty. " <a href="/">"Find a store"</a></p>
                })}
                {p.items.clone().into_iter().map(|c| view! {
                    <article class="card cart" data-test="cart">
                        <h2><a href=format!("/stores/{}", c.store_id)>{c.store_name.clone()}</a></h2>
                        <ul class="rows">
                            {c.lines.into_iter().map(|l| {
                                let id = l.product_id;
                                let q = l.quantity;
                                view! {
                                    <li class="cart-line" data-test="cart-line">
                                        <span>{l.name} <span class="muted">" / " {l.unit}</span></span>
                                        <span class="muted">{l.price.to_string()} " × " {q}</span>
                                        <strong>{l.line_total.to_string()}</strong>
                                        {(!l.orderable).then(|| view! { <span class="badge closed">"Not available now"</span> })}
                                        <span class="cart-buttons">
                                            <button type="button" aria-label="One less" data-test="less"
                                                on:click=move |_| { action.dispatch(SetCartQuantity { product_id: id, quantity: q - 1 }); }>"−"</button>
                                            <span class="qty" data-test="quantity">{q}</span>
                                            <button type="button" aria-label="One more" data-test="more"
                                                on:click=move |_| { action.dispatch(SetCartQuantity { product_id: id, quantity: q + 1 }); }>"+"</button>
                                            <button type="button" data-test="remove"
                                                on:click=move |_| { action.dispatch(SetCartQuantity { product_id: id, quantity: 0 }); }>"Remove"</button>
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <p class="subtotal">"Subtotal 小计 " <strong data-test="cart-subtotal">{c.subtotal.to_string()}</strong>
                            <span class="muted">" at today's prices"</span></p>
                        <a class="button primary-link" data-test="checkout-link"
                            href=format!("/checkout/{}", c.store_id)>"Checkout 去结算 →"</a>
                    </article>
                }).collect_view()}
                <Pager page=p base="/cart".to_string()/>
            })}
        </section>
    }
}
