"""The shape every ARQIUM middleware shares: HTTP requests are handled, everything else
(WebSocket, lifespan) passes through untouched."""

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """A pure ASGI middleware for the HTTP requests it `applies_to`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.applies_to(scope):
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def applies_to(self, scope: Scope) -> bool:
        return True

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
