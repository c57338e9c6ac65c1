"""The kept figures' JSON (``reporting.models.ProgramFigures.figures``).

``reporting.selectors.figure_counts`` gives keys, counts and sums, no label: they are
stored as they are, with every Decimal as its exact string (money is never a float), and
read back into the same dictionary, so the page labels them in its reader's language.
``FORMAT`` names the shape: kept figures of another format are recomputed on view.
"""

import copy
from decimal import Decimal

FORMAT = 1
# Where the follow-up summary holds Decimals (a None stays None).
DECIMAL_PATHS = (
    ("latest", "monthly_revenue_total"),
    ("latest", "monthly_revenue_average"),
    ("equipment_recovered", "value"),
)


def _plain(value):
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    # A float (or anything else) has no exact JSON form here: refuse rather than round.
    raise TypeError(f"cannot keep {type(value).__name__} {value!r} in the dashboard figures")


def dump(counts: dict) -> dict:
    """``figure_counts``' dictionary as JSON-ready values, with its format."""
    return {"format": FORMAT, **_plain(counts)}


def load(stored: dict) -> dict | None:
    """The dictionary ``dump`` was given, Decimals restored; None when ``stored`` is of
    another format (or damaged): the caller computes the figures again."""
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        return None
    try:
        counts = {"pipeline": dict(stored["pipeline"]), "beneficiaries": {
            "categories": dict(stored["beneficiaries"]["categories"]),
            "communes": [list(row) for row in stored["beneficiaries"]["communes"]],
        }, "followup": copy.deepcopy(stored["followup"])}
        for outer, inner in DECIMAL_PATHS:
            value = counts["followup"][outer][inner]
            counts["followup"][outer][inner] = None if value is None else Decimal(value)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None
    return counts

