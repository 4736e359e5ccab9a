"""WebSocket transport, connections, hub, protocol, broadcaster; imports market/, schemas/, neutral; not api/, web/."""
