"""Open-loop HTTP load from its own process, plus a live-push listener.

Reads a JSON job on stdin, writes one JSON result on stdout (raw latencies; the driver
does the statistics). Requests are sent on a fixed schedule — request i at
``start + i / rate`` — whatever the server does, and each latency runs from the
request's *scheduled* time to its answer, so a stalled server shows up as late answers
instead of hiding behind fewer requests (no coordinated omission). The first
``warmup`` seconds are sent but not measured. Every answer that is not 2xx, and every
connection error or timeout, is counted as an error with its status.

Job: {"targets": [base URLs, round-robin], "path": "/api/v1/incidents",
      "bodies": [JSON texts, cycled], "rate": 50, "warmup": 5, "duration": 30,
      "idempotency": true,
      "ws": null | {"url": "ws://...", "cookie": "sessionid=...", "origin": "http://..."}}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from typing import Any

import aiohttp


async def listen(ws_job: dict[str, Any], ready: asyncio.Event, got: list[tuple[int, float]],
                 problems: list[str]) -> None:
    """Hold a console WebSocket open; note (incident id, receive time - "at") per push."""
    headers = {"Cookie": ws_job["cookie"], "Origin": ws_job["origin"]}
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(ws_job["url"], headers=headers, heartbeat=None,
                                          max_msg_size=0) as ws:
                async for msg in ws:
                    received = time.time()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("type") == "hello":
                        ready.set()
                    elif (data.get("type") == "changed" and data.get("what") == "incident"
                          and data.get("at")):
                        got.append((int(data["id"]), (received - float(data["at"])) * 1000))
                problems.append(f"websocket closed (code {ws.close_code})")
        except Exception as exc:  # reported, not raised: the HTTP phase still runs
            problems.append(f"websocket failed: {type(exc).__name__}")
        finally:
            ready.set()


async def main(job: dict[str, Any]) -> dict[str, Any]:
    targets: list[str] = job["targets"]
    bodies: list[str] = job["bodies"]
    rate = float(job["rate"])
    warmup, duration = float(job["warmup"]), float(job["duration"])
    total = int(rate * (warmup + duration))
    measured_from = int(rate * warmup)
    pushes: list[tuple[int, float]] = []
    problems: list[str] = []
    listener = None
    if job.get("ws"):
        ready = asyncio.Event()
        listener = asyncio.create_task(listen(job["ws"], ready, pushes, problems))
        await asyncio.wait_for(ready.wait(), 20)
        if problems:
            return {"problems": problems}

    results: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = loop.time() + 0.5

        async def one(i: int) -> None:
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            target = i % len(targets)
            headers = {"Content-Type": "application/json"}
            if job.get("idempotency"):
                headers["Idempotency-Key"] = str(uuid.uuid4())
            status: int | str
            answer: Any = None
            try:
                async with session.post(targets[target] + job["path"],
                                        data=bodies[i % len(bodies)], headers=headers) as resp:
                    status = resp.status
                    raw = await resp.read()
                    if 200 <= status < 300:
                        answer = json.loads(raw)
            except Exception as exc:
                status = type(exc).__name__
            results.append({
                "i": i, "target": target, "status": status,
                "ms": (loop.time() - scheduled) * 1000, "measured": i >= measured_from,
                "id": answer.get("id") if isinstance(answer, dict) else None,
            })

        await asyncio.gather(*(one(i) for i in range(total)))
    if listener is not None:
        await asyncio.sleep(2.0)  # the last pushes are still on their way
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    return {"results": results, "pushes": pushes, "problems": problems}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
