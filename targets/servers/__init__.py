"""Ways of serving an app. Each module here exports `TRANSPORTS`; this package collects them."""

from __future__ import annotations

import importlib
import pkgutil

from wsconform.targets.servers.base import TransportSpec


def all_transports() -> dict[str, TransportSpec]:
    """Every transport the suite knows, by name, in a stable order (in-process ones first)."""
    found: dict[str, TransportSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for spec in getattr(module, "TRANSPORTS", ()):
            if spec.name in found:
                raise RuntimeError(f"two modules define a transport named {spec.name!r}")
            found[spec.name] = spec
    order = ["inmemory", "testclient"]
    return dict(
        sorted(
            found.items(),
            key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]),
        )
    )
