"""Test support shared by the test layers: harnesses and fixtures' building blocks."""
