"""Price and size grids: is a value on its step, and its exact decimal string for the wire.

Kraken rejects a price that is not a multiple of ``tickSize`` (``invalidPrice``) and a size
with more decimals than ``contractValueTradePrecision`` (``invalidSize``; a negative precision
means multiples of 10^-precision). Floats cannot hold 0.1 exactly, so "on the grid" allows a
relative error of :data:`GRID_TOLERANCE` steps, and the wire string is printed from the
integer number of steps, never from the float (``0.1 + 0.2`` is sent as ``0.3``).
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal

GRID_TOLERANCE = 1e-7
"""How far from a whole number of steps a value may be (in steps) and still count as on grid."""


def steps(value: float, step: float) -> int | None:
    """The whole number of ``step`` in ``value``, or None if ``value`` is off the grid."""
    if step <= 0 or not math.isfinite(value):
        return None
    n = value / step
    whole = round(n)
    # float error grows with the magnitude: allow 1e-12 relative on top of the fixed tolerance
    if abs(n - whole) > max(GRID_TOLERANCE, abs(n) * 1e-12):
        return None
    return int(whole)


@functools.lru_cache(maxsize=1024)
def decimals_of(step: float) -> int:
    """Decimal places needed to print multiples of ``step`` (0.5 -> 1, 1e-10 -> 10, 1000 -> 0)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def wire(value: float, step: float) -> str:
    """``value`` rounded to the grid of ``step``, as Kraken's decimal string (no exponent, no
    trailing zeros): ``wire(50000.0, 1.0) == "50000"``, ``wire(0.30000000000000004, 0.1) == "0.3"``."""
    n = round(value / step)
    d = decimals_of(step)
    exact = Decimal(n) * Decimal(repr(step))
    text = f"{exact:.{d}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def step_of_precision(precision: int) -> float:
    """Size step for Kraken's ``contractValueTradePrecision`` (3 -> 0.001, -3 -> 1000)."""
    return 10.0 ** (-precision)
