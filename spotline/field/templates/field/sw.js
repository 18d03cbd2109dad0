{% load i18n static %}/* Spotline responder service worker: an offline shell, never stale data.
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
/* Web Push: an offer reaches the responder with the app closed. The payload is
 * {title, body, url, tag}; the same tag replaces, and re-alerts, the notification. */
self.addEventListener("push", (e) => {
  let msg = {};
  try { msg = e.data ? e.data.json() : {}; } catch (err) { msg = {body: e.data ? e.data.text() : ""}; }
  const title = msg.title || "Spotline";
  e.waitUntil(self.registration.showNotification(title, {
    body: msg.body || "{% translate 'Something needs you: open Spotline.' as fallback %}{{ fallback|escapejs }}",
    tag: msg.tag || "spotline",
    renotify: true,
    requireInteraction: true,
    vibrate: [400, 200, 400, 200, 400],
    icon: "{% static 'spotline/icon.svg' %}",
    data: {url: msg.url || "/responder/"},
  }));
});
self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  let url = new URL((e.notification.data && e.notification.data.url) || "/responder/", self.location.origin);
  if (url.origin !== self.location.origin) url = new URL("/responder/", self.location.origin);
  e.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then((list) => {
    for (const c of list) {
      if (new URL(c.url).pathname.startsWith("/responder/") && "focus" in c) {
        return c.focus();  // the open app shows the offer live
      }
    }
    return self.clients.openWindow(url.href);
  }));
});
