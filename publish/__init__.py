"""publish: lint, render, push and smoke-test GGUF releases for Ollama and llama.cpp."""

__version__ = "0.1.0"
