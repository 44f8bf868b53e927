//! The device side of the courier outbox (see `sync`): an action is written to the
//! browser's storage before it is sent, sent in order, and forgotten only once the server
//! has answered for it. Without network the courier keeps working and sees what waits.
//! Door photos wait the same way (after the actions, which they may depend on).

use leptos::prelude::*;
use uuid::Uuid;

use super::api::courier_sync;
use super::photo::{Upload, upload};
use super::sync::{CourierAction, MAX_BATCH, Outcome, QueuedAction};

/// Positions kept while offline at most (the oldest go first; actions are never dropped).
const MAX_POSITIONS: usize = 360;

/// A door photo waiting on the phone: a JPEG, base64 (how browser storage keeps it).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KeptPhoto {
    pub order_id: Uuid,
    pub jpeg: String,
}

#[derive(Clone, Copy)]
pub struct Outbox {
    /// Whose queue this is (each courier on a shared phone has their own).
    user: RwSignal<Option<Uuid>>,
    pub pending: RwSignal<Vec<QueuedAction>>,
    /// Door photos not sent yet.
    photos: RwSignal<Vec<KeptPhoto>>,
    /// Orders whose photo the server took since the page opened.
    photos_sent: RwSignal<Vec<Uuid>>,
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
            photos: RwSignal::new(Vec::new()),
            photos_sent: RwSignal::new(Vec::new()),
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
        self.photos.set(storage::load_photos(user));
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

    /// Keeps a door photo (a retake replaces the one waiting for that order) and sends it
    /// when it can. Errs when the phone has no room to keep it: it is still sent while the
    /// page stays open.
    pub fn push_photo(self, order_id: Uuid, jpeg: String) -> Result<(), String> {
        let Some(user) = self.user.get_untracked() else {
            return Err("Your session ended: log in again.".into());
        };
        self.photos.update(|list| {
            list.retain(|p| p.order_id != order_id);
            list.push(KeptPhoto { order_id, jpeg });
        });
        self.photos_sent
            .update(|sent| sent.retain(|&o| o != order_id));
        let kept = storage::save_photos(user, &self.photos.get_untracked());
        self.flush();
        if kept {
            Ok(())
        } else {
            Err(
                "No room on this phone to keep the photo: keep this page open until it is sent."
                    .into(),
            )
        }
    }

    /// Whether a photo for the order waits on the phone.
    pub fn photo_waiting(self, order_id: Uuid) -> bool {
        self.photos
            .with(|list| list.iter().any(|p| p.order_id == order_id))
    }

    /// Whether the server took the order's photo since the page opened.
    pub fn photo_sent(self, order_id: Uuid) -> bool {
        self.photos_sent.with(|sent| sent.contains(&order_id))
    }

    /// Door photos still on the device.
    pub fn waiting_photos(self) -> usize {
        self.photos.with(Vec::len)
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
        if self.sending.get_untracked()
            || (self.pending.with_untracked(Vec::is_empty)
                && self.photos.with_untracked(Vec::is_empty))
        {
            return;
        }
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        self.sending.set(true);
        leptos::task::spawn_local(async move {
            if self.send_actions(user).await {
                self.send_photos(user).await;
            }
            self.sending.set(false);
        });
    }

    /// Sends the queued actions; true when none is left.
    async fn send_actions(self, user: Uuid) -> bool {
        loop {
            let batch: Vec<QueuedAction> = self
                .pending
                .with_untracked(|list| list.iter().take(MAX_BATCH).cloned().collect());
            if batch.is_empty() {
                return true;
            }
            match courier_sync(batch).await {
                Ok(results) => {
                    self.offline.set(false);
                    if results.is_empty() {
                        return false;
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
                    for why in refused {
                        self.refuse(why);
                    }
                    self.applied.update(|n| *n += 1);
                }
                Err(crate::error::AppError::Request { .. }) => {
                    self.offline.set(true);
                    return false;
                }
                Err(e) => {
                    // The server is up but would not take the batch now (too many tries,
                    // a fault on our side): keep it and try later.
                    self.refuse(e.to_string());
                    return false;
                }
            }
        }
    }

    /// Sends the kept photos one at a time; stops at the first that has to wait.
    async fn send_photos(self, user: Uuid) {
        while let Some(photo) = self.photos.with_untracked(|list| list.first().cloned()) {
            let answer = upload(photo.order_id, &photo.jpeg).await;
            let why = match answer {
                Upload::Saved => None,
                Upload::Refused(why) => Some(why),
                Upload::NoNetwork => {
                    self.offline.set(true);
                    return;
                }
                Upload::TryLater => return,
                Upload::LoggedOut => {
                    self.refuse("Door photo: log in again to send it.".into());
                    return;
                }
            };
            self.offline.set(false);
            // A retake while this one was on its way stays queued.
            self.photos.update(|list| list.retain(|p| p != &photo));
            storage::save_photos(user, &self.photos.get_untracked());
            match why {
                None => self.photos_sent.update(|sent| sent.push(photo.order_id)),
                Some(why) => self.refuse(format!("Door photo: {why}")),
            }
        }
    }

    /// Shows why something was refused (the last five reasons, each once: a retry every few
    /// seconds that fails the same way does not push the others out).
    fn refuse(self, why: String) {
        self.refused.update(|r| {
            if r.contains(&why) {
                return;
            }
            r.push(why);
            let excess = r.len().saturating_sub(5);
            r.drain(..excess);
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

    use super::KeptPhoto;
    use crate::dispatch::sync::QueuedAction;

    fn key(user: Uuid) -> String {
        format!("songda.courier.outbox.{user}")
    }

    fn photos_key(user: Uuid) -> String {
        format!("songda.courier.photos.{user}")
    }

    fn local() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|w| w.local_storage().ok().flatten())
    }

    /// The list stored under `key` (empty when there is none or it cannot be read).
    fn load_list<T: serde::de::DeserializeOwned>(key: &str) -> Vec<T> {
        local()
            .and_then(|s| s.get_item(key).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Whether `list` was stored under `key` (browser storage holds a few MiB).
    fn save_list<T: serde::Serialize>(key: &str, list: &[T]) -> bool {
        match (local(), serde_json::to_string(list)) {
            (Some(s), Ok(text)) => s.set_item(key, &text).is_ok(),
            _ => false,
        }
    }

    pub fn load(user: Uuid) -> Vec<QueuedAction> {
        load_list(&key(user))
    }

    pub fn save(user: Uuid, list: &[QueuedAction]) {
        save_list(&key(user), list);
    }

    pub fn load_photos(user: Uuid) -> Vec<KeptPhoto> {
        load_list(&photos_key(user))
    }

    /// Whether the photos were stored; an empty list frees the space.
    pub fn save_photos(user: Uuid, list: &[KeptPhoto]) -> bool {
        if list.is_empty() {
            return local().is_some_and(|s| s.remove_item(&photos_key(user)).is_ok());
        }
        save_list(&photos_key(user), list)
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

    use super::KeptPhoto;
    use crate::dispatch::sync::QueuedAction;

    pub fn load(_: Uuid) -> Vec<QueuedAction> {
        Vec::new()
    }
    pub fn save(_: Uuid, _: &[QueuedAction]) {}
    pub fn load_photos(_: Uuid) -> Vec<KeptPhoto> {
        Vec::new()
    }
    pub fn save_photos(_: Uuid, _: &[KeptPhoto]) -> bool {
        false
    }
    pub fn new_key() -> Uuid {
        Uuid::nil()
    }
    pub fn now_ms() -> i64 {
        0
    }
}
