-- service zones and the conditions operations set on them (rain, storm, heavy traffic):
-- quotes add the surcharge, ETAs and dispatch multiply travel times.
create table zones (
    id uuid primary key,
    name text not null unique,
    -- the area as a closed ring of [lat, lng] pairs (first point not repeated)
    polygon jsonb not null check (jsonb_typeof(polygon) = 'array' and jsonb_array_length(polygon) >= 3),
    created_at timestamptz not null default now()
);

create table zone_conditions (
    id uuid primary key,
    zone_id uuid not null references zones (id) on delete cascade,
    kind text not null check (kind in ('rain', 'storm', 'heavy_traffic')),
    travel_multiplier double precision not null check (travel_multiplier between 1 and 5),
    surcharge_fen bigint not null check (surcharge_fen between 0 and 10000),
    starts_at timestamptz not null default now(),
    ends_at timestamptz,
    created_by uuid references users (id) on delete set null,
    check (ends_at is null or ends_at > starts_at)
);
create index zone_conditions_zone_id on zone_conditions (zone_id, starts_at);
