"""Build helpers that run in the checkout, never in the server: the one file's launcher and its assembly."""
