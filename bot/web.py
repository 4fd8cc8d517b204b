"""The aiohttp web server: ``/healthz`` and the routes channels add (webhooks)."""

from __future__ import annotations

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

    async def _healthz(self, _request: web.Request) -> web.Response:
        try:
            async with self.store.transaction() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return web.json_response({"status": "degraded", "database": "down"}, status=503)
        return web.json_response({"status": "ok", "database": "ok"})

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
