//! The sandbox provider's hosted payment page. On a real provider this page is theirs.

use leptos::prelude::*;

use super::api::{sandbox_decide, sandbox_payment};
use crate::error::AppError;
use crate::ui::{uuid_param, when_loaded};

#[component]
pub fn SandboxPayPage() -> impl IntoView {
    let id = uuid_param("id");
    let payment = Resource::new(id, |id| async move {
        match id {
            Some(id) => sandbox_payment(id).await,
            None => Err(AppError::NotFound),
        }
    });
    let decide =
        Action::new_unsync(|(id, succeed): &(uuid::Uuid, bool)| sandbox_decide(*id, *succeed));
    Effect::new(move |_| {
        if let Some(Ok(url)) = decide.value().get()
            && let Some(w) = web_sys::window()
        {
            let _ = w.location().assign(&url);
        }
    });
    let problem = move || match decide.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    view! {
        <section class="sandbox-pay" data-test="sandbox-pay">
            <p class="badge closed">"Sandbox 测试支付 — no real money moves"</p>
            {when_loaded(payment, move |p| {
                let id = p.id;
                let open = p.status == "open";
                view! {
                    <h1>"Pay " <span data-test="sandbox-amount">{p.amount.to_string()}</span></h1>
                    <p>"To " {p.store_name.clone()} " for order " {p.order_number.clone()}</p>
                    {if open {
                        view! {
                            <div class="actions">
                                <button type="button" class="primary" data-test="sandbox-succeed"
                                    disabled=move || decide.pending().get()
                                    on:click=move |_| { decide.dispatch((id, true)); }>"Pay 确认支付"</button>
                                <button type="button" data-test="sandbox-fail"
                                    disabled=move || decide.pending().get()
                                    on:click=move |_| { decide.dispatch((id, false)); }>"Fail this payment 模拟失败"</button>
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <p data-test="sandbox-decided">"This payment is already " {p.status.clone()} ". "
                                <a href=format!("/orders/{}", p.order_id)>"Back to the order"</a></p>
                        }.into_any()
                    }}
                }
            })}
            <p class="field-error" role="alert">{problem}</p>
        </section>
    }
}
