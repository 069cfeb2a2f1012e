"""moto's response serializer, with the member look-ups it repeats remembered.

moto (5.x) writes most responses with one generic serializer (``moto.core.serialize``)
that walks the operation's output shape member by member. For every member of every
structure it asks its attribute picker which keys of the result object might hold the
value: it builds six alias providers, runs them, and tries each alias and its
``xform_name`` spelling in turn. A DynamoDB item is a tree of ``AttributeValue``
structures of ten members each, so a GetItem or Query answer makes thousands of these
look-ups; in an e2e drill the serializer was a third of all CPU.

The keys a member may be read from depend on nothing but:

* the member's name and its shape (and the structure that shape belongs to, its
  ``parent``, which moto sets before it reads a member);
* the class of the object read from (one alias strips the class's name); and
* that object's explicit alias for the member (``obj.Meta.serialization_aliases``),
  if it has one.

:func:`install` replaces ``ResponseSerializer.get_value`` with one that asks moto's own
picker for those keys once per combination of the above, keeps the answer, and then
reads the object exactly as moto's picker does (first key present wins; the picker's
response transformers, when it has any, are applied by the same key path). The
explicit alias is read on every call and is part of the cache key; nothing in the
cached answer comes from the object's values. So every response is built from the
same values under the same keys in the same order, and its bytes do not change:
tests/sandbox/test_serialization.py compares the wire bytes with and without it.

A structure read from a plain ``dict`` (every DynamoDB ``AttributeValue``, most
JSON-protocol results) also gets a plan, kept per structure shape: its members in order
with the keys each is read from (the same remembered keys), and which members each key
may be read for. ``_serialize_type_structure`` then visits only the members whose keys
the dict has, in the members' order, and serializes each exactly as moto would; a
member none of whose keys is in the dict is one moto reads as ``None`` and skips. (moto
sets each member's ``parent`` before it reads it; so does this, for the members it
reads. The others' ``parent`` is read by nothing until moto sets it again.) Only the
protocols that read a member as ``ResponseSerializer`` does take this path (REST ones
bind members to headers, and keep moto's loop), and only pickers without response
transformers (those may make something of a missing member).

Anything other than moto's ``XFormedAttributePicker`` with its default alias
providers (what every moto ``ActionResult`` uses) goes to moto's methods unchanged.
:func:`uninstall` puts moto's methods back.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_installed = False
_original: Any = None  # moto's ResponseSerializer.get_value
_original_structure: Any = None  # moto's ResponseSerializer._serialize_type_structure
_keys: dict[tuple[Any, ...], tuple[tuple[str, ...], bool]] = {}
_plans: dict[Any, Any] = {}  # structure shape -> how a dict is read for it (or None: as moto)
_MAX_KEYS = 100_000  # distinct (class, shape, member) combinations; far fewer in practice
_NONE = object()  # "no such attribute" / "no explicit alias"


def install() -> None:
    """Remember the keys moto's serializer reads each member from (once per process)."""
    global _installed, _original, _original_structure
    from moto.core import serialize
    from moto.core.serialize import (
        DEFAULT_ALIAS_PROVIDERS,
        AttributePickerContext,
        ResponseSerializer,
        XFormedAttributePicker,
    )
    from moto.core.utils import MISSING
    from moto.core.utils import get_value as read

    with _lock:
        if _installed:
            return
        original = ResponseSerializer.get_value
        original_structure = ResponseSerializer._serialize_type_structure
        moto_member = ResponseSerializer._serialize_structure_member
        providers = list(DEFAULT_ALIAS_PROVIDERS)

        def moto_picker(picker: Any) -> bool:
            return (
                picker.__class__ is XFormedAttributePicker
                and picker.alias_providers is DEFAULT_ALIAS_PROVIDERS
                and providers == DEFAULT_ALIAS_PROVIDERS
            )

        def possible_keys(
            self: Any, picker: Any, obj: Any, key: str, shape: Any
        ) -> tuple[tuple[str, ...], bool] | None:
            cls = obj.__class__
            explicit: Any = _NONE
            if cls is not dict:  # (a dict has no Meta)
                meta = getattr(obj, "Meta", _NONE)
                if meta is not _NONE:
                    aliases = getattr(meta, "serialization_aliases", _NONE)
                    if aliases is not _NONE and key in aliases:
                        explicit = aliases[key]
            cache_key = (cls, shape, getattr(shape, "parent", _NONE), key, explicit)
            found = _keys.get(cache_key)
            if found is None:
                context = AttributePickerContext(
                    obj=obj,
                    key=key,
                    shape=shape,
                    operation_model=self.operation_model,
                    service_model=self.operation_model.service_model,
                )
                try:  # moto reads its keys lazily and stops at the first one found
                    keys = tuple(picker.get_possible_keys(context))
                except Exception:  # an alias moto would not have reached fails: ask moto
                    return None
                plain = all(isinstance(k, str) and "." not in k for k in keys)
                found = (keys, plain)
                if len(_keys) >= _MAX_KEYS:
                    _keys.clear()
                _keys[cache_key] = found
            return found

        def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
            picker = self._value_picker
            if not moto_picker(picker):
                return original(self, value, key, shape)
            try:
                found_keys = possible_keys(self, picker, value, key, shape)
            except TypeError:  # an unhashable class or alias: as moto does it
                found_keys = None
            if found_keys is None:
                return original(self, value, key, shape)
            keys, plain = found_keys
            result: Any = None
            if plain and value.__class__ is dict:  # moto's read of a dict, without a KeyError
                for k in keys:
                    found = value.get(k, MISSING)
                    if found is not MISSING:
                        result = found
                        break
            else:
                for k in keys:
                    found = read(value, k, MISSING)
                    if found is not MISSING:
                        result = found
                        break
            transformers = picker.response_transformers
            if transformers:
                key_path = ".".join(self.path) + "." + key
                for transform_path, transform in transformers.items():
                    if key_path.endswith(transform_path):
                        result = transform(result)
                        break
            return result

        def plan(self: Any, picker: Any, shape: Any) -> Any:
            """For each member of the structure, in order: its name, its shape and the keys
            of a dict it is read from; and which members each key may be read for."""
            members = []
            by_key: dict[str, list[int]] = {}
            for index, (member_key, member_shape) in enumerate(shape.members.items()):
                member_shape.parent = shape  # what moto sets before it reads the member
                found = possible_keys(self, picker, {}, member_key, member_shape)
                if found is None or not found[1]:
                    return None
                members.append((member_key, member_shape, found[0]))
                for k in found[0]:
                    if index not in by_key.setdefault(k, []):
                        by_key[k].append(index)
            return members, by_key

        def serialize_structure(
            self: Any, serialized: Any, value: Any, shape: Any, key: str
        ) -> None:
            picker = self._value_picker
            cls = self.__class__
            if (
                value.__class__ is not dict
                or picker.response_transformers
                or not moto_picker(picker)
                or cls._serialize_structure_member is not moto_member
                or cls.get_value is not get_value
            ):
                return original_structure(self, serialized, value, shape, key)
            try:
                found = _plans[shape]
            except KeyError:
                found = plan(self, picker, shape)
                if len(_plans) >= _MAX_KEYS:
                    _plans.clear()
                _plans[shape] = found
            if found is None:
                return original_structure(self, serialized, value, shape, key)
            members, by_key = found
            if len(value) < len(members):  # only the members one of the dict's keys may be
                read: Any = sorted({i for k in value if k in by_key for i in by_key[k]})
                read = [members[i] for i in read]
            else:
                read = members
            wrapper = self.MAP_TYPE() if key else serialized
            for member_key, member_shape, keys in read:
                member_shape.parent = shape
                for k in keys:  # the first key the dict has, as moto's picker reads it
                    member_value = value.get(k, MISSING)
                    if member_value is not MISSING:
                        if member_value is not None:
                            self._serialize(wrapper, member_value, member_shape, member_key)
                        break
            if key:
                self._default_serialize(serialized, wrapper, shape, key)

        assert serialize.ResponseSerializer is ResponseSerializer
        _original = original
        _original_structure = original_structure
        ResponseSerializer.get_value = get_value  # type: ignore[method-assign]
        ResponseSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]
        _installed = True


def uninstall() -> None:
    """Put moto's own methods back (the tests compare the two)."""
    global _installed
    from moto.core.serialize import ResponseSerializer

    with _lock:
        if not _installed:
            return
        ResponseSerializer.get_value = _original  # type: ignore[method-assign]
        ResponseSerializer._serialize_type_structure = _original_structure  # type: ignore[method-assign]
        _keys.clear()
        _plans.clear()
        _installed = False
