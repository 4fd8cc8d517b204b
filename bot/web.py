"""The aiohttp web server: ``/healthz`` and the routes channels add (webhooks)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from sqlalchemy import text

from bot.store import Store


class WebServer:
    def __init__(self, store: Store, host: str, port: int) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None
        self._checks: dict[str, Callable[[], bool]] = {}

    def add_check(self, name: str, check: Callable[[], bool]) -> None:
        """Have ``/healthz`` report ``name`` down (503) whenever ``check()`` is false, so that
        an orchestrator restarts a process whose channel stopped taking updates."""
        self._checks[name] = check

    async def _healthz(self, _request: web.Request) -> web.Response:
        parts = {name: "ok" if check() else "down" for name, check in self._checks.items()}
        try:
            async with self.store.transaction() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            parts["database"] = "down"
        else:
            parts["database"] = "ok"
        healthy = all(state == "ok" for state in parts.values())
        return web.json_response({"status": "ok" if healthy else "degraded", **parts},
                                 status=200 if healthy else 503)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port: learn which one the OS gave us
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
