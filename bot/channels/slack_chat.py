"""chat.postMessage and chat.update, the two Web API calls made for every answer, as one
plain JSON POST on the channel's shared HTTP session.

slack_sdk's `api_call` costs about 0.2 ms of CPU per call on top of the HTTP request
(header and user-agent building, deprecation and proxy checks, retry bookkeeping, argument
conversion): with an edit and a next question per answer, that was a tenth of Parley's
CPU per answer under load. Everything else the channel calls goes through the client as
before. What callers see is unchanged: the response's fields, or slack_sdk's own
`SlackApiError` carrying the status code, headers (`Retry-After`) and body; connection
drops are retried twice, as the client's `AsyncConnectionErrorRetryHandler` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

__all__ = ["ChatCalls"]

_CONNECTION_RETRIES = 2
_RETRIED = (aiohttp.ServerConnectionError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


class ChatCalls:
    """The hot chat.* calls of one Slack client, over its session once it has one."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._headers = {
            "Authorization": f"Bearer {client.token}",
            "Content-Type": "application/json;charset=utf-8",
        }

    async def post_message(self, channel: str, text: str, blocks: list[Any]) -> Mapping[str, Any]:
        return await self._call("chat.postMessage", channel=channel, text=text, blocks=blocks)

    async def update(
        self, channel: str, ts: str, text: str, blocks: list[Any]
    ) -> Mapping[str, Any]:
        return await self._call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    async def _call(self, method: str, **arguments: Any) -> Mapping[str, Any]:
        session = self.client.session
        if session is None or session.closed:  # before start() or after close(): the client
            given = await self.client.api_call(method, json=arguments)
            return given.data if isinstance(given.data, dict) else {}
        url = urljoin(self.client.base_url, method)  # as the client builds it
        body = json.dumps(arguments).encode()
        for attempt in range(_CONNECTION_RETRIES + 1):
            try:
                async with session.post(url, data=body, headers=self._headers) as response:
                    status, headers, raw = response.status, response.headers, await response.read()
                break
            except _RETRIED:
                if attempt == _CONNECTION_RETRIES:
                    raise
        data = _decoded(raw)
        if status == 200 and data.get("ok"):
            return data
        failed = AsyncSlackResponse(
            client=self.client,
            http_verb="POST",
            api_url=url,
            req_args={"json": arguments},
            data=data,
            headers=headers,  # type: ignore[arg-type]  # case-insensitive, as the client's
            status_code=status,
        )
        message = f"The request to the Slack API failed. (url: {url}, status: {status})"
        raise SlackApiError(message, failed)  # type: ignore[no-untyped-call]


def _decoded(raw: bytes) -> dict[str, Any]:
    """The response body as a dict; an empty one when it is not JSON (a proxy's 502 page)."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
