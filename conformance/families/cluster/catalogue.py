"""The cluster family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`).

No RFC or ASGI text speaks of several instances: every check here is the suite's policy, taken
from the seeds' scaling advice (a connection belongs to one instance; a broadcast must cross
instances through a pub/sub broker) and from what a chat promises its members.
"""

from __future__ import annotations

from wsconform.conformance.engine.checks import Check, Grade, Layer

SEEDS_ADVICE = "policy; the seeds' scaling advice (a Redis pub/sub channel across instances)"

# --- a crowd spread over the instances (conformance/families/cluster/probes.py) ---------------
DELIVERY_CHECKS: tuple[Check, ...] = (
    Check(
        "cluster.broadcast-reaches-every-instance",
        Grade.POLICY,
        "a chat message reaches every live member, on every instance",
        "Suite policy: served by several instances, a room is still one room: a member's "
        "message reaches every other live member whichever instance holds its connection. An "
        "in-memory connection manager reaches only the members of its own instance.",
        SEEDS_ADVICE,
        Layer.APP,
    ),
    Check(
        "cluster.delivered-once-in-order",
        Grade.POLICY,
        "every member hears each message once, and each sender's messages in order",
        "Suite policy: no message is delivered twice (an instance that delivers locally and "
        "again from its own subscription does) and a sender's messages arrive in the order "
        "sent, on every instance.",
        SEEDS_ADVICE,
        Layer.APP,
    ),
    Check(
        "cluster.notices-cross-instances",
        Grade.POLICY,
        "join and leave notices reach the members on other instances",
        "Suite policy: the room's own notices (someone joined, someone left) cross instances "
        "like messages do. Not judged where messages themselves do not cross (one cause).",
        SEEDS_ADVICE,
        Layer.APP,
    ),
    Check(
        "cluster.presence-agrees",
        Grade.POLICY,
        "every instance counts the same members online (GET /chatroom/stats)",
        "Suite policy: where the chat offers presence, every instance answers the same count, "
        "the room's live members, not its own share of them. Not judged where messages do not "
        "cross instances (one cause), nor where the app has no stats route.",
        SEEDS_ADVICE + "; the seeds' presence question",
        Layer.APP,
    ),
)

# --- faults, each on a cluster of its own ------------------------------------------------------
FAULT_CHECKS: tuple[Check, ...] = (
    Check(
        "cluster.fault.killed-instance-clients-see-end",
        Grade.POLICY,
        "the clients of a SIGKILLed instance see their connection end within 2 s",
        "Suite policy: when an instance dies, its clients learn it (a close, or a drop without "
        "a close frame: the verdict's detail says which), so that they can reconnect to "
        "another instance; none is left waiting on a dead connection.",
        "policy; RFC 6455 7.1.5 (1006: the connection was closed abnormally)",
        Layer.APP,
    ),
    Check(
        "cluster.fault.survivors-keep-delivering",
        Grade.POLICY,
        "after one instance is killed, the others' members still hear each other",
        "Suite policy: one instance's death does not stop delivery among the members of the "
        "instances that live on.",
        SEEDS_ADVICE,
        Layer.APP,
    ),
    Check(
        "cluster.fault.broker-restart-resumes-or-tells",
        Grade.POLICY,
        "after the broker restarts, delivery resumes within 5 s or the clients are told",
        "Suite policy: a broker restart drops every subscription; each member either hears "
        "messages again within the bound (its instance subscribed again) or is told with a "
        "close; messages that silently reach nobody are the failure. Nothing may hang.",
        SEEDS_ADVICE,
        Layer.APP,
    ),
    Check(
        "cluster.fault.slow-member-does-not-stall",
        Grade.POLICY,
        "a member that never reads does not stall delivery to the others",
        "Suite policy: one member whose socket is full (it never reads) does not hold up "
        "the messages of the others, on its instance or through the broker.",
        SEEDS_ADVICE,
        Layer.APP,
    ),
)

# What the registry collects from this family.
CHECKS = DELIVERY_CHECKS + FAULT_CHECKS
