"""What a stack's layer changes: a stack (`nginx`, `hypercorn+tls`) beside the transport serving
the same server without its layer, run alike. A verdict that differs between the two is the
layer's, not the server's; the docs' divergences page and the HTML report both show it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wsconform.conformance.checks import Verdict
from wsconform.targets.servers import all_transports

# Said wherever a layer's differences include a shutdown check.
SHUTDOWN_MODE_NOTE = (
    "A `shutdown.*` difference may be the process mode's rather than the layer's: a stack runs "
    "its server in a process of its own, stopped by SIGTERM, where its base transport may run "
    "in a thread and stop in-process (docs/transports.md)."
)


@dataclass(frozen=True)
class LayerChanges:
    stack: str  # the transport with the layer
    layer: str  # what the layer is: "proxy (nginx)", "TLS"
    over: str  # the transport serving the same server without it
    checks: tuple[str, ...]  # the checks whose verdict differs between the two

    @property
    def label(self) -> str:
        return layer_label(self.layer, self.over)


def layer_label(layer: str, over: str) -> str:
    """How a stack is named beside its server: "TLS over hypercorn"."""
    return f"{layer} over {over}"


def stack_labels(servers: Iterable[str]) -> dict[str, str]:
    """For each of `servers` that adds a layer over another transport, its `layer_label`."""
    known = all_transports()
    return {
        server: layer_label(layer.name, layer.over)
        for server in servers
        if server in known and (layer := known[server].stack_layer) is not None
    }


def process_mode_note(changes: Iterable[LayerChanges]) -> str | None:
    """SHUTDOWN_MODE_NOTE where a layer's differences include a shutdown check, else None."""
    touched = any(check.startswith("shutdown.") for stack in changes for check in stack.checks)
    return SHUTDOWN_MODE_NOTE if touched else None


def layer_changes(
    servers: Sequence[str],
    check_ids: Sequence[str],
    by_pair: Mapping[tuple[str, str], Mapping[str, Any]],
) -> list[LayerChanges]:
    """Per stack of `servers` whose base transport ran too, the checks judged on both whose
    verdicts differ. A check left unjudged on one of the two (`unimplemented`) is no
    difference: what a transport leaves unjudged is its process mode (docs/transports.md),
    not the layer."""
    known = all_transports()
    changes = []
    for server in servers:
        layer = known[server].stack_layer if server in known else None
        if layer is None or layer.over not in servers:
            continue
        differing = tuple(
            check
            for check in check_ids
            if (before := by_pair.get((check, layer.over))) is not None
            and (after := by_pair.get((check, server))) is not None
            and before["verdict"] != after["verdict"]
            and Verdict.UNIMPLEMENTED.value not in (before["verdict"], after["verdict"])
        )
        changes.append(LayerChanges(server, layer.name, layer.over, differing))
    return changes
