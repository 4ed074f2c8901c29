"""Tests of the `layers` package."""
