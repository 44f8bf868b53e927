-- an item found missing while picking: the store offers a substitute or refunds it; the
-- customer answers on the order page, or the store's default applies when time runs out.
alter table stores
    add column missing_default text not null default 'refund' check (missing_default in ('refund', 'substitute'));

create table order_exceptions (
    id uuid primary key,
    order_id uuid not null references orders (id) on delete cascade,
    product_id uuid not null references products (id),
    missing_qty integer not null check (missing_qty > 0),
    substitute_product_id uuid references products (id),
    status text not null default 'open' check (status in ('open', 'substituted', 'refunded')),
    resolved_by text check (resolved_by in ('customer', 'timeout', 'store')),
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    resolved_at timestamptz,
    check (substitute_product_id is distinct from product_id)
);
create unique index order_exceptions_one_open on order_exceptions (order_id, product_id) where status = 'open';
create index order_exceptions_due on order_exceptions (expires_at) where status = 'open';
