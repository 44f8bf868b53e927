-- a re-plan that moves an order's planned arrival by a minute or more tells the order's live
-- feed (payload "order_id:0:": no timeline row), so the customer's page shows the new eta.
create function notify_order_eta() returns trigger language plpgsql as $$
begin
    if new.planned_dropoff_at is not null
       and (old.planned_dropoff_at is null
            or abs(extract(epoch from new.planned_dropoff_at - old.planned_dropoff_at)) >= 60) then
        perform pg_notify('songda_order_events', new.id::text || ':0:');
    end if;
    return new;
end $$;
create trigger orders_eta_notify after update of planned_dropoff_at on orders
    for each row execute function notify_order_eta();
