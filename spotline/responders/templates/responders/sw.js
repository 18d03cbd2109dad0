{% load static %}/* Spotline responder service worker: an offline shell, never stale data.
 * Pages and API calls always go to the network; only when it is unreachable does the
 * responder see the cached shell telling them so. Nothing personal is cached. */
const CACHE = "spotline-shell-v1";
const SHELL = ["/responder/offline/", "{% static 'spotline/app.css' %}", "{% static 'spotline/icon.svg' %}"];
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET") return;
  if (req.mode === "navigate") {
    e.respondWith(fetch(req).catch(() => caches.match("/responder/offline/")));
  } else if (SHELL.includes(new URL(req.url).pathname)) {
    e.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
  }
});
