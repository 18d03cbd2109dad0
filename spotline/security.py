"""A strict Content-Security-Policy on every response.

Django 5.2 has none built in (6.0 does), and the policy is one fixed string, so a few
lines here beat a dependency. What the policy allows:

- scripts, styles, fonts and everything else: only our own files (no inline ``<script>``,
  no ``style="..."`` attributes, no ``on*=`` handlers, no ``eval``);
- images: ours, ``data:`` URIs (Leaflet, QR codes) and the map tile server's host
  (from ``SPOTLINE_TILE_URL``);
- connections: our own origin, including the live-update WebSocket on the same host;
- no framing, no ``<base>``, no plugins, forms posting only to us.

Scripts may still set styles through the CSSOM (``el.style.x = ...``), which is how
Leaflet positions tiles and markers: CSP governs style attributes in markup, not that.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

HEADER = "Content-Security-Policy"


def tile_source(tile_url: str) -> str:
    """The CSP source for a tile URL template: its scheme, host and port.

    ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` -> ``https://*.tile.example.org``.
    """
    parts = urlsplit(tile_url.replace("{s}", "subdomain"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname
    if host.startswith("subdomain."):
        host = "*." + host.removeprefix("subdomain.")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def policy(*, host: str | None) -> str:
    """The policy for a response to a request for ``host`` (None: unknown host)."""
    images = " ".join(s for s in ("'self'", "data:", tile_source(settings.SPOTLINE_TILE_URL))
                      if s)
    # 'self' covers ws:/wss: to our own host in current browsers; the explicit
    # same-host sources are for older ones. Never a bare ws: (any host).
    connect = "'self'" + (f" ws://{host} wss://{host}" if host else "")
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {images}",
        f"connect-src {connect}",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ))


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if HEADER not in response:
            try:
                host: str | None = request.get_host()
            except DisallowedHost:
                host = None
            response[HEADER] = policy(host=host)
        return response
