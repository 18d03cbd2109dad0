"""Rate limits on the public side: per client and per endpoint group, with clear 429s.

The limits are there to stop floods (a script filing fake help requests, guessing
tracking tokens, or two SMS robots answering each other), never a person: each one is
far above what anyone needs in an emergency, and every refusal says when to try again
and how else to get help now.

How a request is counted (``RateLimitMiddleware``):

1. ``RULES`` maps (method, path) to a group ("help", "track", ...). A request no rule
   matches is not counted at all: the limits cover the public endpoints and the staff
   sign-in only.
2. The client is the peer's IP address (an IPv6 address by its /64, what one household
   or phone gets), taken from ``X-Forwarded-For`` only when the peer is one of
   ``SPOTLINE_TRUSTED_PROXIES``. An inbound text is counted by its sender's number
   instead (Twilio's few addresses carry everyone's texts), and only when Twilio
   signed the request. Counter keys hold a keyed digest, never an address or a number.
3. Fixed one-minute windows in Django's cache ("ratelimit" alias: Redis when
   ``REDIS_URL`` is set, so every web process shares the counts; memory otherwise).
   The client's counter first; only a request within its client's limit counts against
   the group's global limit, so one noisy client cannot use up everyone's share.
4. When the cache fails, the request goes through (fail open: a broken Redis must never
   turn away a request for help), and the log says so.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation

from spotline.notify.providers.twilio.signature import signature_valid
from spotline.privacy.crypto import normalize_phone

log = logging.getLogger(__name__)

WINDOW = 60  # seconds: every limit is "requests per minute"
CACHE = "ratelimit"  # the alias in settings.CACHES
LOG_EVERY = 60.0  # at most one "limited" or "failed open" line per group per minute
OPEN_FOR = 15  # seconds without counting after the cache failed

Kind = Literal["api", "page", "hook"]  # how a refusal is worded: JSON, HTML, plain text


@dataclass(frozen=True)
class Client:
    key: str  # a digest: never an address or a phone number
    counts_globally: bool = True


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer, or the first hop left of our trusted proxies."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    trusted = _networks(tuple(settings.SPOTLINE_TRUSTED_PROXIES))
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if not _in(peer, trusted):
        if peer not in hops:  # (when it is, the server already took it from the header)
            _log_throttled(("untrusted-forwarded",), time.time(), logging.WARNING,
                           "X-Forwarded-For ignored: the peer is not in "
                           "SPOTLINE_TRUSTED_PROXIES (behind a proxy, set it, or every "
                           "client counts as the proxy)")
        return peer
    # Walk the chain from the right: each trusted proxy vouches for the hop before it.
    current = peer
    while hops and _in(current, trusted):
        hop = hops.pop()
        if _ip(hop) is None:
            break  # garbage from the client side: keep the last address we can trust
        current = hop
    return current


def by_ip(request: HttpRequest) -> Client:
    ip = _ip(client_ip(request))
    if isinstance(ip, ipaddress.IPv6Address):
        ip_text = str(ipaddress.IPv6Network((ip, 64), strict=False))
    else:
        ip_text = str(ip) if ip is not None else "unknown"
    return Client(_digest("ip", ip_text))


def by_sms_sender(request: HttpRequest) -> Client:
    """An inbound text, by its sender's number (digest), when Twilio signed it.

    An unsigned request is refused by the webhook anyway; it is counted by address and
    not against the global limit, so forged requests cannot use up real texts' share.
    """
    try:
        sender = normalize_phone(request.POST.get("From", ""))
        signed = signature_valid(request)
    except Exception:  # an unreadable body: the view answers it; count it by address
        signed, sender = False, ""
    if not signed or not sender.lstrip("+"):
        return Client(by_ip(request).key, counts_globally=False)
    return Client(_digest("sms", sender))


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]
    path: re.Pattern[str]
    group: str  # a key of settings.SPOTLINE_RATE_LIMITS
    kind: Kind
    client: Callable[[HttpRequest], Client] = by_ip


def _rule(methods: str, path: str, group: str, kind: Kind,
          client: Callable[[HttpRequest], Client] = by_ip) -> Rule:
    return Rule(frozenset(methods.split()), re.compile(path), group, kind, client)


SEGMENT = r"[^/]+"  # one path segment: a token, a plan, an answer
READ = "GET HEAD"

# The table to review. Per-client and global limits per group are settings
# (SPOTLINE_RATE_<GROUP> and SPOTLINE_RATE_<GROUP>_GLOBAL, see settings.py and README).
RULES: tuple[Rule, ...] = (
    # Asking for help: the web form and the API.
    _rule("POST", r"^/$", "help", "page"),
    _rule("POST", r"^/api/v1/incidents/?$", "help", "api"),
    # Starting a check-in (also from a saved plan).
    _rule("POST", r"^/checkin/$", "checkin", "page"),
    _rule("POST", rf"^/checkin/p/{SEGMENT}/$", "checkin", "page"),
    _rule("POST", r"^/checkin/plan/$", "checkin", "page"),
    _rule("POST", r"^/api/v1/checkins/?$", "checkin", "api"),
    # Answers by token: "I'm OK", "done", "they are OK now: cancel", "ask again", "tell
    # us more" after sending, "cancel help" after a check-in sent it, delete a plan.
    _rule("POST", rf"^/c/{SEGMENT}/{SEGMENT}/$", "answer", "page"),
    _rule("POST", rf"^/checkin/p/{SEGMENT}/delete/$", "answer", "page"),
    _rule("POST", r"^/checkin/plan/delete/$", "answer", "page"),
    _rule("POST", rf"^/t/{SEGMENT}/(cancel|again|more|place)/$", "answer", "page"),
    _rule("POST", rf"^/api/v1/checkins/{SEGMENT}/(ok|done|call-off)$", "answer", "api"),
    _rule("POST", rf"^/api/v1/track/{SEGMENT}/(cancel|details)$", "answer", "api"),
    _rule("DELETE", rf"^/api/v1/checkins/plans/{SEGMENT}$", "answer", "api"),
    # Status and tracking pages, polled while someone waits (and token guessing).
    _rule(READ, rf"^/t/{SEGMENT}/(more/|place/)?$", "track", "page"),
    _rule(READ, rf"^/c/{SEGMENT}/$", "track", "page"),
    _rule(READ, rf"^/checkin/p/{SEGMENT}/$", "track", "page"),
    _rule(READ, rf"^/api/v1/track/{SEGMENT}$", "track", "api"),
    _rule(READ, rf"^/api/v1/checkins/plans/{SEGMENT}$", "track", "api"),
    _rule(READ, rf"^/api/v1/checkins/{SEGMENT}$", "track", "api"),
    # The public alerts pages: an anonymous report, subscribing (Web Push, email) and its
    # confirmation, unsubscribing. Counted apart from "help", so reports from one
    # address never use up its help requests.
    _rule("POST", r"^/alerts/(report|push|push/delete|email|unsubscribe/)$", "alert_forms",
          "page"),
    _rule("POST", rf"^/alerts/(confirm|unsubscribe)/{SEGMENT}/$", "alert_forms", "page"),
    # The help page's place suggestions, asked as the person types.
    _rule(READ, r"^/places/suggest$", "suggest", "api"),
    # Inbound texts, per sending number.
    _rule("POST", r"^/hooks/twilio/sms$", "sms", "hook", by_sms_sender),
    # Dispatchers finding a place from words as they type (signed in, but each request
    # searches the gazetteer: a runaway script must not take the server's time).
    _rule(READ, r"^/api/v1/places/search$", "search", "api"),
    # Coordinators writing alerts and areas (signed in, but a runaway script must not
    # publish alert after alert to every subscriber, nor fill the map with areas).
    _rule("GET HEAD POST", r"^/api/v1/(areas|alerts)/?$", "alerts", "api"),
    _rule("POST", rf"^/api/v1/alerts/{SEGMENT}/(publish|cancel)$", "alerts", "api"),
    # Coordinators' program reports: each one reads a whole period of the reporting
    # store (up to a second for a busy year), so a runaway script must not queue them.
    _rule(READ, r"^/reports/(export\.csv|print/)?$", "reports", "page"),
    # Coordinators' planner uploads: each is up to SPOTLINE_PLANNER_MAX_UPLOAD_MB written
    # to disk and a run of many CPU-minutes, so a runaway script must not queue them.
    _rule("POST", r"^/planner/$", "planner", "page"),
    # Staff sign-in and its second step (django-axes also locks out repeated failures
    # per account, django-otp slows down wrong codes per device).
    _rule("POST", r"^/accounts/(login|two-factor)/$", "login", "page"),
)


def counts(method: str, path: str) -> bool:
    """Whether a request of ``method`` to ``path`` is counted (the OpenAPI schema
    declares 429 on exactly these operations)."""
    return any(method in rule.methods and rule.path.match(path) for rule in RULES)


def rule_for(request: HttpRequest) -> Rule | None:
    for rule in RULES:
        if request.method in rule.methods and rule.path.match(request.path_info):
            return rule
    return None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends
    scope: Literal["client", "global", ""] = ""


def check(rule: Rule, client: Client, *, now: float) -> Verdict:
    """Count this request; refuse it when its client or its group is over the limit."""
    per_client, everyone = settings.SPOTLINE_RATE_LIMITS[rule.group]
    window = int(now // WINDOW)
    retry_after = max(1, math.ceil((window + 1) * WINDOW - now))
    cache = caches[CACHE]
    if per_client and _count(cache, f"rl:{rule.group}:{client.key}:{window}") > per_client:
        return Verdict(False, retry_after, "client")
    if (everyone and client.counts_globally
            and _count(cache, f"rl:{rule.group}:*:{window}") > everyone):
        return Verdict(False, retry_after, "global")
    return Verdict(True)


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        global _open_until
        rule = rule_for(request)
        now = time.time()
        if rule is None or now < _open_until:
            return self.get_response(request)
        try:
            verdict = check(rule, rule.client(request), now=now)
        except Exception as exc:
            # 4. Fail open: a request for help goes through whatever the cache does, and
            # for a while the next ones do not even try it (an unreachable Redis costs
            # a timeout; one request pays it, not each of them).
            _open_until = now + OPEN_FOR
            _log_throttled(("open", rule.group), now, logging.ERROR,
                           "rate limiter failed open group=%s (%s); not counting for %d s",
                           rule.group, type(exc).__name__, OPEN_FOR)
            return self.get_response(request)
        if verdict.allowed:
            return self.get_response(request)
        _log_throttled(("limited", rule.group, verdict.scope), now, logging.WARNING,
                       "rate limited group=%s scope=%s", rule.group, verdict.scope)
        return too_many(request, rule.kind, verdict)


def too_many(request: HttpRequest, kind: Kind, verdict: Verdict) -> HttpResponse:
    seconds = verdict.retry_after
    response: HttpResponse
    if kind == "api":
        detail = (f"too many requests from this address: try again in {seconds} seconds"
                  if verdict.scope == "client" else
                  f"too many requests right now: try again in {seconds} seconds")
        response = JsonResponse({"detail": detail, "retry_after": seconds}, status=429)
    elif kind == "hook":
        response = HttpResponse(f"too many requests: try again in {seconds} seconds\n",
                                status=429, content_type="text/plain; charset=utf-8")
    else:
        # Before LocaleMiddleware runs: pick the language the same way it would.
        language = translation.get_language_from_request(request)
        with translation.override(language):
            html = render_to_string("429.html", {
                "seconds": seconds, "from_here": verdict.scope == "client",
                "hotline": settings.SPOTLINE_HOTLINE, "org": settings.SPOTLINE_ORG_NAME,
                "LANGUAGE_CODE": language,
            })
        response = HttpResponse(html, status=429)
        response["Content-Language"] = language
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


# -- helpers -----------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _count(cache: BaseCache, key: str) -> int:
    """Add one to a window's counter and return it (the key expires after its window)."""
    cache.add(key, 0, timeout=WINDOW + 5)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr: this request starts a new count
        cache.set(key, 1, timeout=WINDOW + 5)
        return 1


def _digest(kind: str, value: str) -> str:
    mac = hmac.new(settings.SPOTLINE_HASH_KEY, f"ratelimit:{kind}:{value}".encode(),
                   hashlib.sha256)
    return mac.hexdigest()[:32]


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(e) for e in entries)


def _in(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in networks)


_last_logged: dict[tuple[str, ...], float] = {}
_open_until = 0.0  # time.time() until which nothing is counted (the cache failed)


def reset() -> None:
    """Forget every count (of an in-memory cache only: never a shared Redis), the log
    throttle and a failed cache: each test starts from here."""
    global _open_until

    cache = caches[CACHE]
    if isinstance(cache, LocMemCache):
        cache.clear()
    _last_logged.clear()
    _open_until = 0.0


def _log_throttled(key: tuple[str, ...], now: float, level: int, msg: str,
                   *args: object) -> None:
    """Log once per ``LOG_EVERY`` per key: a flood must not become a flood of log lines."""
    if now - _last_logged.get(key, -math.inf) < LOG_EVERY:
        return
    _last_logged[key] = now
    log.log(level, msg + " (further ones this minute are not logged)", *args)
