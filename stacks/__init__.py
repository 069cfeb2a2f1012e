"""Pulumi components for drorch: the hub orchestration account and the staging accounts."""
