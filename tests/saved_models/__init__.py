"""Tests of the `saved_models` package."""
