"""Reaching a person: contact methods, notification rules and the senders behind them.

Escalation decides who is paged; this package decides how and when each of those people is
reached (``decide.py``, from their notification rules), queues one outbox row per step in the
paging transaction (``service.py``), and delivers each row through the sender of its kind
(``email.py``, ``ntfy.py``, ``twilio.py``) after commit (``transport.py``).
"""
