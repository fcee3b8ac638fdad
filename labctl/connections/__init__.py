"""connections package."""
