"""Reading a JSON body at the hotline's edges (the Telegram webhook, the web chat): a size limit and a
nesting limit, so that an oversized or deeply nested body is a clear 413 or 400 and never a 500 (or a
RecursionError deep inside a validator)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_DEPTH = 32  # a Telegram update nests about 8 deep (a reply inside a message inside an update)


def _error(status: int, message: str) -> web.HTTPException:
    body = json.dumps({"error": message})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=body, content_type="application/json")
    return web.HTTPBadRequest(text=body, content_type="application/json")


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0); without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


async def read_json(request: web.Request, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The request's JSON body; raises a JSON 413 when it is larger than `max_bytes` and a JSON 400 when
    it is not JSON (or not UTF-8) or nests deeper than `max_depth`."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise _error(413, f"the body is larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):  # a chunked body has no length up front
        body += chunk
        if len(body) > max_bytes:
            raise _error(413, f"the body is larger than {max_bytes} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _error(400, f"the body is not JSON: {str(exc)[:120]}") from exc
    if depth(data) > max_depth:
        raise _error(400, f"the JSON nests deeper than {max_depth} levels")
    return data
