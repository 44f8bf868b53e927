-- small facts about this installation, e.g. when the demo city was seeded.
create table app_meta (
    key text primary key,
    value text not null,
    updated_at timestamptz not null default now()
);
