"""Fake AWS Elastic Disaster Recovery (DRS) for the sandbox."""
