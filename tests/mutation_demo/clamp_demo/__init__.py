"""The module the mutation self-test mutates (tests/test_mutate.py). Its judge observes what
`clamp` and `countdown` return and never reads `seen`."""

from __future__ import annotations

seen: list[int] = []


def clamp(value: int, low: int, high: int) -> int:
    if value < low:
        return low
    return min(value, high)


def remember(value: int) -> None:
    seen.append(value)


def countdown(steps: int) -> int:
    while steps > 0:
        steps -= 1
    return steps
