"""Tests of live trade ingest: the bars trades build (market/trades.py), the route, the live stream and the store."""
