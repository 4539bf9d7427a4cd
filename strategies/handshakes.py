"""Variations of the opening handshakes real clients send (conformance/data/client_handshakes.toml)
that the RFCs make equivalent to them, so that a server must treat each like the original:

- field names in any case (RFC 9110 5.1: case-insensitive);
- the field lines in any order, several lines of one field kept in their order (RFC 9110 5.3: the
  order of lines with differing names is not significant);
- `Connection` tokens in any order and case, with `keep-alive` added (RFC 6455 4.2.1 item 4: the
  field *includes* the token `Upgrade`, ASCII case-insensitive; RFC 9110 7.6.1: a list);
- `Upgrade: websocket` in any case (RFC 6455 4.2.1 item 3);
- the offered subprotocols split over several `Sec-WebSocket-Protocol` lines, with optional
  whitespace around the commas (RFC 9110 5.3 and 5.6.1: one list, OWS around the delimiter);
- optional whitespace (SP or HTAB) before and after each field value (RFC 9112 5.1).
"""

from __future__ import annotations

from hypothesis import strategies as st

Line = tuple[str, str]  # a field line: name, value (without surrounding whitespace)

OWS = ("", " ", "  ", "\t")
LIST_DELIMITERS = (", ", ",", " , ", ",\t")


def _case_of(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from((text, text.lower(), text.upper(), text.swapcase()))


@st.composite
def _connection(draw: st.DrawFn, value: str) -> str:
    tokens = [token.strip() for token in value.split(",") if token.strip()]
    if "keep-alive" not in {token.lower() for token in tokens} and draw(st.booleans()):
        tokens.append("keep-alive")
    tokens = draw(st.permutations(tokens))
    return draw(st.sampled_from(LIST_DELIMITERS)).join(draw(_case_of(token)) for token in tokens)


@st.composite
def _protocol_lines(draw: st.DrawFn, offered: list[str]) -> list[str]:
    """The offers, in order, over one or more lines."""
    cuts = sorted(draw(st.sets(st.integers(1, len(offered) - 1))) if len(offered) > 1 else set())
    groups = [
        offered[start:end] for start, end in zip([0, *cuts], [*cuts, len(offered)], strict=True)
    ]
    return [draw(st.sampled_from(LIST_DELIMITERS)).join(group) for group in groups]


@st.composite
def variations(draw: st.DrawFn, lines: tuple[str, ...]) -> tuple[str, ...]:
    """A handshake's header lines (as the data file writes them: `Name: value`, placeholders
    kept) varied within what the RFCs make equivalent."""
    fields: list[Line] = []
    for line in lines:
        name, _, value = line.partition(":")
        fields.append((name.strip(), value.strip()))
    offered = [
        token.strip()
        for name, value in fields
        if name.lower() == "sec-websocket-protocol"
        for token in value.split(",")
        if token.strip()
    ]
    # Each field as a group of lines; the protocol lines become one group, where the first was.
    groups: list[list[Line]] = []
    for name, value in fields:
        lowered = name.lower()
        if lowered == "sec-websocket-protocol":
            if offered:
                groups.append([(name, text) for text in draw(_protocol_lines(offered))])
                offered = []
            continue
        if lowered == "connection":
            value = draw(_connection(value))
        elif lowered == "upgrade":
            value = draw(_case_of(value))
        groups.append([(name, value)])
    varied = []
    for group in draw(st.permutations(groups)):
        for name, value in group:
            before, after = draw(st.sampled_from(OWS)), draw(st.sampled_from(OWS))
            varied.append(f"{draw(_case_of(name))}:{before}{value}{after}")
    return tuple(varied)
