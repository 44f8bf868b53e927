-- couriers: one row per courier account.
create table couriers (
    user_id uuid primary key references users (id) on delete cascade,
    vehicle text not null check (vehicle in ('bicycle', 'ebike', 'scooter')),
    capacity integer not null check (capacity > 0),
    speed_kmh integer not null check (speed_kmh > 0),
    status text not null default 'offline' check (status in ('offline', 'online', 'busy')),
    home_lat double precision not null,
    home_lng double precision not null
);
