"""Constructs that more than one stack uses."""
