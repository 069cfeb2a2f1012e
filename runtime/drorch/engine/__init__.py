"""The engine's logic: plain functions the Lambda handlers call (docs/engine-design.md)."""
