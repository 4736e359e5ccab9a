"""REST and UDF handlers, errors, OpenAPI wiring; imports market/, schemas/, neutral ground; never ws/ or web/."""
