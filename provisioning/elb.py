"""Placeholder: filled in by the next commits of issue #3."""

from __future__ import annotations
