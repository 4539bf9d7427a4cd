"""A chat app with rooms, a broker connected at startup and one real bug."""
