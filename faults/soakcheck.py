"""The soak's checks, over everything it did: what ``make faults`` checks per scenario,
for every channel, plus timers after each fault, the outbox, the audit chain and the purge.

Each check returns counts and an ``ok_*`` verdict. The database is read directly (the
harness's side door); the provider side from the local Twilio stub's record.
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import time
from collections import Counter
from typing import Any

import psycopg

from faults.run import BIN, ROOT, db, pct, scalar

TIMER_LATENESS_LIMIT_S = 5.0
TIMER_TABLES = ("dispatch_timer", "checkins_checkindeadline")
# The faults during which no timer can fire (the database, or a worker, is down or
# stopped). Web processes and Redis fire no timers: a timer due while one of them is
# down must still be on time, so those windows excuse nothing.
STOPS_TIMERS = frozenset({"restart_postgres", "kill_worker", "pause_worker", "failed"})
OUTBOX_OPEN = ("SELECT count(*) FROM notify_message WHERE sent_at IS NULL AND failed_at "
               "IS NULL AND cancelled_at IS NULL AND next_attempt_at < now() + interval "
               "'10 minutes'")
STARTS = ("form_page", "help_api", "help_form", "help_sms", "checkin_start")


def settle(timeout: float = 180) -> bool:
    """Wait for the workers to send what is open and fire what is due; True if they did
    (what is left is then counted, not waited for)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with db() as conn:
                left = int(scalar(conn, OUTBOX_OPEN)) + sum(int(scalar(
                    conn, f"SELECT count(*) FROM {t} "  # noqa: S608
                          "WHERE fired_at IS NULL AND due_at <= now()"))
                    for t in TIMER_TABLES)
            if left == 0:
                return True
        except psycopg.Error:
            pass
        time.sleep(1)
    return False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_channel(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Every acknowledged request exists and has offers; nothing was opened twice."""
    acks = [e for e in events if e["ev"] == "ack"]
    tokens = [a["token"] for a in acks]
    persons = {
        "api": len({e["key"] for e in acks if e["channel"] == "api"}),
        "web": sum(e["ev"] == "resp" and e.get("what") == "form_page" and e["status"] == 200
                   for e in events),
        "sms": sum(e["ev"] == "sms_person" for e in events),
        "checkin": len({e["key"] for e in events if e["ev"] == "checkin_key"}),
    }
    with db() as conn:
        found = dict(conn.execute(
            "SELECT tracking_digest, id FROM dispatch_incident WHERE tracking_digest = ANY(%s)",
            ([digest(t) for t in tokens],)).fetchall())
        with_offers = {r[0] for r in conn.execute(
            "SELECT DISTINCT incident_id FROM dispatch_offer WHERE incident_id = ANY(%s)",
            (list(found.values()),))}
        per_source = dict(conn.execute(
            "SELECT source, count(*) FROM dispatch_incident GROUP BY source").fetchall())
        keyed = scalar(conn, "SELECT count(*) FROM api_idempotentrequest "
                             "WHERE scope = 'incident_create'")
        # Every soak check-in is started with a key: one stored answer per check-in.
        keyed_checkins = scalar(conn, "SELECT count(*) FROM api_idempotentrequest "
                                      "WHERE scope = 'checkin_create'")
        started = [e["token"] for e in events if e["ev"] == "checkin"]
        checkins_found = scalar(conn, "SELECT count(*) FROM checkins_checkin "
                                      "WHERE token_digest = ANY(%s)",
                                ([digest(t) for t in started],))
        checkins = scalar(conn, "SELECT count(*) FROM checkins_checkin")
        escalated = scalar(conn, "SELECT count(*) FROM checkins_checkin "
                                 "WHERE incident_id IS NOT NULL")
        escalated_without_offers = scalar(conn,
            "SELECT count(*) FROM checkins_checkin c WHERE c.incident_id IS NOT NULL AND NOT "
            "EXISTS (SELECT 1 FROM dispatch_offer o WHERE o.incident_id = c.incident_id)")
    ids = [found.get(digest(t)) for t in tokens]
    missed = {e["token"] for e in events if e["ev"] == "checkin" and e["fate"] == "miss"}
    seen_escalating = {e["token"] for e in events if e["ev"] == "escalated"}
    result = {
        "acknowledged": Counter(a["channel"] for a in acks),
        "gave_up": Counter(e["what"] for e in events if e["ev"] == "gave_up"),
        "lost": sum(i is None for i in ids),
        "acked_without_offers": sum(i is not None and i not in with_offers for i in ids),
        "acked_twice": len(tokens) - len(set(tokens)),
        "incidents_by_source": per_source,
        # Each simulated person asks once: more incidents than people is a duplicate.
        "duplicate_api_incidents": per_source.get("api", 0) - keyed,
        "web_incidents_over_people": max(0, per_source.get("web", 0) - persons["web"]),
        "sms_incidents_over_people": max(0, per_source.get("sms", 0) - persons["sms"]),
        "checkins_over_people": max(0, checkins - persons["checkin"]),
        "duplicate_checkins": checkins - keyed_checkins,
        "web_acks_without_submission_key": sum(
            a["channel"] == "web" and not a.get("submission") for a in acks),
        # A start answered 4xx is a person turned away: neither acknowledged nor lost.
        "starts_refused": Counter(e["what"] for e in events
                                  if e["ev"] == "refused" and e["what"] in STARTS),
        "load_errors": sum(e["ev"] == "load_error" for e in events),
        "checkin_incidents_over_escalations": per_source.get("checkin", 0) - escalated,
        "checkins_started": len(started),
        "checkins_lost": len(started) - checkins_found,
        "checkins_left_to_miss": len(missed),
        "missed_checkins_seen_escalating": len(missed & seen_escalating),
        "escalated_without_offers": escalated_without_offers,
    }
    exercised = (all(result["acknowledged"][c] > 0 for c in ("api", "web", "sms"))
                 and len(started) > 0 and len(missed) > 0)
    result["ok_no_loss"] = (exercised and result["lost"] == 0
                            and result["acked_without_offers"] == 0
                            and result["checkins_lost"] == 0
                            and escalated_without_offers == 0
                            and result["missed_checkins_seen_escalating"] == len(missed)
                            and not result["starts_refused"] and result["load_errors"] == 0)
    result["ok_no_duplicates"] = all(result[k] == 0 for k in (
        "acked_twice", "duplicate_api_incidents", "web_incidents_over_people",
        "sms_incidents_over_people", "duplicate_checkins",
        "checkin_incidents_over_escalations", "web_acks_without_submission_key"))
    return result


def answers_and_messages(events: list[dict[str, Any]], stub: Any) -> dict[str, Any]:
    """No incident accepted twice, no offer or message sent twice to one phone."""
    races = [e for e in events if e["ev"] in ("accept", "doubletap")]
    with db() as conn:

        def q(sql: str) -> int:
            return int(scalar(conn, sql))

        result: dict[str, Any] = {
            "races": sum(e["ev"] == "accept" for e in races),
            "double_taps": sum(e["ev"] == "doubletap" for e in races),
            "declines": sum(e["ev"] == "decline" for e in events),
            "incidents_two_accepted": q(
                "SELECT count(*) FROM (SELECT incident_id FROM dispatch_offer WHERE status = "
                "'accepted' GROUP BY incident_id HAVING count(*) > 1) x"),
            "incidents_two_accept_events": q(
                "SELECT count(*) FROM (SELECT incident_id FROM dispatch_incidentevent WHERE "
                "type = 'accept' GROUP BY incident_id HAVING count(*) > 1) x"),
            "duplicate_offers": q(
                "SELECT count(*) FROM (SELECT 1 FROM dispatch_offer "
                "GROUP BY incident_id, responder_id HAVING count(*) > 1) x"),
            "offers": q("SELECT count(*) FROM dispatch_offer"),
            "messages_with_two_sent_deliveries": q(
                "SELECT count(*) FROM (SELECT message_id FROM notify_delivery WHERE status IN "
                "('sent', 'delivered') GROUP BY message_id HAVING count(*) > 1) x"),
            "outbox_due_unsent": q(
                "SELECT count(*) FROM notify_message WHERE sent_at IS NULL AND failed_at IS "
                "NULL AND cancelled_at IS NULL AND next_attempt_at <= now()"),
            # Open and due within minutes: one in backoff, or rescheduled again and again,
            # is not "due" at the moment of the count but is not sent either. (Offer calls
            # wait an hour here, SPOTLINE_OFFER_CALL_AFTER_SECONDS: they are not late.)
            "outbox_open": q(OUTBOX_OPEN),
            "deliveries_left_sending": q(
                "SELECT count(*) FROM notify_delivery WHERE status = 'sending'"),
        }
    # At the provider. The key ("<message key>:<channel>") names one message on one
    # channel, so the same key twice is one message sent twice to one phone: a worker
    # killed between the provider's answer and its record of it (the at-least-once
    # that no outbox can close) would do that. Judged. The same text to the same phone
    # under two keys is counted, not judged: two incidents at one landmark give one
    # responder two identical offer texts.
    sent = [r for r in stub.requests if r.status == 201]
    by_key = Counter(r.token for r in sent)
    deliveries = stub.deliveries
    result["provider_calls"] = len(sent)
    result["provider_deliveries"] = len(deliveries)
    result["provider_resends_same_key"] = sum(n - 1 for n in by_key.values() if n > 1)
    # make faults' check: one offer (and round) texted on two channels.
    per_offer: dict[str, set[str]] = {}
    for r in sent:
        parts = (r.token or "").split(":")
        if parts[0] in ("offer", "offer-call") and len(parts) >= 4:
            per_offer.setdefault(":".join(parts[1:3]), set()).add(parts[-1])
    result["offer_messages_sent_on_two_channels"] = sum(
        len(c) > 1 for c in per_offer.values())
    result["same_text_same_phone_again"] = sum(
        n > 1 for n in Counter((d.get("To"), d.get("Body") or d.get("Twiml"))
                               for d in deliveries).values())
    result["races_won_twice"] = sum(e["statuses"].count(200) > 1 for e in races
                                    if e["ev"] == "accept")
    result["ok_answers"] = (result["races"] > 0 and result["double_taps"] > 0
                            and result["declines"] > 0
                            and result["incidents_two_accepted"] == 0
                            and result["incidents_two_accept_events"] == 0
                            and result["races_won_twice"] == 0
                            and result["duplicate_offers"] == 0)
    result["ok_messages"] = (result["messages_with_two_sent_deliveries"] == 0
                             and result["provider_resends_same_key"] == 0
                             and result["offer_messages_sent_on_two_channels"] == 0
                             and result["outbox_due_unsent"] == 0
                             and result["outbox_open"] == 0)
    return result


def _overlap(a: float, b: float, spans: list[tuple[float, float]]) -> float:
    """Seconds of [a, b] covered by the union of ``spans`` (sorted by start)."""
    total, reach = 0.0, a
    for s, e in spans:
        lo, hi = max(s, reach), min(e, b)
        if hi > lo:
            total += hi - lo
            reach = hi
    return total


def timers(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every timer fired; none later than the limit after the fault around it ended.

    When a timer fired is the commit time of the row that fired it (PostgreSQL's
    track_commit_timestamp), not ``fired_at``: a worker stamps that from its own clock,
    which is stale in a worker that was paused. The time a fault that stops timers
    (PostgreSQL, a worker) overlapped a timer's wait is taken off its lateness.
    """
    rows: list[tuple[str, float, float | None, int]] = []
    with db() as conn:
        for table in TIMER_TABLES:
            rows += [(table, float(d), None if c is None else float(c), int(a))
                     for d, c, a in conn.execute(
                f"SELECT extract(epoch FROM due_at), extract(epoch FROM "  # noqa: S608
                f"pg_xact_commit_timestamp(xmin)), attempts FROM {table} "
                f"WHERE fired_at IS NOT NULL OR due_at <= now()").fetchall()]
        unfired = sum(scalar(conn, f"SELECT count(*) FROM {t} "  # noqa: S608
                                   "WHERE fired_at IS NULL AND due_at <= now()")
                      for t in TIMER_TABLES)
    spans = sorted((w["start"], w["back"]) for w in windows if w["fault"] in STOPS_TIMERS)
    # A row without a commit time cannot be judged. One the engine postponed (its
    # handler failed: a deadlock, the database going away) had its due_at moved to the
    # failing pass's time plus the backoff (timers.engine.postpone: 1 s, 2 s, 4 s ...);
    # taking those back off measures it from the pass that first tried it (at or just
    # after its first due time), not from the postponement.
    no_commit_time = sum(c is None for _t, _d, c, _a in rows)
    postponed = sum(a > 0 for _t, _d, _c, a in rows)
    late_all, late_after, worst_after_fault = [], [], 0.0
    for _table, due_at, committed, attempts in rows:
        if committed is None:
            continue
        due = due_at - sum(min(2.0 ** k, 300.0) for k in range(attempts))
        late = max(0.0, committed - due)
        late_all.append(late)
        # Judged: the wait minus the time a fault that stops timers overlapped it (a
        # timer due a moment before PostgreSQL stopped waits out the outage too).
        excused = _overlap(due, committed, spans)
        late_after.append(max(0.0, late - excused))
        if excused:
            worst_after_fault = max(worst_after_fault, late - excused)
    worst = max(late_after, default=None)
    return {
        "timers": len(rows), "timers_unfired": unfired,
        "timers_without_commit_time": no_commit_time, "timers_postponed": postponed,
        "timer_lateness_p50_s": round(statistics.median(late_all), 2) if late_all else None,
        "timer_lateness_p99_s": pct(late_all, 99),
        "timer_lateness_max_raw_s": round(max(late_all), 2) if late_all else None,
        "timer_lateness_max_after_fault_s": round(worst_after_fault, 2),
        "timer_lateness_max_judged_s": round(worst, 2) if worst is not None else None,
        "timers_late_beyond_limit": sum(x > TIMER_LATENESS_LIMIT_S for x in late_after),
        "ok_timers": bool(rows) and unfired == 0 and no_commit_time == 0
        and worst is not None and worst <= TIMER_LATENESS_LIMIT_S,
    }


def audit_and_purge(env: dict[str, str]) -> dict[str, Any]:
    """The audit chain verifies; nothing of a closed incident is left past retention."""
    verify = subprocess.run([str(BIN / "spotline"), "audit", "verify"], env=env, cwd=ROOT,  # noqa: S603
                            capture_output=True, text=True)
    # Before ``spotline purge``, which blanks them all at once: did the worker's own
    # housekeeping keep them? With a retention of 0 hours an SMS answer is kept 0 s
    # (intake.sms.reply_keep), blanked within a housekeeping minute.
    with db() as conn:
        sms_answers_kept = int(scalar(conn,
            "SELECT count(*) FROM intake_inboundsms WHERE reply_sealed <> '' "
            "AND received_at < now() - interval '3 minutes'"))
    subprocess.run([str(BIN / "spotline"), "purge"], env=env, cwd=ROOT, check=True,  # noqa: S603
                   capture_output=True)
    with db() as conn:

        def q(sql: str) -> int:
            return int(scalar(conn, sql))

        closed = ("SELECT id FROM dispatch_incident WHERE closed_at IS NOT NULL "
                  "AND closed_at < now() - interval '1 second'")
        result: dict[str, Any] = {
            "audit_verify_exit": verify.returncode,
            "closed_incidents": q(f"SELECT count(*) FROM ({closed}) x"),  # noqa: S608
            "closed_not_purged": q("SELECT count(*) FROM dispatch_incident WHERE closed_at "
                                   "IS NOT NULL AND purged_at IS NULL"),
            "purged_with_personal_data": q(
                "SELECT count(*) FROM dispatch_incident WHERE purged_at IS NOT NULL AND ("
                "lat IS NOT NULL OR lon IS NOT NULL OR accuracy_m IS NOT NULL OR details <> '' "
                "OR callback_phone <> '' OR location_description <> '' OR fact_id IS NOT NULL)"),
            "purged_with_outcome_notes": q(
                "SELECT count(*) FROM dispatch_outcome o JOIN dispatch_incident i ON "
                "i.id = o.incident_id WHERE i.purged_at IS NOT NULL AND o.notes <> ''"),
            # intake.submissions_purge, on incident_purged: the sealed tracking token.
            "purged_with_form_submission": q(
                "SELECT count(*) FROM intake_formsubmission f JOIN dispatch_incident i ON "
                "i.id = f.incident_id WHERE i.purged_at IS NOT NULL"),
            # The check-ins' own data: gone when one ends or escalates (place_forget).
            "checkins_over_with_place": q(
                "SELECT count(*) FROM checkins_checkin c LEFT JOIN privacy_datakey k ON "
                "k.kid = c.data_key_id WHERE (c.state = 'ended' OR c.escalated_at IS NOT "
                "NULL) AND (c.place_sealed <> '' OR c.phone_sealed <> '' OR c.phone_digest "
                "<> '' OR c.trusted_sealed <> '' OR (k.kid IS NOT NULL AND k.destroyed_at "
                "IS NULL))"),
            "purged_with_live_key": q(
                "SELECT count(*) FROM dispatch_incident i JOIN privacy_datakey k ON "
                "k.kid = i.data_key_id WHERE i.purged_at IS NOT NULL AND k.destroyed_at IS NULL"),
            "purged_with_notes": q(
                "SELECT count(*) FROM dispatch_incidentnote n JOIN dispatch_incident i ON "
                "i.id = n.incident_id WHERE i.purged_at IS NOT NULL"),
            "purged_with_sms_conversation": q(
                "SELECT count(*) FROM intake_smsconversation c JOIN dispatch_incident i ON "
                "i.id = c.incident_id WHERE i.purged_at IS NOT NULL"),
            "purged_with_message_text": q(
                "SELECT count(*) FROM notify_message m LEFT JOIN dispatch_offer o ON "
                "o.id = m.offer_id JOIN dispatch_incident i ON i.id = m.incident_id OR "
                "i.id = o.incident_id WHERE i.purged_at IS NOT NULL "
                "AND (m.body_sealed <> '' OR m.to_sealed <> '')"),
        }
    result["sms_answers_kept"] = sms_answers_kept
    result["ok_audit"] = verify.returncode == 0
    result["ok_purge"] = result["closed_incidents"] > 0 and all(result[k] == 0 for k in (
        "closed_not_purged", "purged_with_personal_data", "purged_with_live_key",
        "purged_with_notes", "purged_with_sms_conversation", "purged_with_message_text",
        "purged_with_outcome_notes", "purged_with_form_submission",
        "checkins_over_with_place", "sms_answers_kept"))
    return result


def latency(events: list[dict[str, Any]], windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency of answered requests outside and inside fault windows (with 5 s after)."""
    spans = [(w["start"], w["back"] + 5) for w in windows]
    inside: list[float] = []
    outside: list[float] = []
    failed_in = failed_out = 0
    for e in events:
        if e["ev"] != "resp":
            continue
        hit = any(s <= e["t"] <= b for s, b in spans)
        if e["status"] == 0 or e["status"] >= 500:
            failed_in += hit
            failed_out += not hit
            continue
        (inside if hit else outside).append(e["ms"])
    return {"answered_outside_faults": len(outside), "answered_in_faults": len(inside),
            "p50_ms_outside_faults": pct(outside, 50), "p99_ms_outside_faults": pct(outside, 99),
            "p50_ms_in_faults": pct(inside, 50), "p99_ms_in_faults": pct(inside, 99),
            "failed_attempts_in_faults": failed_in, "failed_attempts_outside_faults": failed_out}
