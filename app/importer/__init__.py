"""CSV import into the store for the command line: imports market/, store/ and neutral ground; no aiohttp."""
