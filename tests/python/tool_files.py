"""Files the tests feed the tools: a PNG written with zlib alone, a hand-made model (symbol JSON
and params), and the built C programs."""

import json
import os
import subprocess
import zlib

import pytest

from bmxnet import deploy, params_io


def write_png(path, pixels):
    """An 8-bit PNG of `pixels` ((h, w) gray or (h, w, 3) RGB, uint8) written with zlib alone."""
    h, w = pixels.shape[:2]
    color = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, color, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def built_program(name):
    """Path of the example program `name` (deploy.find_exe); the test skips, saying why, when it
    is not built."""
    try:
        return deploy.find_exe(name)
    except FileNotFoundError as e:
        pytest.skip(str(e))


def run_tool(*args, env=None):
    """Runs a program (arguments made strings) and returns its CompletedProcess, output as text."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env=env)


def symbol_node(op, name, inputs=(), attrs=None):
    """One node of an MXNet symbol JSON; `inputs` are node indices (output 0 of each)."""
    node = {"op": op, "name": name, "inputs": [[i, 0, 0] for i in inputs]}
    if attrs:
        node["attrs"] = attrs
    return node


def write_model(directory, nodes, params):
    """net-symbol.json (the last node its head, every "null" node an argument) and
    net-0000.params in `directory`; returns (symbol file, params file)."""
    graph = {"nodes": nodes,
             "arg_nodes": [i for i, node in enumerate(nodes) if node["op"] == "null"],
             "heads": [[len(nodes) - 1, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}
    symbol_file = os.path.join(directory, "net-symbol.json")
    params_file = os.path.join(directory, "net-0000.params")
    with open(symbol_file, "w") as f:
        json.dump(graph, f)
    params_io.save(params_file, params)
    return symbol_file, params_file
