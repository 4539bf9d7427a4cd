"""The lifecycle family: the puppet driven through every ordering of
accept/send/receive/close/raise/return/drop, judged by the engine's model."""
