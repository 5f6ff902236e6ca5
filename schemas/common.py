"""Field rules every feed shares (``docs/feeds.md``, "Common field rules").

Each function takes what the sender wrote and returns the clean value or raises ``ValueError`` with a
reason a sender can act on: the rule the field breaks, never the value (reasons reach receipts, logs
and the quarantine list; a mistyped date of birth is still a child's data). Row models use them
through ``Annotated`` validators.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

MAX_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 200
MAX_AGE_YEARS = 25
GENDER_CODES = frozenset({"M", "F", "U", "I"})
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def clean_text(value: Any, limit: int = MAX_TEXT_LENGTH) -> str | None:
    """Stripped text with inner whitespace collapsed; None when empty. Over-long text is refused."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if len(text) > limit:
        raise ValueError(f"longer than {limit} characters")
    return text or None


def required_text(value: Any, limit: int = MAX_TEXT_LENGTH) -> str:
    """``clean_text`` of a field that must be there: "is missing" when it is not."""
    text = clean_text(value, limit)
    if text is None:
        raise ValueError("is missing")
    return text


def required_name(value: Any) -> str:
    """A name the child can be identified by: present and not blank."""
    text = clean_text(value, MAX_NAME_LENGTH)
    if text is None:
        raise ValueError("is empty")
    return text


def optional_name(value: Any) -> str | None:
    """A name that may be absent."""
    return clean_text(value, MAX_NAME_LENGTH)


def spec_date(value: Any) -> date:
    """A date written ``YYYY-MM-DD`` that exists in the calendar."""
    text = required_text(value, 10)
    if not ISO_DATE.match(text):
        raise ValueError("is not a YYYY-MM-DD date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a real date") from None


def optional_date(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` date that may be absent."""
    return None if clean_text(value, 10) is None else spec_date(value)


def date_of_birth(value: Any, info: ValidationInfo) -> date:
    """A real date of birth, not in the future and at most 25 years ago (``context['today']``).

    Nor after the file's own extract date (``context['extract_date']``, from its name): a backfill or
    an ``--as-of`` run judges an old file against a later clock, which alone would let such a date in.
    """
    born = spec_date(value)
    context = info.context or {}
    today: date = context.get("today") or date.today()
    if born > today:
        raise ValueError("is in the future")
    extracted: date | None = context.get("extract_date")
    if extracted is not None and born > extracted:
        raise ValueError("is after the file's extract date")
    oldest = date(today.year - MAX_AGE_YEARS, today.month, 28 if (today.month, today.day) == (2, 29) else today.day)
    if born < oldest:
        raise ValueError(f"is more than {MAX_AGE_YEARS} years ago")
    return born


def gender_code(value: Any) -> str:
    """One of M, F, U (not known), I (indeterminate)."""
    text = required_text(value, 10)
    if text.upper() not in GENDER_CODES:
        raise ValueError("is not one of M, F, U, I")
    return text.upper()


def flag(value: Any) -> bool | None:
    """Y/N (CSV) or true/false (XML); None when absent."""
    text = clean_text(value, 10)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("y", "true", "1"):
        return True
    if lowered in ("n", "false", "0"):
        return False
    raise ValueError("is not Y/N or true/false")


RequiredName = Annotated[str, BeforeValidator(required_name)]
OptionalName = Annotated[str | None, BeforeValidator(optional_name)]
OptionalText = Annotated[str | None, BeforeValidator(clean_text)]
DateOfBirth = Annotated[date, BeforeValidator(date_of_birth)]
OptionalDate = Annotated[date | None, BeforeValidator(optional_date)]
GenderCode = Annotated[str, BeforeValidator(gender_code)]
Flag = Annotated[bool | None, BeforeValidator(flag)]
