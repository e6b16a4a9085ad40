"""Analysis tools (sensitivity, bistability, digital twin)."""
