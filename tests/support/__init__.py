"""Test support shared by several test layers."""
