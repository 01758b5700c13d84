"""What the book says about a figure of curves, as checks a run's curves pass or fail.

Chapter 3's learning-rate figure (``ch3-eta``) is three training-cost curves, and the book
describes them in words: with eta = 0.025 "the cost decreases smoothly until the final
epoch", with eta = 0.25 it decreases and then only makes "small and apparently random
oscillations" (its figure shows it the lowest curve), with eta = 2.5 it "makes large
oscillations right from the start".  Each member of a curves recipe names the claims its
curve should satisfy (:data:`CLAIMS`); :func:`check` evaluates them on measured curves, so
a run (and the test suite, on curves it builds) sees each one hold or fail.

The claims compare whole curves, not their last points: in the book's own figure the
curves of 0.025 and 0.25 meet at the last epoch (both near 0.34), while 0.25's lies below
0.025's at every earlier epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["CLAIMS", "Check", "check", "rises"]

Curves = Sequence[Sequence[float]]


def rises(curve: Sequence[float]) -> int:
    """How many epochs ended with a higher cost than the epoch before."""
    return sum(b > a for a, b in zip(curve, curve[1:]))


def _falls(curves: Curves, k: int) -> bool:
    return len(curves[k]) > 1 and rises(curves[k]) == 0


def _lowest_reaching(curves: Curves) -> int:
    """The curve whose lowest cost is the lowest of all (the first of equals)."""
    return min(range(len(curves)), key=lambda j: min(curves[j]))


def _lowest(curves: Curves, k: int) -> bool:
    return all(min(curves[k]) < min(c) for j, c in enumerate(curves) if j != k)


def _above(curves: Curves, k: int) -> bool:
    j = _lowest_reaching(curves)
    if j == k:
        return False
    pairs = list(zip(curves[k], curves[j]))
    return sum(a > b for a, b in pairs) > len(pairs) / 2


def _rises(curves: Curves, k: int) -> bool:
    return rises(curves[k]) > 0


#: The claims a member's curve may carry: name -> (what it says, its test on the curves of
#: every member, ``curves[k]`` the member's own).
CLAIMS: dict[str, tuple[str, Callable[[Curves, int], bool]]] = {
    "falls": ("falls at every epoch", _falls),
    "lowest": ("reaches the lowest cost", _lowest),
    "above": ("above the lowest curve in most epochs", _above),
    "rises": ("rises in some epoch (oscillates)", _rises),
}


@dataclass(frozen=True)
class Check:
    """One claim about one member's curve, and whether the curves bear it out.

    Attributes
    ----------
    member : int
        The member's index in the recipe's networks.
    claim : str
        A name of :data:`CLAIMS`.
    text : str
        What the claim says, in words.
    passed : bool
        Whether the measured curves satisfy it.
    """

    member: int
    claim: str
    text: str
    passed: bool


def check(claims: Sequence[Sequence[str]], curves: Curves) -> tuple[Check, ...]:
    """Every member's claims (``claims[k]`` for member k) evaluated on ``curves``.

    >>> [c.passed for c in check([["falls", "above"], ["lowest"], ["rises", "above"]],
    ...                          [[3, 2, 1], [2, 1, 0.5], [2, 2.5, 1.5]])]
    [True, True, True, True, True]
    >>> check([["lowest"], []], [[1, 0.9], [1, 0.5]])[0].passed
    False
    """
    if len(claims) != len(curves):
        raise ValueError(f"{len(claims)} members' claims for {len(curves)} curves")
    return tuple(Check(k, name, CLAIMS[name][0], bool(CLAIMS[name][1](curves, k)))
                 for k, names in enumerate(claims) for name in names)
