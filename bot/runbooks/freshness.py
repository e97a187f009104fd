"""Is a runbook due for review? A runbook nobody has read against the system for months
tells a responder to restart what was renamed; ``last_reviewed`` in its front matter says
when people last checked it.

``review_state`` is pure: the date, today and the allowed age in, the verdict out. Lint
warns on it and the reports show it; neither ever refuses a runbook for its age.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.durations import parse_duration
from bot.runbooks.model import Runbook

DEFAULT_REVIEW_AGE = timedelta(days=90)


class Review(StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"  # reviewed longer ago than the allowed age
    MISSING = "missing"  # no last_reviewed at all
    FUTURE = "future"  # a date after today: a typo, most likely


def review_age(value: object) -> timedelta:
    """A review age as configured (``90d``, ``13w``): dates are whole days, so at least one."""
    age = parse_duration(value)
    if age < timedelta(days=1):
        raise ValueError("a review age is at least a day, such as 90d or 13w")
    return age


@dataclass(frozen=True, slots=True)
class ReviewState:
    last_reviewed: date | None
    status: Review
    due: date | None  # the last day the review still counts; None without a date
    age_days: int | None
    overdue: bool  # due for review: reviewed too long ago, or never


def review_state(last_reviewed: date | None, *, today: date, max_age: timedelta) -> ReviewState:
    """The review verdict on ``today``: overdue once more than ``max_age`` (whole days)
    has passed since ``last_reviewed``, so a runbook reviewed exactly ``max_age`` ago is
    still current."""
    if last_reviewed is None:
        return ReviewState(None, Review.MISSING, None, None, overdue=True)
    due = last_reviewed + timedelta(days=max_age.days)
    age = (today - last_reviewed).days
    if age < 0:
        status = Review.FUTURE
    elif today > due:
        status = Review.OVERDUE
    else:
        status = Review.CURRENT
    return ReviewState(last_reviewed, status, due, age, overdue=status is Review.OVERDUE)


def runbook_reviews(
    runbooks: Iterable[Runbook], *, today: date, max_age: timedelta
) -> dict[str, ReviewState]:
    """Each runbook's review state by id."""
    return {r.id: review_state(r.last_reviewed, today=today, max_age=max_age) for r in runbooks}


def review_text(state: ReviewState) -> str:
    """The verdict as people read it in the report: ``last reviewed 2026-09-14 (overdue)``."""
    if state.last_reviewed is None:
        return "never reviewed (overdue)"
    suffix = {Review.OVERDUE: " (overdue)", Review.FUTURE: " (in the future)"}
    return f"last reviewed {state.last_reviewed.isoformat()}{suffix.get(state.status, '')}"
