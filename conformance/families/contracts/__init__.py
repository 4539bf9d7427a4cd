"""The reference endpoints' contracts (the seeds' routes), the framework surface and the chat
room."""
