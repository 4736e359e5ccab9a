"""Metrics, CORS, request and connection logs, log formats; imports market/ and neutral ground only."""
