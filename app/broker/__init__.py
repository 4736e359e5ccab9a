"""Live updates between server processes (memory://, Redis), who runs the broadcaster; imports market/, neutral."""
