"""The broker: how the broadcaster's updates reach every server process (in memory for one, Redis for several), and
which process runs the broadcaster. Imports nothing of ws/ or api/: topics are names, updates are encoded frames."""
