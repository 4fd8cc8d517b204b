"""The typed buttons of the check-in side, built by the domain and read by the handlers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.callbacks import CallbackData


@dataclass(frozen=True, slots=True)
class AlertButton(CallbackData, prefix="ca"):
    """An officer acknowledges a check-in alert."""

    alert_id: int


@dataclass(frozen=True, slots=True)
class CheckinButton(CallbackData, prefix="ci"):
    """An answer inside the consent or check-in flow: ``field`` and its ``value``."""

    field: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class AppointmentButton(CallbackData, prefix="ap"):
    """The person answers an appointment reminder: ``coming`` or ``cannot``."""

    appointment_id: int
    answer: str


@dataclass(frozen=True, slots=True)
class AttendanceButton(CallbackData, prefix="aa"):
    """The officer records afterwards whether the person came: ``attended`` or ``absent``."""

    appointment_id: int
    mark: str
