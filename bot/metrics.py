"""Prometheus metrics: counters the hot path bumps (a dictionary lookup and an add, no I/O), and the
gauges /metrics fills from the database when it is scraped (bot/probes.py).

A leaf: it imports nothing of ours, so the service, the outbox and the channels may all count."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)  # ours only: no process or platform collectors mixed in

UPDATES_RECEIVED = Counter("hotline_updates_received", "Inbound messages received, per channel", ["channel"],
                           registry=REGISTRY)
UPDATES_HANDLED = Counter("hotline_updates_handled", "Inbound messages handled (committed), per channel",
                          ["channel"], registry=REGISTRY)
HANDLING_SECONDS = Histogram("hotline_handling_seconds", "Time to handle one inbound message, per channel",
                             ["channel"], registry=REGISTRY,
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SENDS = Counter("hotline_sends", "Outbox sends by channel and result (ok, 429, 5xx, blocked, held, rejected, error)",
                ["channel", "result"], registry=REGISTRY)
OUTBOX_DEPTH = Gauge("hotline_outbox_depth", "Unsent outbox rows by channel and status", ["channel", "status"],
                     registry=REGISTRY)
OUTBOX_AGE = Gauge("hotline_outbox_oldest_seconds", "Age of the oldest unsent outbox row by channel and status",
                   ["channel", "status"], registry=REGISTRY)
DEAD_LETTERS = Gauge("hotline_outbox_dead_letters", "Outbox rows that failed for good", registry=REGISTRY)
WAITING = Gauge("hotline_waiting_conversations", "Conversations waiting for a mediator", registry=REGISTRY)
OLDEST_WAIT = Gauge("hotline_oldest_wait_seconds", "How long the longest-waiting conversation has waited",
                    registry=REGISTRY)
TIMERS_DUE = Gauge("hotline_timers_due", "Timers (SLA, inactivity) due and not done", registry=REGISTRY)
FLOW_VERSION = Gauge("hotline_flow_version", "The flow version this process serves", registry=REGISTRY)


def received(channel: str) -> None:
    UPDATES_RECEIVED.labels(channel).inc()


def handled(channel: str, seconds: float) -> None:
    UPDATES_HANDLED.labels(channel).inc()
    HANDLING_SECONDS.labels(channel).observe(seconds)


def sent(channel: str, result: str) -> None:
    SENDS.labels(channel, result).inc()
