-- Starting or ending a shift (or taking a task) changes what operations' live map shows even
-- when the courier has not moved: the position ping now also fires on a status change and
-- carries the status. Payload: "courier_id:lat:lng:status" (lat/lng empty when unknown).
create or replace function notify_courier_position() returns trigger language plpgsql as $$
begin
    perform pg_notify('songda_courier_positions',
                      new.user_id::text || ':' || coalesce(new.lat::text, '') || ':'
                      || coalesce(new.lng::text, '') || ':' || new.status);
    return null;
end $$;

drop trigger couriers_position_notify on couriers;

create trigger couriers_position_notify
    after update of lat, lng, status on couriers
    for each row
    when (old.lat is distinct from new.lat or old.lng is distinct from new.lng
          or old.status is distinct from new.status)
    execute function notify_courier_position();
