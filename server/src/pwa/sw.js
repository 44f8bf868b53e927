// Songda's service worker. The courier app must open and keep working on a bad network:
// pages and static files are fetched from the network first (so a deploy is picked up at
// once and the HTML always matches its wasm), kept in a cache named after the deploy, and
// served from that cache when the network is gone; other pages then get the offline page.
// Server functions and live feeds are never cached.
const VERSION = "__VERSION__";
const CACHE = "songda-" + VERSION;
const OFFLINE = "/offline.html";
const SHELL = [
  OFFLINE,
  "/courier",
  "/pkg/songda.js",
  "/pkg/songda.wasm",
  "/pkg/songda.css",
  "/leaflet/leaflet.js",
  "/leaflet/leaflet.css",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/favicon.svg",
];

// Static files and the courier app; other pages (a customer's orders, a store's board) are
// personal and are not left on the device.
function keep(path) {
  return SHELL.includes(path) || /^\/(pkg|leaflet|icons)\//.test(path);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // One missing file (e.g. /courier for a visitor who is not logged in) must not stop
      // the rest from being cached.
      .then((cache) => Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  // Caches of earlier deploys go: their files no longer match the server's pages.
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("songda-") && n !== CACHE).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && response.type === "basic" && keep(url.pathname)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches
          .match(request, { ignoreSearch: request.mode === "navigate" })
          .then((hit) => hit || (request.mode === "navigate" ? caches.match(OFFLINE) : Response.error())),
      ),
  );
});
