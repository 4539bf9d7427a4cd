"""Credentials that must be refused, built around one that must be accepted.

Every flavour the contracts promise to refuse: missing, empty, wrong scheme, the scheme alone,
three words, the token with a prefix, suffix, inner whitespace or a character cut off, case
changes of the token, non-ASCII, 4 KiB of it, and, for JWTs, malformed, expired, unsigned
(`alg: none`), forged, or for another audience or issuer; crafted JWT headers (no `alg`,
`alg: none`, RS256 with no key) for any route. Scheme case variants are *valid*:
RFC 7235 section 2.1 makes the auth-scheme case-insensitive.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

from hypothesis import strategies as st

# Printable Latin-1: what an HTTP header value can carry (RFC 9110 5.5, obs-text included).
_header_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
    min_size=1,
    max_size=40,
)


LONG_TOKEN_CHARS = 4096
# What a server may refuse to read as one header line (websockets' and h11's 8 KiB).
HEADER_LINE_LIMIT = 8 * 1024


def named_mutations(valid: str) -> dict[str, str]:
    """Strings that are not `valid` but look like it, by the name of how each differs."""
    variants = {
        "empty": "",
        "last character cut": valid[:-1],
        "prefixed": f"x{valid}",
        "suffixed": f"{valid}x",
        "leading space": f" {valid}",
        "trailing space": f"{valid} ",
        "inner space": f"{valid[: len(valid) // 2]} {valid[len(valid) // 2 :]}",
        "upper case": valid.upper(),
        "swapped case": valid.swapcase(),
        "non-ASCII suffix": f"{valid}é",
        "non-ASCII first character": "ä" + valid[1:],
        # Long, yet within the 8 KiB a server may allow one header line (or a request line): a
        # token the server refuses to read never reaches the app, so it would judge the
        # server's header limit (upgrade.long-header-answered), not the route's auth.
        "4 KiB": "a" * LONG_TOKEN_CHARS,
    }
    return {name: token for name, token in variants.items() if token != valid}


def token_mutations(valid: str) -> st.SearchStrategy[str]:
    """Strings that are not `valid` but look like it."""
    variants = set(named_mutations(valid).values())
    random_tokens = _header_text.filter(lambda token: token != valid)
    return st.sampled_from(sorted(variants)) | random_tokens


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_payload(valid: str) -> str:
    """The valid token's own payload if it is a JWT (a forger's starting point), else one of
    ours: a crafted token is judged on its header, not on claims the route never sees."""
    parts = valid.split(".")
    if len(parts) == 3 and parts[1]:
        return parts[1]
    return _base64url(json.dumps({"sub": "mallory"}).encode())


def crafted_jwts(valid: str) -> dict[str, str]:
    """JWTs whose header is what careless verification trusts, by name; built by hand, since a
    JWT library refuses to make most of them. Each carries `valid`'s payload where it has one."""
    payload = _jwt_payload(valid)

    def with_header(header: object, signature: str) -> str:
        return f"{_base64url(json.dumps(header).encode())}.{payload}.{signature}"

    # A signature-shaped value no key made: the length of an RS256 signature (256 bytes).
    unsigned = _base64url(bytes(256))
    return {
        "jwt alg none": with_header({"alg": "none", "typ": "JWT"}, ""),
        "jwt header without alg": with_header({"typ": "JWT"}, unsigned),
        "jwt RS256 without a key": with_header({"alg": "RS256", "typ": "JWT"}, unsigned),
        "jwt header not an object": with_header(None, unsigned),
    }


def bad_token_flavours(valid: str) -> dict[str, str | None]:
    """Every flavour of bad bare token by name, one token each: none at all, the mutations of
    `valid`, and crafted JWTs. Each is tried on its own, so that one accepted flavour does not
    hide what another does to the route."""
    return {"missing": None, **named_mutations(valid), **crafted_jwts(valid)}


def bad_authorization_values(valid: str) -> st.SearchStrategy[str | None]:
    """Authorization header values a route accepting `Bearer <valid>` must refuse."""
    malformed = st.sampled_from(
        [
            "Bearer",
            "Bearer ",
            f"Bearer  {valid}",
            f"Bearer {valid} extra",
            f"Bearer{valid}",
            f"Basic {valid}",
            f"Token {valid}",
            valid,
            f"{valid} Bearer",
        ]
    )
    return st.none() | malformed | token_mutations(valid).map(lambda token: f"Bearer {token}")


def valid_authorization_values(valid: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [f"Bearer {valid}", f"bearer {valid}", f"BEARER {valid}", f"BeArEr {valid}"]
    )


def bad_tokens(valid: str) -> st.SearchStrategy[str | None]:
    """A bare token a route taking `valid` must refuse: none at all, or one that looks like it."""
    return st.none() | token_mutations(valid)


def bad_jwts(secret: str, audience: str, issuer: str) -> st.SearchStrategy[str]:
    """JWTs /secure/jwt must refuse, each wrong in exactly one way."""
    # Imported here: only the reference suite signs JWTs, and PyJWT is its requirement (the
    # `dev` extra), not one of every project wsconform is installed into.
    try:
        import jwt
    except ImportError as exc:
        raise ImportError(
            "the reference suite's bad JWTs need PyJWT: install wsconform[dev] or pyjwt"
        ) from exc

    now = int(datetime.now(timezone.utc).timestamp())
    good = {"sub": "mallory", "aud": audience, "iss": issuer, "iat": now, "exp": now + 300}

    def signed(claims: dict[str, object], key: str = secret, algorithm: str = "HS256") -> str:
        return jwt.encode(claims, key, algorithm=algorithm)

    without_exp = {key: value for key, value in good.items() if key != "exp"}
    wrong = [
        signed({**good, "exp": now - 60}),  # expired
        signed({**good, "aud": "someone-else"}),  # other audience
        signed({**good, "iss": "evil-issuer"}),  # other issuer
        signed(without_exp),  # no exp
        signed(good, key="not-the-secret-" + "fedcba9876543210" * 4),  # forged signature
        jwt.encode(good, "", algorithm="none"),  # unsigned, alg: none ("" means no key)
        signed(good, key=secret, algorithm="HS512"),  # an algorithm the route does not allow
        "not.a.jwt",
        "eyJhbGciOiJIUzI1NiJ9",
    ]
    header, payload, signature = signed(good).split(".")
    other_ending = "BB" if signature.endswith("AA") else "AA"
    wrong.append(f"{header}.{payload}.{signature[:-2]}{other_ending}")  # tampered signature
    return st.sampled_from(wrong) | _header_text.filter(lambda token: token.count(".") != 2)
