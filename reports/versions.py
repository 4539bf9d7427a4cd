"""Print the versions the suite would record for this environment (`tox -e compat` shows them
before running, so a pin that did not take is seen at once)."""

from __future__ import annotations

from wsconform.conformance.engine.results import environment


def main() -> None:
    print("versions under test: " + ", ".join(f"{k} {v}" for k, v in environment().items()))


if __name__ == "__main__":
    main()
