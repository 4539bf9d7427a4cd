"""Facts from RFC 6455 that several checks and drivers need."""

from __future__ import annotations

# Section 5.5: control frames carry at most 125 payload bytes; a close frame spends 2 on the code.
MAX_CLOSE_REASON_BYTES = 123

# Section 7.4.1 defines these; 1004 is reserved and 1005, 1006 and 1015 are reserved for
# reporting and "MUST NOT be set as a status code in a Close control frame by an endpoint".
_DEFINED_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})
# Registered with IANA after the RFC (service restart, try again later, bad gateway).
_IANA_REGISTERED = frozenset({1012, 1013, 1014})
NEVER_ON_THE_WIRE = frozenset({1004, 1005, 1006, 1015})
# The codes a keyword forbids in a close frame (7.4.1: MUST NOT); below 1000 is only "not used"
# and 1004 only "reserved" (7.4.2), with no keyword.
FORBIDDEN_ON_THE_WIRE = frozenset({1005, 1006, 1015})


def is_valid_wire_close_code(code: int) -> bool:
    """Section 7.4.2: below 1000 is unused, 1000-2999 belongs to the protocol, 3000-3999 to
    registered libraries and frameworks, 4000-4999 to applications; 5000+ is not a close code."""
    return code in _DEFINED_SENDABLE or code in _IANA_REGISTERED or 3000 <= code <= 4999
