"""Metrics, request and connection logs, log formats; imports market/ and neutral ground, never api/, ws/ or web/."""
