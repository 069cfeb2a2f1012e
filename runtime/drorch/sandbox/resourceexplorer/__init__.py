"""Fake AWS Resource Explorer (resource-explorer-2) for the sandbox."""
