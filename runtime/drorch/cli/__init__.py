"""The ``drorch`` command line (not deployed to Lambda)."""
