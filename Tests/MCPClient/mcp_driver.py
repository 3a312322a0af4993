"""Drives devicegate's MCP server with the official Python MCP SDK (`mcp` on PyPI).

The Swift integration tests (Tests/DeviceGateIntegrationTests/MCPTests.swift) run this script
and steer it: one JSON command per line on stdin, one JSON answer per line on stdout, so a test
can stop between calls (to approve a sign-in in the identity provider, say). Nothing here
decides whether a test passes; it only reports what the SDK saw.

    python mcp_driver.py stdio [--mode auto|legacy] -- COMMAND ARGS...
    python mcp_driver.py http URL [--mode auto|legacy]   # agent key from $MCP_AGENT_KEY

Commands: {"op": "list_tools"}, {"op": "call", "name": ..., "arguments": {...}}, {"op": "ping"},
{"op": "quit"}.
"""

import argparse
import json
import os
import sys

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "type", None) == "text")


async def handle(client, command):
    op = command.get("op")
    try:
        if op == "list_tools":
            tools = (await client.list_tools()).tools
            return {"tools": [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in tools]}
        if op == "call":
            result = await client.call_tool(command["name"], command.get("arguments") or {})
            return {"is_error": bool(result.is_error), "text": text_of(result), "structured": result.structured_content}
        if op == "ping":
            await client.send_ping()
            return {"ok": True}
        return {"driver_error": f"unknown op {op!r}"}
    except MCPError as error:
        return {"rpc_error": {"code": error.error.code, "message": error.error.message}}


async def run(args):
    if args.transport == "stdio":
        target = StdioServerParameters(command=args.command[0], args=args.command[1:], env=dict(os.environ))
    else:
        headers = {}
        if os.environ.get("MCP_AGENT_KEY"):
            headers["Authorization"] = "Bearer " + os.environ["MCP_AGENT_KEY"]
        http_client = httpx2.AsyncClient(headers=headers, timeout=60)
        target = streamable_http_client(args.url, http_client=http_client)
    async with Client(target, mode=args.mode, cache=None) as client:
        emit({"connected": True, "protocol_version": client.protocol_version, "server": client.server_info.name if client.server_info else None})
        while True:
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                break
            command = json.loads(line)
            if command.get("op") == "quit":
                break
            emit(await handle(client, command))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="transport", required=True)
    stdio = sub.add_parser("stdio")
    stdio.add_argument("--mode", default="auto")
    stdio.add_argument("command", nargs="+")
    http = sub.add_parser("http")
    http.add_argument("url")
    http.add_argument("--mode", default="auto")
    args = parser.parse_args()
    try:
        anyio.run(run, args)
    except Exception as error:  # reported, so the Swift test can show it
        emit({"driver_error": f"{type(error).__name__}: {error}"})
        sys.exit(1)


if __name__ == "__main__":
    main()
