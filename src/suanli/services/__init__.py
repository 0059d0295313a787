"""Use cases. API, CLI, agents and dashboard all come in through these functions."""
