"""Smoke tests: every quant through a real engine, checked the way users meet it."""
