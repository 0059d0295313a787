"""The domain core: plain Python, no framework imports. Everything else depends on it."""
