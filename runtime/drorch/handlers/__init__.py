"""Lambda handlers: one module per function (``drorch.handlers.<key>.handler``), each thin.

Each parses its event, calls :mod:`drorch.engine`, and returns the small payload
of docs/engine-design.md. Errors the state machines catch by name are raised as
the classes in :mod:`drorch.engine.errors`.
"""
