#!/usr/bin/env python3
# A C extension (here ctypes) reads address 8: with faulthandler enabled, the interpreter
# prints "Fatal Python error: Segmentation fault" and the Python stack before dying of SIGSEGV.
import ctypes
import faulthandler

# REBUILD-PADDING


def read_header(address):
    return ctypes.string_at(address, 16)


if __name__ == "__main__":
    faulthandler.enable()
    print("reader: starting", flush=True)
    read_header(8)
