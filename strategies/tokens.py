"""Credentials that must be refused, built around one that must be accepted.

Every flavour the contracts promise to refuse: missing, empty, wrong scheme, the scheme alone,
three words, the token with a prefix, suffix, inner whitespace or a character cut off, case
changes of the token, non-ASCII, 8 KiB of it, and, for JWTs, malformed, expired, unsigned
(`alg: none`), forged, or for another audience or issuer. Scheme case variants are *valid*:
RFC 7235 section 2.1 makes the auth-scheme case-insensitive.
"""

from __future__ import annotations

from datetime import datetime, timezone

import jwt
from hypothesis import strategies as st

# Printable Latin-1: what an HTTP header value can carry (RFC 9110 5.5, obs-text included).
_header_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
    min_size=1,
    max_size=40,
)


def token_mutations(valid: str) -> st.SearchStrategy[str]:
    """Strings that are not `valid` but look like it."""
    cut = valid[:-1]
    variants = {
        "",
        cut,
        f"x{valid}",
        f"{valid}x",
        f" {valid}",
        f"{valid} ",
        f"{valid[: len(valid) // 2]} {valid[len(valid) // 2 :]}",
        valid.upper(),
        valid.swapcase(),
        f"{valid}é",
        "ä" + valid[1:],
        "a" * 8192,
    }
    variants.discard(valid)
    random_tokens = _header_text.filter(lambda token: token != valid)
    return st.sampled_from(sorted(variants)) | random_tokens


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
