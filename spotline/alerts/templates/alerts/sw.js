{% load i18n static %}/* Spotline alerts service worker (scope /alerts/): shows a drug alert pushed while the
 * page is closed, and opens the alerts page when it is tapped. It caches nothing. The
 * payload is {title, body, url, tag}; the same tag replaces the notification. */
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("push", (e) => {
  let msg = {};
  try { msg = e.data ? e.data.json() : {}; } catch (err) { msg = {body: e.data ? e.data.text() : ""}; }
  e.waitUntil(self.registration.showNotification(msg.title || "{% translate 'Drug alert' as title %}{{ title|escapejs }}", {
    body: msg.body || "{% translate 'A new drug alert: open it to read.' as fallback %}{{ fallback|escapejs }}",
    tag: msg.tag || "spotline-alert",
    icon: "{% static 'spotline/icon.svg' %}",
    data: {url: "/alerts/"},
  }));
});
self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const url = new URL("/alerts/", self.location.origin);
  e.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then((list) => {
    for (const c of list) {
      if (new URL(c.url).pathname.startsWith("/alerts/") && "focus" in c) return c.focus();
    }
    return self.clients.openWindow(url.href);
  }));
});
