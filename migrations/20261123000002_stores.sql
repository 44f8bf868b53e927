-- stores, their staff and opening hours.
create table stores (
    id uuid primary key,
    slug text not null unique,
    name text not null,
    kind text not null check (kind in ('grocery', 'fresh', 'pharmacy', 'flowers', 'bakery', 'restaurant')),
    address text not null,
    lat double precision not null check (lat between -90 and 90),
    lng double precision not null check (lng between -180 and 180),
    delivery_radius_m integer not null check (delivery_radius_m > 0),
    prep_time_min integer not null check (prep_time_min >= 0),
    min_order_fen bigint not null default 0 check (min_order_fen >= 0),
    packaging_fee_fen bigint not null default 0 check (packaging_fee_fen >= 0),
    time_zone text not null default 'Asia/Shanghai',
    rating_x10 smallint not null default 0 check (rating_x10 between 0 and 50),
    accepting_orders boolean not null default true,
    created_at timestamptz not null default now()
);

create table store_members (
    store_id uuid not null references stores (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'staff')),
    primary key (store_id, user_id)
);
create index store_members_user_id on store_members (user_id);

-- weekday: 1 = monday … 7 = sunday (iso). closes may be 24:00.
create table store_hours (
    store_id uuid not null references stores (id) on delete cascade,
    weekday smallint not null check (weekday between 1 and 7),
    opens time not null,
    closes time not null check (closes > opens),
    primary key (store_id, weekday, opens)
);
