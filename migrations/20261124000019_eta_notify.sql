-- a re-plan that changes what people see of an order without a timeline row tells its live
-- feeds (payload "order_id:0:store_id"; event id 0 = no timeline row):
--  * the planned arrival at the customer moved by a minute or more: the order page;
--  * the courier or their planned arrival at the store (a minute or more) changed: the order
--    page and the store's board too.
create function notify_order_plan() returns trigger language plpgsql as $$
declare
    moved_dropoff boolean := new.planned_dropoff_at is not null
        and (old.planned_dropoff_at is null
             or abs(extract(epoch from new.planned_dropoff_at - old.planned_dropoff_at)) >= 60);
    moved_pickup boolean := new.courier_id is distinct from old.courier_id
        or (new.planned_pickup_at is not null
            and (old.planned_pickup_at is null
                 or abs(extract(epoch from new.planned_pickup_at - old.planned_pickup_at)) >= 60));
begin
    if moved_pickup then
        perform pg_notify('songda_order_events', new.id::text || ':0:' || new.store_id::text);
    elsif moved_dropoff then
        perform pg_notify('songda_order_events', new.id::text || ':0:');
    end if;
    return new;
end $$;
create trigger orders_plan_notify after update of planned_dropoff_at, planned_pickup_at, courier_id
    on orders for each row execute function notify_order_plan();
