"""Tests of the replay of stored history on the server's one clock."""
