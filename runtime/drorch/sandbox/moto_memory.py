"""moto's record of every model object, held weakly.

moto appends each object of a model class (every DynamoDB item, S3 object, EC2
instance, and every copy of one) to a list on its class, ``instances_tracked``, and
never takes it out: its dashboard lists them, and S3's reset closes the objects'
buffers. Nothing else reads them. In a long sandbox that list keeps every object
that was ever made, including each copy moto takes of a DynamoDB item to update it:
a drill of 1,000 servers grew to several GiB. :func:`install` makes each class's
list a weak one, so an object lives as long as the backend holds it, and the
dashboard and S3's reset still see every object that does.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

_lock = threading.Lock()
_installed = False


class WeakInstances:
    """The objects of one model class that are still alive, by identity (a model object
    may be unhashable, or hash on fields its ``__init__`` has not set yet), kept weakly."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._alive: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            self._alive[id(instance)] = instance
        except TypeError:  # a class without weak references: not tracked (only listed by moto)
            pass

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._alive.values()))

    def __len__(self) -> int:
        return len(self._alive)


def _weak(cls: type) -> WeakInstances:
    tracked = cls.__dict__.get("instances_tracked")
    if isinstance(tracked, WeakInstances):
        return tracked
    weak = WeakInstances(tracked or ())
    type.__setattr__(cls, "instances_tracked", weak)
    return weak


def install() -> None:
    """Every moto model class, those already imported and those imported later, and after
    moto's own reset, tracks its objects weakly."""
    global _installed
    from moto.core.common_models import BaseModel

    with _lock:
        if _installed:
            return
        make = BaseModel.__new__

        def new(cls: type, *args: Any, **kwargs: Any) -> Any:
            _weak(cls)
            return make(cls, *args, **kwargs)

        BaseModel.__new__ = new  # type: ignore[method-assign,assignment]
        _installed = True
