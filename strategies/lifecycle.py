"""Hypothesis strategies for websocket lifecycles: payloads, close codes and reasons,
subprotocol offers, header sets, and the steps both sides may take."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st
from wsconform.conformance.engine.rfc6455 import MAX_CLOSE_REASON_BYTES, NEVER_ON_THE_WIRE
from wsconform.conformance.engine.vocabulary import (
    Accept,
    ClientClose,
    Close,
    Connect,
    RaiseWebSocketException,
    SendBytes,
    SendDenialResponse,
    SendJson,
    SendText,
)

# Text that exercises UTF-8 encoding: any code point a str may hold except lone surrogates,
# which cannot be encoded (the astral plane included).
# Texts that break careless code, drawn often: emptiness, surrounding whitespace, astral plane.
EDGE_TEXTS = ("", " ", "  padded  ", "\t\n", "\r\n", "𝄞🌍", "\x00", "\u200b", "é" * 64)
texts = st.sampled_from(EDGE_TEXTS) | st.text(
    st.characters(exclude_categories=["Cs"]), max_size=200
)
binaries = st.binary(max_size=2048)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


# Close reasons fit a close frame by construction (RFC 6455 5.5: 123 UTF-8 bytes at most), so no
# example is thrown away: up to 30 code points of any width, or long ASCII up to the very limit.
close_reasons = st.text(st.characters(exclude_categories=["Cs"]), max_size=30) | st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    min_size=100,
    max_size=MAX_CLOSE_REASON_BYTES,
)

# Codes an endpoint may put in a close frame (RFC 6455 7.4), weighted towards the common ones.
valid_close_codes = st.sampled_from(
    [1000, 1001, 1003, 1007, 1008, 1009, 1011, 1012, 1013]
) | st.integers(3000, 4999)
# Codes that must never reach the wire: reserved, reporting-only, HTTP statuses, out of range.
invalid_close_codes = st.sampled_from(sorted(NEVER_ON_THE_WIRE)) | st.sampled_from(
    [0, 401, 403, 999, 2000, 5000]
)

_token_chars = string.ascii_lowercase + string.digits + "-."
tokens = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_lowercase + string.digits),
    st.text(st.sampled_from(_token_chars), max_size=11),
)
subprotocol_offers = st.lists(tokens, max_size=3, unique=True).map(tuple)

# Header names the servers will not treat specially; values of visible ASCII.
header_names = tokens.map(lambda name: f"x-{name}")
header_values = st.text(
    st.sampled_from(string.ascii_letters + string.digits + " -_.:/"), max_size=30
).map(str.strip)
header_sets = st.lists(
    st.tuples(header_names, header_values), max_size=3, unique_by=lambda h: h[0]
).map(tuple)
queries = st.sampled_from(["", "room=lobby", "token=abc&user_id=7", "q=%F0%9F%8C%8D"])

connects = st.builds(Connect, query=queries, headers=header_sets, subprotocols=subprotocol_offers)


def accepts(offered: tuple[str, ...]) -> st.SearchStrategy[Accept]:
    """The app may only pick a subprotocol the client offered (RFC 6455 4.2.2)."""
    return st.builds(Accept, subprotocol=st.sampled_from((None, *offered)), headers=header_sets)


app_sends = st.one_of(
    st.builds(SendText, texts), st.builds(SendBytes, binaries), st.builds(SendJson, json_values)
)
app_closes = st.builds(Close, code=valid_close_codes, reason=close_reasons) | st.builds(
    Close, code=invalid_close_codes, reason=st.just("")
)
app_websocket_exceptions = st.builds(
    RaiseWebSocketException, code=valid_close_codes, reason=close_reasons
)
app_denials = st.builds(
    SendDenialResponse,
    status=st.sampled_from([400, 401, 403, 404, 429, 500]),
    body=st.binary(max_size=64),
)

client_closes = st.builds(
    ClientClose, code=st.none() | valid_close_codes, reason=close_reasons
).map(
    # A close frame without a code cannot carry a reason (RFC 6455 5.5.1).
    lambda close: close if close.code is not None else ClientClose(None, "")
)
