"""Conformance vectors (SPEC.md §12): the cases, their generator and the checker."""
