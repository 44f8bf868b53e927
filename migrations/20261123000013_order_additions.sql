-- goods added to a paid order before the store accepts it: held, paid separately (a top-up
-- payment), then merged into the order; dropped (stock released) if not paid in time.
create table order_additions (
    id uuid primary key,
    order_id uuid not null references orders (id) on delete cascade,
    product_id uuid not null references products (id),
    name text not null,
    unit text not null,
    unit_price_fen bigint not null check (unit_price_fen > 0),
    quantity integer not null check (quantity > 0),
    -- what the discount grows by when the added goods cross the spend-and-save threshold
    discount_delta_fen bigint not null default 0 check (discount_delta_fen >= 0),
    amount_fen bigint not null check (amount_fen > 0),
    status text not null default 'awaiting_payment' check (status in ('awaiting_payment', 'paid', 'dropped')),
    expires_at timestamptz not null,
    created_at timestamptz not null default now()
);
create unique index order_additions_one_open on order_additions (order_id) where status = 'awaiting_payment';
create index order_additions_due on order_additions (expires_at) where status = 'awaiting_payment';

alter table payments add column addition_id uuid references order_additions (id);
