"""The one outbox: how every message leaves Fireline, after the transaction that decided it.

``service`` queues rows inside the deciding transaction and keeps their bookkeeping;
``worker.OutboxSender`` delivers them through one ``Transport`` per kind of destination;
``decide`` holds the pure retry and pacing rules.
"""
