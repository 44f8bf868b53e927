//! The device side of the courier outbox (see `sync`): an action is written to the
//! browser's storage before it is sent, sent in order, and forgotten only once the server
//! has answered for it. Without network the courier keeps working and sees what waits.

use leptos::prelude::*;
use uuid::Uuid;

use super::api::courier_sync;
use super::sync::{CourierAction, MAX_BATCH, Outcome, QueuedAction};

/// Positions kept while offline at most (the oldest go first; actions are never dropped).
const MAX_POSITIONS: usize = 360;

#[derive(Clone, Copy)]
pub struct Outbox {
    /// Whose queue this is (each courier on a shared phone has their own).
    user: RwSignal<Option<Uuid>>,
    pub pending: RwSignal<Vec<QueuedAction>>,
    /// Why the server refused actions, newest last.
    pub refused: RwSignal<Vec<String>>,
    /// Bumped whenever the server applied something: pages re-read their data.
    pub applied: RwSignal<u64>,
    sending: RwSignal<bool>,
    /// The last send failed for want of network.
    pub offline: RwSignal<bool>,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox {
            user: RwSignal::new(None),
            pending: RwSignal::new(Vec::new()),
            refused: RwSignal::new(Vec::new()),
            applied: RwSignal::new(0),
            sending: RwSignal::new(false),
            offline: RwSignal::new(false),
        }
    }

    /// Loads the courier's queue from the device and sends what waits.
    pub fn open_for(self, user: Uuid) {
        if self.user.get_untracked() == Some(user) {
            return;
        }
        self.user.set(Some(user));
        self.pending.set(storage::load(user));
        self.flush();
    }

    /// Records an action (with a new key and the time now) and sends it when it can.
    pub fn push(self, action: CourierAction) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        let queued = QueuedAction {
            key: storage::new_key(),
            at_ms: storage::now_ms(),
            action,
        };
        self.pending.update(|list| {
            list.push(queued);
            let positions = list
                .iter()
                .filter(|a| matches!(a.action, CourierAction::Position { .. }))
                .count();
            if positions > MAX_POSITIONS
                && let Some(oldest) = list
                    .iter()
                    .position(|a| matches!(a.action, CourierAction::Position { .. }))
            {
                list.remove(oldest);
            }
        });
        storage::save(user, &self.pending.get_untracked());
        self.flush();
    }

    /// The action waiting for an order, if any (its stop shows "waiting to send").
    pub fn waiting_for(self, order_id: Uuid) -> Option<&'static str> {
        self.pending.with(|list| {
            list.iter()
                .rev()
                .find(|a| a.action.order_id() == Some(order_id))
                .map(|a| a.action.label())
        })
    }

    /// Actions other than positions still on the device.
    pub fn waiting_actions(self) -> usize {
        self.pending.with(|list| {
            list.iter()
                .filter(|a| !matches!(a.action, CourierAction::Position { .. }))
                .count()
        })
    }

    /// Sends what waits, in order, one batch at a time; stops at the first network failure
    /// (the next tick or the browser's `online` event tries again).
    pub fn flush(self) {
        if self.sending.get_untracked() || self.pending.with_untracked(Vec::is_empty) {
            return;
        }
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        self.sending.set(true);
        leptos::task::spawn_local(async move {
            loop {
                let batch: Vec<QueuedAction> = self
                    .pending
                    .with_untracked(|list| list.iter().take(MAX_BATCH).cloned().collect());
                if batch.is_empty() {
                    break;
                }
                match courier_sync(batch).await {
                    Ok(results) => {
                        self.offline.set(false);
                        if results.is_empty() {
                            break;
                        }
                        let mut refused = Vec::new();
                        self.pending.update(|list| {
                            for r in &results {
                                if let Some(i) = list.iter().position(|a| a.key == r.key) {
                                    let a = list.remove(i);
                                    if let Outcome::Refused(why) = &r.outcome {
                                        refused.push(format!("{}: {why}", a.action.label()));
                                    }
                                }
                            }
                        });
                        storage::save(user, &self.pending.get_untracked());
                        if !refused.is_empty() {
                            self.refused.update(|r| {
                                r.extend(refused);
                                let excess = r.len().saturating_sub(5);
                                r.drain(..excess);
                            });
                        }
                        self.applied.update(|n| *n += 1);
                    }
                    Err(crate::error::AppError::Request { .. }) => {
                        self.offline.set(true);
                        break;
                    }
                    Err(e) => {
                        // The server is up but would not take the batch now (too many tries,
                        // a fault on our side): keep it and try later.
                        self.refused.update(|r| r.push(e.to_string()));
                        break;
                    }
                }
            }
            self.sending.set(false);
        });
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new()
    }
}

#[cfg(feature = "hydrate")]
mod storage {
    use uuid::Uuid;

    use crate::dispatch::sync::QueuedAction;

    fn key(user: Uuid) -> String {
        format!("songda.courier.outbox.{user}")
    }

    fn local() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|w| w.local_storage().ok().flatten())
    }

    pub fn load(user: Uuid) -> Vec<QueuedAction> {
        local()
            .and_then(|s| s.get_item(&key(user)).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    pub fn save(user: Uuid, list: &[QueuedAction]) {
        if let (Some(s), Ok(text)) = (local(), serde_json::to_string(list)) {
            let _ = s.set_item(&key(user), &text);
        }
    }

    /// A random (version 4) key from the browser's cryptographic generator.
    pub fn new_key() -> Uuid {
        let mut bytes = [0u8; 16];
        if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
            let _ = c.get_random_values_with_u8_array(&mut bytes);
        }
        if bytes == [0u8; 16] {
            // No generator (very old browser): time and Math.random still make keys unique
            // on one device.
            let t = js_sys::Date::now().to_bits().to_le_bytes();
            let r = js_sys::Math::random().to_bits().to_le_bytes();
            bytes[..8].copy_from_slice(&t);
            bytes[8..].copy_from_slice(&r);
        }
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub fn now_ms() -> i64 {
        js_sys::Date::now() as i64
    }
}

/// The server renders the page without a device: nothing is stored or sent from there.
#[cfg(not(feature = "hydrate"))]
mod storage {
    use uuid::Uuid;

    use crate::dispatch::sync::QueuedAction;

    pub fn load(_: Uuid) -> Vec<QueuedAction> {
        Vec::new()
    }
    pub fn save(_: Uuid, _: &[QueuedAction]) {}
    pub fn new_key() -> Uuid {
        Uuid::nil()
    }
    pub fn now_ms() -> i64 {
        0
    }
}
