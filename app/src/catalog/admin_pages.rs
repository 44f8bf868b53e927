//! The merchant console's catalog and stock page and the store settings page.

use leptos::prelude::*;

use crate::dispatch::model::Restriction;
use crate::orders::merchant_views::StoreNav;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use super::admin_api::{
    AdjustStock, DeleteHourException, MoveCategory, SaveCategory, SaveHourException, SaveProduct,
    SaveStoreSettings, SetAcceptingOrders, SetProductListed, SetProductRestricted,
    get_catalog_admin, get_product_history, get_store_settings, import_catalog,
};
use super::admin_model::{
    AdjustKind, AdminCategory, AdminProduct, CatalogAdmin, ImportReport, StoreSettings, WEEKDAYS,
    format_day_hours,
};
use crate::error::AppError;
use crate::ui::{Pager, encode_query_value, page_param, uuid_param, when_loaded};

/// The message of a failed answer (validation messages included), for under a form.
fn answer_error<T>(value: Option<Result<T, AppError>>) -> Option<String> {
    match value {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

/// Bumps `reload` whenever `action` answers successfully, so the page reads fresh data.
fn reload_on_success<A, T>(action: ServerAction<A>, reload: RwSignal<u32>)
where
    A: leptos::server_fn::ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    ServerAction<A>: Copy,
{
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            reload.update(|n| *n += 1);
        }
    });
}

/// The store console's sections (one navigation for every merchant store page).
fn store_nav(store_id: Uuid, here: &'static str) -> impl IntoView {
    let current = here.strip_prefix("nav-").unwrap_or(here);
    view! { <StoreNav store_id current=current/> }
}

#[derive(Clone, Copy)]
struct CatalogActions {
    save: ServerAction<SaveProduct>,
    listed: ServerAction<SetProductListed>,
    restricted: ServerAction<SetProductRestricted>,
    adjust: ServerAction<AdjustStock>,
    category: ServerAction<SaveCategory>,
    move_category: ServerAction<MoveCategory>,
}

/// `/merchant/stores/:id/catalog`: products with stock, edit, list/unlist, stock changes with
/// their ledger, the low-stock filter, categories and CSV import/export.
#[component]
pub fn CatalogAdminPage() -> impl IntoView {
    let store_id = uuid_param("id");
    let page = page_param();
    let query = use_query_map();
    let low_only = move || query.read().get("low").is_some_and(|v| v == "1");
    let q = move || query.read().get("q").unwrap_or_default();
    let reload = RwSignal::new(0u32);
    let actions = CatalogActions {
        save: ServerAction::new(),
        listed: ServerAction::new(),
        restricted: ServerAction::new(),
        adjust: ServerAction::new(),
        category: ServerAction::new(),
        move_category: ServerAction::new(),
    };
    reload_on_success(actions.save, reload);
    reload_on_success(actions.listed, reload);
    reload_on_success(actions.restricted, reload);
    reload_on_success(actions.adjust, reload);
    reload_on_success(actions.category, reload);
    reload_on_success(actions.move_category, reload);
    let catalog = Resource::new(
        move || (store_id(), page(), low_only(), q(), reload.get()),
        |(id, page, low, q, _)| async move {
            match id {
                Some(id) => get_catalog_admin(id, page, low, q).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        {when_loaded(catalog, move |c| catalog_view(c, low_only(), q(), actions, reload))}
    }
}

fn catalog_view(
    c: CatalogAdmin,
    low_only: bool,
    q: String,
    actions: CatalogActions,
    reload: RwSignal<u32>,
) -> impl IntoView + use<> {
    let store_id = c.store_id;
    let base = format!("/merchant/stores/{store_id}/catalog");
    let mut pager_base = base.clone();
    let mut params = Vec::new();
    if low_only {
        params.push("low=1".to_string());
    }
    if !q.is_empty() {
        params.push(format!("q={}", encode_query_value(&q)));
    }
    if !params.is_empty() {
        pager_base = format!("{base}?{}", params.join("&"));
    }
    let low_href = if low_only {
        base.clone()
    } else {
        format!("{base}?low=1")
    };
    let categories = c.categories.clone();
    let empty = c.products.items.is_empty();
    view! {
        <section data-test="catalog-admin">
            {store_nav(store_id, "nav-catalog")}
            <h1>{c.store_name.clone()} " · Catalog 商品管理"</h1>
            {(!c.accepting_orders).then(|| view! {
                <p class="notice" data-test="paused-notice">"Paused: customers cannot order now. Resume in Settings."</p>
            })}
            <div class="toolbar">
                <a href=low_href class:active=low_only class="low-filter" data-test="low-stock-filter">
                    {if low_only { "Show all products" } else { "Low stock 库存预警" }}
                    " "
                    <span class="badge low" data-test="low-stock-count">{c.low_stock_count}</span>
                </a>
                <form class="search" method="get" action=base.clone() role="search">
                    {low_only.then(|| view! { <input type="hidden" name="low" value="1"/> })}
                    <input type="search" name="q" value=q.clone() maxlength="60" placeholder="Find a product 查找商品" aria-label="Find a product" data-test="catalog-search"/>
                    <button type="submit">"Find"</button>
                </form>
                <a href=format!("/merchant/stores/{store_id}/export.csv") download="" data-test="export-csv">"Export CSV 导出"</a>
            </div>
            {empty.then(|| view! {
                <p data-test="no-products">{if low_only { "Nothing is low on stock. 👍" } else { "No products here yet: add one below or import a CSV file." }}</p>
            })}
            <ul class="admin-products">
                {c.products.items.clone().into_iter().map(|p| view! {
                    <ProductRow store_id product=p categories=categories.clone() actions reload/>
                }).collect_view()}
            </ul>
            <Pager page=c.products base=pager_base/>
            <details class="card" data-test="new-product">
                <summary>"Add a product 新增商品"</summary>
                {product_form(store_id, None, c.categories.clone(), actions.save)}
            </details>
            {categories_panel(store_id, c.categories.clone(), actions)}
            <CsvImport store_id reload/>
        </section>
    }
}

fn category_options(categories: Vec<AdminCategory>, selected: Option<Uuid>) -> impl IntoView {
    categories
        .into_iter()
        .map(|cat| {
            let sel = selected == Some(cat.id);
            view! { <option value=cat.id.to_string() selected=sel>{cat.name}</option> }
        })
        .collect_view()
}

fn product_form(
    store_id: Uuid,
    product: Option<AdminProduct>,
    categories: Vec<AdminCategory>,
    action: ServerAction<SaveProduct>,
) -> impl IntoView {
    let product = product.as_ref();
    let id = product.map(|p| p.id.to_string()).unwrap_or_default();
    let name = product.map(|p| p.name.clone()).unwrap_or_default();
    let unit = product.map(|p| p.unit.clone()).unwrap_or_default();
    let price = product
        .map(|p| format!("{}.{:02}", p.price.fen() / 100, p.price.fen() % 100))
        .unwrap_or_default();
    let threshold = product.map_or(5, |p| p.low_stock_threshold);
    let listed = product.is_none_or(|p| p.listed);
    let selected = product.map(|p| p.category_id);
    let value = action.value();
    let pending = action.pending();
    view! {
        <ActionForm action=action attr:class="product-form" attr:data-test="product-form">
            <input type="hidden" name="store_id" value=store_id.to_string()/>
            <input type="hidden" name="product_id" value=id/>
            <label>"Name 名称"<input name="name" value=name required maxlength="60" data-test="product-name"/></label>
            <label>"Category 分类"
                <select name="category_id" required data-test="product-category">
                    {category_options(categories, selected)}
                </select>
            </label>
            <label>"Unit 单位"<input name="unit" value=unit required maxlength="12" placeholder="500g / 盒" data-test="product-unit"/></label>
            <label>"Price ¥ 价格"<input name="price" value=price required inputmode="decimal" placeholder="12.50" data-test="product-price"/></label>
            <label>"Low-stock level 预警库存"<input name="low_stock_threshold" type="number" min="0" max="100000" value=threshold data-test="product-threshold"/></label>
            <label class="check"><input type="checkbox" name="listed" value="true" checked=listed data-test="product-listed"/>" Listed (customers see it) 上架"</label>
            <p class="form-error" role="alert" data-test="product-error">{move || answer_error(value.get())}</p>
            <button type="submit" class="primary" disabled=move || pending.get() data-test="product-save">
                {move || if pending.get() { "Saving…" } else { "Save 保存" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn ProductRow(
    store_id: Uuid,
    product: AdminProduct,
    categories: Vec<AdminCategory>,
    actions: CatalogActions,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let panel = RwSignal::new(None::<&'static str>);
    let toggle = move |name: &'static str| {
        panel.update(|p| *p = if *p == Some(name) { None } else { Some(name) })
    };
    let p = product.clone();
    let low = p.is_low();
    let available = p.on_hand - p.reserved;
    let edit_form = {
        let product = product.clone();
        move || {
            product_form(
                store_id,
                Some(product.clone()),
                categories.clone(),
                actions.save,
            )
        }
    };
    let listed_action = actions.listed;
    let restricted_action = actions.restricted;
    let restricted_now = p.restricted.map(|r| r.as_str()).unwrap_or("");
    let adjust = actions.adjust;
    let adjust_value = adjust.value();
    let product_id = p.id;
    view! {
        <li class="admin-product" class:unlisted=!p.listed data-test="admin-product">
            <div class="admin-product-head">
                {p.image_url.clone().map(|src| view! { <img class="thumb" src=src alt="" width="48" height="48" loading="lazy"/> })}
                <div class="grow">
                    <strong data-test="admin-product-name">{p.name.clone()}</strong>
                    <span class="muted">" / " {p.unit.clone()} " · " {p.category.clone()}</span>
                    <p>
                        <span class="price" data-test="admin-product-price">{p.price.to_string()}</span>
                        " · on hand " <span data-test="on-hand">{p.on_hand}</span>
                        " · held " {p.reserved}
                        " · available " {available}
                        {low.then(|| view! { " " <span class="badge low" data-test="low-badge">"Low 库存低"</span> })}
                        {(!p.listed).then(|| view! { " " <span class="badge closed" data-test="unlisted-badge">"Unlisted 已下架"</span> })}
                        {p.restricted.map(|r| view! { " " <span class="badge low" data-test="restricted-badge">{format!("ID check 验证身份 · {}", r.as_str())}</span> })}
                    </p>
                </div>
            </div>
            <div class="row-actions">
                <button type="button" on:click=move |_| toggle("edit") data-test="edit-product">"Edit 编辑"</button>
                <button type="button" on:click=move |_| toggle("adjust") data-test="adjust-stock">"Stock 调整库存"</button>
                <button type="button" on:click=move |_| toggle("history") data-test="show-history">"History 记录"</button>
                <button type="button" on:click=move |_| toggle("image") data-test="edit-image">"Image 图片"</button>
                <ActionForm action=listed_action attr:class="inline">
                    <input type="hidden" name="store_id" value=store_id.to_string()/>
                    <input type="hidden" name="product_id" value=product_id.to_string()/>
                    {(!p.listed).then(|| view! { <input type="hidden" name="listed" value="true"/> })}
                    <button type="submit" data-test="toggle-listed">{if p.listed { "Unlist 下架" } else { "List 上架" }}</button>
                </ActionForm>
                <ActionForm action=restricted_action attr:class="inline">
                    <input type="hidden" name="store_id" value=store_id.to_string()/>
                    <input type="hidden" name="product_id" value=product_id.to_string()/>
                    <select name="restricted" aria-label="Restricted goods" data-test="restricted-kind">
                        <option value="" selected=restricted_now.is_empty()>"No ID check 无需验证"</option>
                        {Restriction::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=restricted_now == r.as_str()>{format!("ID check: {}", r.as_str())}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit" data-test="save-restricted">"Set 设置"</button>
                </ActionForm>
            </div>
            <Show when=move || panel.get() == Some("edit")>{edit_form.clone()}</Show>
            <Show when=move || panel.get() == Some("adjust")>
                <ActionForm action=adjust attr:class="adjust-form" attr:data-test="adjust-form">
                    <input type="hidden" name="store_id" value=store_id.to_string()/>
                    <input type="hidden" name="product_id" value=product_id.to_string()/>
                    <label>"Reason 原因"
                        <select name="kind" data-test="adjust-kind">
                            {AdjustKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Quantity 数量"<input name="quantity" type="number" min="0" max="100000" required data-test="adjust-quantity"/></label>
                    <label>"Note 备注"<input name="note" maxlength="200" data-test="adjust-note"/></label>
                    <p class="muted">"Count 盘点 sets on hand to the number you counted."</p>
                    <p class="form-error" role="alert" data-test="adjust-error">{move || answer_error(adjust_value.get())}</p>
                    <button type="submit" class="primary" disabled=move || adjust.pending().get() data-test="adjust-save">
                        {move || if adjust.pending().get() { "Saving…" } else { "Apply 确认" }}
                    </button>
                </ActionForm>
            </Show>
            <Show when=move || panel.get() == Some("history")>
                <ProductHistoryPanel store_id product_id/>
            </Show>
            <Show when=move || panel.get() == Some("image")>
                <ImageUpload product_id reload/>
            </Show>
        </li>
    }
}

/// Price changes and the stock ledger of one product (read when opened, in the browser).
#[component]
fn ProductHistoryPanel(store_id: Uuid, product_id: Uuid) -> impl IntoView {
    let page = RwSignal::new(1u32);
    let history = LocalResource::new(move || get_product_history(store_id, product_id, page.get()));
    view! {
        <div class="history" data-test="product-history">
            <Suspense fallback=crate::ui::Loading>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(h) => {
                            let pages = h.ledger.pages().max(h.prices.pages());
                            let current = h.ledger.page;
                            view! {
                                <h3>"Price history 价格记录"</h3>
                                {h.prices.items.is_empty().then(|| view! { <p class="muted">"No price changes yet."</p> })}
                                <ul class="plain" data-test="price-history">
                                    {h.prices.items.into_iter().map(|c| view! {
                                        <li data-test="price-change">
                                            {c.old_price.to_string()} " → " <strong>{c.new_price.to_string()}</strong>
                                            <span class="muted">" · " {c.changed_by.unwrap_or_default()} " · " {c.changed_at.format("%Y-%m-%d %H:%M UTC").to_string()}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <h3>"Stock ledger 库存流水"</h3>
                                <div class="table-wrap">
                                    <table class="stock" data-test="stock-ledger">
                                        <thead><tr><th>"When"</th><th>"Reason"</th><th>"Change"</th><th>"On hand"</th><th>"By / note"</th></tr></thead>
                                        <tbody>
                                            {h.ledger.items.into_iter().map(|e| {
                                                let who = [e.actor.clone(), e.order_number.clone(), e.note.clone()]
                                                    .into_iter().flatten().collect::<Vec<_>>().join(" · ");
                                                view! {
                                                    <tr data-test="ledger-entry">
                                                        <td>{e.at.format("%m-%d %H:%M").to_string()}</td>
                                                        <td>{e.reason_label()}</td>
                                                        <td class="num">{format!("{:+}", e.delta)}</td>
                                                        <td class="num">{e.on_hand_after}</td>
                                                        <td>{who}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="History pages">
                                    {(current > 1).then(|| view! { <button type="button" on:click=move |_| page.set(current - 1)>"← Newer"</button> })}
                                    <span>{format!("Page {current} of {pages}")}</span>
                                    {(current < pages).then(|| view! { <button type="button" on:click=move |_| page.set(current + 1)>"Older →"</button> })}
                                </nav>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

/// Sends the chosen file as the raw body of `POST /api/merchant/products/{id}/image`.
#[component]
fn ImageUpload(product_id: Uuid, reload: RwSignal<u32>) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    let upload = move |_| {
        let Some(file) = input
            .get()
            .and_then(|i| i.files())
            .and_then(|files| files.get(0))
        else {
            status.set(Some("Choose an image file first.".into()));
            return;
        };
        busy.set(true);
        status.set(Some("Uploading…".into()));
        leptos::task::spawn_local(async move {
            let answer = send_image(product_id, file).await;
            busy.set(false);
            match answer {
                Ok(()) => {
                    status.set(Some("Image saved.".into()));
                    reload.update(|n| *n += 1);
                }
                Err(message) => status.set(Some(message)),
            }
        });
    };
    view! {
        <div class="image-upload" data-test="image-upload">
            <label>"PNG, JPEG or WebP, at most 2 MiB"
                <input type="file" accept="image/png,image/jpeg,image/webp" node_ref=input data-test="image-file"/>
            </label>
            <button type="button" on:click=upload disabled=move || busy.get() data-test="image-save">
                {move || if busy.get() { "Uploading…" } else { "Upload 上传" }}
            </button>
            <p role="status" data-test="image-status">{move || status.get()}</p>
        </div>
    }
}

async fn send_image(product_id: Uuid, file: web_sys::File) -> Result<(), String> {
    let url = format!("/api/merchant/products/{product_id}/image");
    match crate::ui::post_body(&url, &file).await? {
        200 => Ok(()),
        413 => Err("The image is larger than 2 MiB: make it smaller and upload again.".into()),
        415 => Err("Upload a PNG, JPEG or WebP image.".into()),
        401 => Err("Your session ended: log in again.".into()),
        _ => Err("The image was not saved. Try again.".into()),
    }
}

fn categories_panel(
    store_id: Uuid,
    categories: Vec<AdminCategory>,
    actions: CatalogActions,
) -> impl IntoView + use<> {
    let save = actions.category;
    let value = save.value();
    let moves = actions.move_category;
    let count = categories.len();
    view! {
        <details class="card" data-test="categories">
            <summary>"Categories 分类 (" {count} ")"</summary>
            <ol class="plain">
                {categories.into_iter().enumerate().map(|(i, cat)| view! {
                    <li class="category-row" data-test="category-row">
                        <ActionForm action=save attr:class="inline">
                            <input type="hidden" name="store_id" value=store_id.to_string()/>
                            <input type="hidden" name="category_id" value=cat.id.to_string()/>
                            <input name="name" value=cat.name.clone() maxlength="60" required aria-label="Category name" data-test="category-name"/>
                            <button type="submit" data-test="category-rename">"Rename"</button>
                        </ActionForm>
                        <span class="muted">{format!(" {} products ", cat.products)}</span>
                        <ActionForm action=moves attr:class="inline">
                            <input type="hidden" name="store_id" value=store_id.to_string()/>
                            <input type="hidden" name="category_id" value=cat.id.to_string()/>
                            <input type="hidden" name="up" value="true"/>
                            <button type="submit" disabled=i == 0 aria-label="Move up" data-test="category-up">"↑"</button>
                        </ActionForm>
                        <ActionForm action=moves attr:class="inline">
                            <input type="hidden" name="store_id" value=store_id.to_string()/>
                            <input type="hidden" name="category_id" value=cat.id.to_string()/>
                            <button type="submit" disabled=i + 1 == count aria-label="Move down" data-test="category-down">"↓"</button>
                        </ActionForm>
                    </li>
                }).collect_view()}
            </ol>
            <ActionForm action=save attr:class="inline" attr:data-test="category-form">
                <input type="hidden" name="store_id" value=store_id.to_string()/>
                <input name="name" maxlength="60" required placeholder="New category 新分类" aria-label="New category" data-test="new-category-name"/>
                <button type="submit" data-test="category-add">"Add"</button>
            </ActionForm>
            <p class="form-error" role="alert" data-test="category-error">{move || answer_error(value.get())}</p>
        </details>
    }
}

/// Reads a CSV file in the browser, previews it (dry run), then applies it.
#[component]
fn CsvImport(store_id: Uuid, reload: RwSignal<u32>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<ImportReport, AppError>>);
    let input = NodeRef::<leptos::html::Input>::new();
    let run = Action::new_unsync(move |apply: &bool| {
        let apply = *apply;
        let csv = text.get_untracked();
        async move {
            let answer = import_catalog(store_id, csv, apply).await;
            if apply && answer.is_ok() {
                reload.update(|n| *n += 1);
            }
            report.set(Some(answer));
        }
    });
    let read_file = move |_| {
        let Some(file) = input
            .get()
            .and_then(|i| i.files())
            .and_then(|files| files.get(0))
        else {
            return;
        };
        report.set(None);
        leptos::task::spawn_local(async move {
            let read = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            match read.ok().and_then(|v| v.as_string()) {
                Some(s) => {
                    text.set(s);
                    run.dispatch(false);
                }
                None => report.set(Some(Err(AppError::validation(
                    "csv",
                    "Could not read that file: save it as CSV (UTF-8) and choose it again.",
                )))),
            }
        });
    };
    let pending = run.pending();
    view! {
        <details class="card" data-test="csv-import">
            <summary>"Import CSV 批量导入"</summary>
            <p class="muted">"Columns: product_id, category, name, unit, price, listed, low_stock_threshold, on_hand, restricted. "
                "Rows with a product_id update that product; others match by category and name, or create it. "
                "on_hand sets the counted stock; restricted is medicine, alcohol, tobacco (an ID check at the door) or none. "
                "An empty listed, low_stock_threshold, on_hand or restricted cell keeps what the product has. Export first to get a file to edit."</p>
            <label>"CSV file"<input type="file" accept=".csv,text/csv" node_ref=input on:change=read_file data-test="csv-file"/></label>
            <label>"…or paste it here"
                <textarea rows="5" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) data-test="csv-text"></textarea>
            </label>
            <p>
                <button type="button" on:click=move |_| { run.dispatch(false); } disabled=move || pending.get() data-test="csv-preview">"Preview 预览"</button>
                " "
                <button type="button" class="primary" on:click=move |_| { run.dispatch(true); }
                    disabled=move || pending.get() || !matches!(report.get(), Some(Ok(ref r)) if !r.applied)
                    data-test="csv-apply">"Apply 导入"</button>
            </p>
            <p role="status" aria-busy=move || pending.get().to_string() data-test="csv-busy">
                {move || pending.get().then_some("Working… large files take a few seconds.")}
            </p>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert" data-test="csv-error">{e.to_string()}</p> }.into_any(),
                Ok(r) => import_report(r).into_any(),
            })}
        </details>
    }
}

fn import_report(r: ImportReport) -> impl IntoView {
    let title = if r.applied {
        "Imported 已导入"
    } else {
        "Preview — nothing changed yet 预览"
    };
    view! {
        <div data-test="csv-report">
            <h3>{title}</h3>
            <p data-test="csv-summary">{format!("{} new · {} updated · {} unchanged · {} with errors", r.created, r.updated, r.unchanged, r.failed)}</p>
            {(r.failed > 0).then(|| view! { <p class="muted">"Rows with errors are skipped; fix them in the file and import it again (rows already imported stay unchanged)."</p> })}
            <div class="table-wrap">
                <table class="stock">
                    <thead><tr><th>"Line"</th><th>"Product"</th><th>"Result"</th><th>"What to fix"</th></tr></thead>
                    <tbody>
                        {r.rows.into_iter().filter(|row| row.outcome != "unchanged").take(200).map(|row| {
                            let test = if row.outcome == "error" { "csv-row-error" } else { "csv-row" };
                            view! {
                            <tr data-test=test>
                                <td class="num">{row.line}</td><td>{row.product}</td><td>{row.outcome}</td><td>{row.message}</td>
                            </tr>
                        }}).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}

// ----- settings -----

#[derive(Clone, Copy)]
struct SettingsActions {
    save: ServerAction<SaveStoreSettings>,
    busy: ServerAction<SetAcceptingOrders>,
    exception: ServerAction<SaveHourException>,
    delete_exception: ServerAction<DeleteHourException>,
}

/// `/merchant/stores/:id/settings`: the busy switch, ordering settings, weekly hours and
/// holiday exceptions. Staff see them; only the owner changes them (staff may pause).
#[component]
pub fn StoreSettingsPage() -> impl IntoView {
    let store_id = uuid_param("id");
    let page = page_param();
    let reload = RwSignal::new(0u32);
    let actions = SettingsActions {
        save: ServerAction::new(),
        busy: ServerAction::new(),
        exception: ServerAction::new(),
        delete_exception: ServerAction::new(),
    };
    reload_on_success(actions.save, reload);
    reload_on_success(actions.busy, reload);
    reload_on_success(actions.exception, reload);
    reload_on_success(actions.delete_exception, reload);
    let settings = Resource::new(
        move || (store_id(), page(), reload.get()),
        |(id, page, _)| async move {
            match id {
                Some(id) => get_store_settings(id, page).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! { {when_loaded(settings, move |s| settings_view(s, actions))} }
}

fn settings_view(s: StoreSettings, actions: SettingsActions) -> impl IntoView + use<> {
    let store_id = s.store_id;
    let owner = s.is_owner;
    let save_value = actions.save.value();
    let exception_value = actions.exception.value();
    let busy_value = actions.busy.value();
    let yuan = |m: crate::money::Money| format!("{}.{:02}", m.fen() / 100, m.fen() % 100);
    let pager_base = format!("/merchant/stores/{store_id}/settings");
    view! {
        <section data-test="store-settings">
            {store_nav(store_id, "nav-settings")}
            <h1>{s.store_name.clone()} " · Settings 门店设置"</h1>
            <div class="card" data-test="busy-switch">
                <p>
                    {if s.accepting_orders {
                        view! { <span class="badge open" data-test="accepting">"Taking orders 接单中"</span> }.into_any()
                    } else {
                        view! { <span class="badge closed" data-test="paused">"Paused 暂停接单"</span> }.into_any()
                    }}
                    " "
                    {if s.open_now { "Open now by the hours below." } else { "Closed now by the hours below." }}
                </p>
                <ActionForm action=actions.busy attr:class="inline">
                    <input type="hidden" name="store_id" value=store_id.to_string()/>
                    {(!s.accepting_orders).then(|| view! { <input type="hidden" name="accepting" value="true"/> })}
                    <button type="submit" class=if s.accepting_orders { "danger" } else { "primary" } data-test="toggle-accepting">
                        {if s.accepting_orders { "Pause orders (busy) 暂停接单" } else { "Resume orders 恢复接单" }}
                    </button>
                </ActionForm>
                <p class="form-error" role="alert">{move || answer_error(busy_value.get())}</p>
            </div>
            {(!owner).then(|| view! { <p class="notice" data-test="owner-only">"Only the store owner can change these settings."</p> })}
            <ActionForm action=actions.save attr:class="card settings-form" attr:data-test="settings-form">
                <fieldset disabled=!owner>
                    <input type="hidden" name="store_id" value=store_id.to_string()/>
                    <label>"Preparation time (min) 备货时间"<input name="prep_time_min" type="number" min="0" max="240" value=s.prep_time_min data-test="prep-time"/></label>
                    <label>"Delivery radius (m) 配送范围"<input name="delivery_radius_m" type="number" min="100" max="50000" value=s.delivery_radius_m data-test="radius"/></label>
                    <label>"Minimum order ¥ 起送价"<input name="min_order" inputmode="decimal" value=yuan(s.min_order) data-test="min-order"/></label>
                    <label>"Packaging fee ¥ 包装费"<input name="packaging_fee" inputmode="decimal" value=yuan(s.packaging_fee) data-test="packaging-fee"/></label>
                    <label class="check"><input type="checkbox" name="pickup_enabled" value="true" checked=s.pickup_enabled data-test="pickup"/>" Store pickup 到店自取"</label>
                    <label>"Accept orders within (min) 接单时限"<input name="accept_timeout_min" type="number" min="1" max="60" value=s.accept_timeout_min data-test="accept-timeout"/></label>
                    <label>"A missing item without the customer's answer 缺货未回复时"
                        <select name="missing_default" data-test="missing-default">
                            <option value="refund" selected=s.missing_default == "refund">"Refund it 退款"</option>
                            <option value="substitute" selected=s.missing_default == "substitute">"Send the substitute 发送替代品"</option>
                        </select>
                    </label>
                    <h2>"Opening hours 营业时间"</h2>
                    <p class="muted">"Per day: 09:00-21:00, or two ranges 10:30-14:00, 16:30-21:30; empty = closed."</p>
                    {s.week.iter().enumerate().map(|(i, ranges)| view! {
                        <label>{WEEKDAYS[i]}
                            <input name=format!("hours_{}", i + 1) value=format_day_hours(ranges) placeholder="closed 休息" data-test=format!("hours-{}", i + 1)/>
                        </label>
                    }).collect_view()}
                    <p class="form-error" role="alert" data-test="settings-error">{move || answer_error(save_value.get())}</p>
                    <p class="muted" role="status">{move || matches!(save_value.get(), Some(Ok(()))).then_some("Saved.")}</p>
                    <button type="submit" class="primary" data-test="settings-save">"Save settings 保存"</button>
                </fieldset>
            </ActionForm>
            <div class="card" data-test="exceptions">
                <h2>"Holidays and special days 节假日"</h2>
                <ul class="plain">
                    {s.exceptions.items.clone().into_iter().map(|e| {
                        let day = e.day.to_string();
                        let hours = match e.hours {
                            None => "Closed all day 全天休息".to_string(),
                            Some(r) => format!("Open {}-{} only", r.opens(), r.closes()),
                        };
                        view! {
                            <li data-test="exception">
                                <strong>{day.clone()}</strong> " · " {hours} " " <span class="muted">{e.note.clone()}</span>
                                {owner.then(|| view! {
                                    <ActionForm action=actions.delete_exception attr:class="inline">
                                        <input type="hidden" name="store_id" value=store_id.to_string()/>
                                        <input type="hidden" name="day" value=day.clone()/>
                                        <button type="submit" data-test="exception-delete">"Remove"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <Pager page=s.exceptions.clone() base=pager_base/>
                {owner.then(|| view! {
                    <ActionForm action=actions.exception attr:class="exception-form" attr:data-test="exception-form">
                        <input type="hidden" name="store_id" value=store_id.to_string()/>
                        <label>"Date 日期"<input name="day" type="date" required data-test="exception-day"/></label>
                        <label>"Hours (empty = closed all day)"<input name="hours" placeholder="10:00-14:00" data-test="exception-hours"/></label>
                        <label>"Note 备注"<input name="note" maxlength="60" placeholder="国庆节" data-test="exception-note"/></label>
                        <p class="form-error" role="alert" data-test="exception-error">{move || answer_error(exception_value.get())}</p>
                        <button type="submit" data-test="exception-save">"Add 添加"</button>
                    </ActionForm>
                })}
            </div>
        </section>
    }
}
