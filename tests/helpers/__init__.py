"""Helpers shared by the tests, one concept per module; pytest fixtures live in tests/conftest.py."""
