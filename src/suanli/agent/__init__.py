"""The site agent loop and its scheduler backends."""
