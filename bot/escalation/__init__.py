"""Escalation and on-call: policies, schedules, timers in the database, notifications."""
