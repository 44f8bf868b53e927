-- catalog per store and the stock levels that checkout reserves against.
create table categories (
    id uuid primary key,
    store_id uuid not null references stores (id) on delete cascade,
    name text not null,
    position integer not null default 0,
    unique (store_id, name)
);

create table products (
    id uuid primary key,
    store_id uuid not null references stores (id) on delete cascade,
    category_id uuid not null references categories (id),
    name text not null,
    unit text not null,
    price_fen bigint not null check (price_fen > 0),
    listed boolean not null default true,
    created_at timestamptz not null default now()
);
create index products_store_id on products (store_id, category_id);

create table stock_levels (
    store_id uuid not null references stores (id) on delete cascade,
    product_id uuid not null references products (id) on delete cascade,
    on_hand integer not null check (on_hand >= 0),
    reserved integer not null default 0 check (reserved >= 0 and reserved <= on_hand),
    primary key (store_id, product_id)
);
