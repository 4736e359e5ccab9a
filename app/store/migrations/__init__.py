"""The store's versioned schema (SQL files per engine) and its runner: part of store/, imports as store/ does."""
