"""A model field sealed under its record's data key (see privacy.keys).

In Python the attribute holds the plain value; in the database it holds only
``k<key id>.<ciphertext>``. The record (or the record it belongs to, e.g. an incident's
note) must carry a data key: ``SealedModel`` creates one on first save. Sealing needs
the record, so a bulk ``.update()`` may only blank a sealed field, never set a value:
that would write plain text, and the field refuses it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from spotline.privacy.keys import Shredded, is_sealed, key_create, seal_under, unseal_under


class SealedField(models.TextField):  # type: ignore[type-arg]
    """Sealed text; ``as_float`` stores a float (a coordinate) the same way."""

    # What the attribute holds in Python: plain text, or a float with as_float.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, context: str = "", key_from: str = "data_key_id",
                 as_float: bool = False, **kwargs: Any) -> None:
        self.context, self.key_from, self.as_float = context, key_from, as_float
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(context=self.context, key_from=self.key_from, as_float=self.as_float)
        return name, path, args, kwargs

    def _context(self, model: Any) -> str:
        return self.context or f"{model._meta.label_lower}.{self.name}"

    def _key_id(self, instance: Any) -> str | None:
        obj = instance
        for part in self.key_from.split("."):
            obj = getattr(obj, part)
        return obj  # type: ignore[no-any-return]

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return value
        key_id = self._key_id(model_instance)
        if key_id is None:
            raise ValueError(f"{model_instance._meta.label}.{self.name}: the record has no "
                             "data key (inherit SealedModel, or give its parent one)")
        plain = repr(float(value)) if self.as_float else str(value)
        return seal_under(key_id, plain, context=self._context(model_instance))

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        if isinstance(value, str) and is_sealed(value):
            return value
        raise ValueError(f"{self.name} is sealed: save the record, do not update it in bulk")

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        if not is_sealed(value):
            # Written before fields were sealed; migration 0008 of dispatch seals those.
            return float(value) if self.as_float else value
        try:
            plain = unseal_under(value, context=self._context(self.model))
        except Shredded:
            return None if self.null else ""
        if self.as_float:
            return float(plain)
        return plain

    def to_python(self, value: Any) -> Any:
        if self.as_float and value not in (None, ""):
            return float(value)
        return value


class SealedModel(models.Model):
    """A record with a data key of its own, created when it first has a value to seal."""

    # The key's name (to_field="kid"), which is also what sealed values carry.
    data_key = models.ForeignKey("privacy.DataKey", to_field="kid", null=True, blank=True,
                                 editable=False, on_delete=models.SET_NULL, db_constraint=True,
                                 related_name="+")

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.key_if_needed():
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "data_key"}
        super().save(*args, **kwargs)

    def key_if_needed(self) -> bool:
        """Give the record its data key if it has something to seal and no key yet (a
        row with nothing sealed needs none). True when a key was made."""
        if self.data_key_id is None and any(
                isinstance(f, SealedField) and f.key_from == "data_key_id"
                and getattr(self, f.attname) not in (None, "")
                for f in self._meta.concrete_fields):
            self.data_key_id = key_create(now=timezone.now())
            return True
        return False
