#!/usr/bin/env python3
# An order handler parses a payload that never arrived: json.loads(None) raises TypeError
# inside the standard library, so the traceback's innermost frame is json's, not ours.
import json
import sys

# REBUILD-PADDING


def parse_order(payload):
    order = json.loads(payload)
    return order["id"]


def handle(request):
    print(f"orders: handling {request['path']}", flush=True)
    return parse_order(request.get("body"))


if __name__ == "__main__":
    print("orders: ready", file=sys.stderr)
    handle({"path": "/orders/81723"})
