"""Numbers as pages print them: "$1,299.00", "€1.299,00", "-12.5 %", "CHF 1'299.50".

A page shows one number in many local styles; a metric needs one float. The rules, in order:

- a minus sign (`-`, or U+2212) counts when nothing alphanumeric stands before it ("SKU-42" is 42),
  and may sit before or after a currency symbol ("-$5", "$-5");
- with both `,` and `.` in a number, the later one is the decimal mark ("1,299.00", "1.299,00");
- one kind of mark used several times groups thousands ("1,299,000", "1.299.000");
- a single `,` followed by exactly three digits groups thousands ("1,299", but not "0,299"),
  otherwise it is the decimal mark ("12,99"); a single `.` is always the decimal mark ("1.299"
  is 1.299);
- apostrophes and non-breaking or thin spaces (U+00A0, U+202F, U+2009) group thousands
  ("1'299"); plain spaces do not, since they separate numbers far more often than they group
  digits.
"""

from __future__ import annotations

import math
import re

_GROUP_MARKS = "'\u00a0\u202f\u2009"
_NUMBER = re.compile(r"\d(?:[\d.,'\u00a0\u202f\u2009]*\d)?")
_SIGN_BEFORE = re.compile(r"(?:^|[^\w])[-\u2212]\s?(?:[$€£¥₹₩₽¢]\s?)?$|[$€£¥₹₩₽¢]\s?[-\u2212]$")


def parse_number(text: str) -> float | None:
    """The first number written in `text`, as a finite float; None when there is none."""
    for match in _NUMBER.finditer(text):
        value = _to_float(match.group())
        if value is None:
            continue
        if _SIGN_BEFORE.search(text[max(0, match.start() - 5) : match.start()]):
            value = -value
        return value
    return None


def _to_float(token: str) -> float | None:
    """Read one run of digits and marks; None when its grouping makes no sense."""
    for mark in _GROUP_MARKS:
        if mark in token:
            groups = token.split(mark)
            if not _valid_groups(groups, last_may_carry_decimals=True):
                return _to_float(groups[0])
            token = "".join(groups)
    commas, dots = token.count(","), token.count(".")
    if commas and dots:
        decimal = "," if token.rfind(",") > token.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        integer, _, fraction = token.rpartition(decimal)
        if decimal in integer or not _valid_groups(integer.split(thousands)):
            return None
        return _finite(f"{integer.replace(thousands, '')}.{fraction}")
    if commas or dots:
        mark = "," if commas else "."
        groups = token.split(mark)
        if len(groups) > 2:
            return _finite("".join(groups)) if _valid_groups(groups) else None
        if mark == "," and _valid_groups(groups):
            return _finite("".join(groups))
        return _finite(".".join(groups))
    return _finite(token)


def _valid_groups(groups: list[str], *, last_may_carry_decimals: bool = False) -> bool:
    """True for thousands groups: a first group of 1-3 digits (not 0), then groups of three."""
    first, rest = groups[0], groups[1:]
    if not rest or not (1 <= len(first) <= 3) or not first.isdigit() or first == "0":
        return False
    for index, group in enumerate(rest):
        digits = group
        if last_may_carry_decimals and index == len(rest) - 1:
            digits = re.split(r"[.,]", group, maxsplit=1)[0]
        if len(digits) != 3 or not digits.isdigit():
            return False
    return True


def _finite(literal: str) -> float | None:
    try:
        value = float(literal)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
