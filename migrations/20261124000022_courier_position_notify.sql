-- A courier's new position wakes the live maps on every server instance (customers following
-- an order on its way, stores, operations). Payload: "courier_id:lat:lng".
create function notify_courier_position() returns trigger language plpgsql as $$
begin
    perform pg_notify('songda_courier_positions',
                      new.user_id::text || ':' || new.lat::text || ':' || new.lng::text);
    return null;
end $$;

create trigger couriers_position_notify
    after update of lat, lng on couriers
    for each row
    when (old.lat is distinct from new.lat or old.lng is distinct from new.lng)
    execute function notify_courier_position();
