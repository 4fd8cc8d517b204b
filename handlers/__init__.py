"""Channel-neutral conversation logic, one module per conversation.

Handlers never import a platform SDK: they read
:class:`bot.conversation.messages.Incoming` and answer through
:class:`bot.conversation.routing.Context`.
"""

from __future__ import annotations

from bot.conversation.routing import Router


def routers() -> list[Router]:
    """Every router, in the order the dispatcher consults them."""
    from bot.conversation import menus
    from handlers import (
        appointment,
        checkin,
        deadlines,
        enroll,
        faq,
        officer,
        report,
        start,
        status,
    )

    return [menus.router, officer.router, enroll.router, appointment.router, deadlines.router,
            start.router, report.router, status.router, checkin.router, faq.router]
