-- server-side carts: one per customer and store, kept across reloads and devices.
create table carts (
    id uuid primary key,
    customer_id uuid not null references users (id) on delete cascade,
    store_id uuid not null references stores (id) on delete cascade,
    updated_at timestamptz not null default now(),
    unique (customer_id, store_id)
);

create table cart_items (
    cart_id uuid not null references carts (id) on delete cascade,
    product_id uuid not null references products (id) on delete cascade,
    quantity integer not null check (quantity between 1 and 99),
    added_at timestamptz not null default now(),
    primary key (cart_id, product_id)
);
