#!/usr/bin/env python3
# A worker whose source does not parse: Python prints the SyntaxError with the offending line
# and a caret, and no "Traceback" header.

# REBUILD-PADDING


def total(items):
    return sum(item.price for item in items


print(total([]))
