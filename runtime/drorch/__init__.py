"""drorch: disaster-recovery orchestration for AWS."""

__version__ = "0.1.0"
