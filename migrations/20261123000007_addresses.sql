-- customers' saved delivery addresses.
create table addresses (
    id uuid primary key,
    customer_id uuid not null references users (id) on delete cascade,
    label text not null,
    contact_name text not null,
    phone text not null,
    detail text not null,
    lat double precision not null check (lat between -90 and 90),
    lng double precision not null check (lng between -180 and 180),
    created_at timestamptz not null default now()
);
create index addresses_customer_id on addresses (customer_id, created_at);
