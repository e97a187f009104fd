"""Acknowledged means silenced: while someone works an incident, Alertmanager stops
re-notifying about its alerts, whatever path acknowledged it (``decide.py``,
``service.py``, ``transport.py``)."""
