"""Typed button data: one frozen dataclass per kind of button, packed as ``prefix:field:...``.

In the spirit of aiogram's ``CallbackData``. The 64-byte budget of the tightest platform is
checked when a button is built, so an oversized button fails in the test that builds it, not
when a platform refuses the message. Trailing empty fields are left out of the packed form, so
``ReportButton("send")`` packs to ``rp:send``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from bot.errors import BadCallback

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

BUDGET = 64
"""Telegram's limit on callback data in bytes, the tightest of our channels."""
SEPARATOR = ":"


class CallbackData:
    """Subclass as ``@dataclass(frozen=True) class Name(CallbackData, prefix="x")``; fields
    are ``str`` or ``int``."""

    __slots__ = ()
    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if prefix:
            if SEPARATOR in prefix:
                raise ValueError(f"button prefix {prefix!r} holds {SEPARATOR!r}")
            cls.prefix = prefix

    def pack(self) -> str:
        parts = [self.prefix]
        for field in dataclasses.fields(cast("DataclassInstance", self)):
            value = getattr(self, field.name)
            text = "" if value is None else str(value)
            if SEPARATOR in text:
                raise ValueError(f"{type(self).__name__}.{field.name} holds {SEPARATOR!r}")
            parts.append(text)
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        packed = SEPARATOR.join(parts)
        if len(packed.encode()) > BUDGET:
            raise ValueError(f"{type(self).__name__} packs to more than {BUDGET} bytes")
        return packed

    @classmethod
    def unpack(cls, data: str | None) -> Self:
        """The button behind ``data``; :class:`BadCallback` when it is not one of ours."""
        if not data or "\x00" in data or not data.isprintable() or not _encodes(data):
            raise BadCallback(cls.prefix)  # never ours: a forged or mangled press
        prefix, *values = data.split(SEPARATOR)
        fields = dataclasses.fields(cast("type[DataclassInstance]", cls))
        if prefix != cls.prefix or len(values) > len(fields):
            raise BadCallback(cls.prefix)
        hints = typing.get_type_hints(cls)
        arguments: dict[str, Any] = {}
        for field, text in zip(fields, values + [""] * (len(fields) - len(values)), strict=True):
            arguments[field.name] = _convert(hints[field.name], text, cls.prefix)
        return cls(**arguments)


def prefix_of(data: str) -> str:
    """The kind of button ``data`` is, plain string or packed :class:`CallbackData`."""
    return data.split(SEPARATOR, 1)[0]


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _convert(kind: Any, text: str, prefix: str) -> Any:
    if kind is int or kind == int | None:
        if not text:
            if kind is int:
                raise BadCallback(prefix)
            return None
        try:
            return int(text)
        except ValueError:
            raise BadCallback(prefix) from None
    return text
