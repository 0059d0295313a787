"""Request bodies and JSON views shared by the API and the CLI (pydantic; no I/O)."""
