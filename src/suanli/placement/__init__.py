"""Quotes for one request; batch assignment for many; policies."""
