"""GGUF headers: read (reader.py), check (rules.py), repair (fix.py)."""
