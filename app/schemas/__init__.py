"""Marshmallow schemas, one source for validation, OpenAPI and AsyncAPI; imports market/ and neutral ground."""
