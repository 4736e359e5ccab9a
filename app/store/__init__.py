"""Real market data: stores of imported and ingested bars, their feed (I/O); imports market/, neutral; not api/, ws/."""
