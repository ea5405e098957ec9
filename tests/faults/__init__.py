"""Fault injection: pyrunc killed at every step of its commands."""
