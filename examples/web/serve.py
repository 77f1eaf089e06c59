#!/usr/bin/env python
"""Serves the browser demo on 127.0.0.1 (make web-demo): the page of examples/web, the
WebAssembly runtime (build/web), the models (out/web/models) and onnxruntime-web
(build/web/node_modules), under one root, with the MIME types module scripts and WebAssembly
streaming need.

    python examples/web/serve.py [--port 8000]
"""
import argparse
import functools
import http.server
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# URL prefix -> folder; everything else comes from examples/web.
MOUNTS = {
    "/bmxnet/": os.path.join(ROOT, "build", "web"),
    "/models/": os.path.join(ROOT, "out", "web", "models"),
    "/ort/": os.path.join(ROOT, "build", "web", "node_modules", "onnxruntime-web", "dist"),
    "/bench/": os.path.join(ROOT, "smd_hpi", "web"),  # make bench-web's page
}
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".onnx": "application/octet-stream",
         ".params": "application/octet-stream", ".css": "text/css", ".html": "text/html"}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def translate_path(self, path):
        clean = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in MOUNTS.items():
            if clean.startswith(prefix):
                rel = os.path.normpath(clean[len(prefix):]).lstrip("/")
                if rel.startswith(".."):
                    return os.path.join(folder, "__outside__")
                return os.path.join(folder, rel)
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def make_server(port=0):
    """A threaded server on 127.0.0.1:port (0: any free port); call serve_forever()."""
    handler = functools.partial(Handler, directory=HERE)
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_in_background(port=0):
    """Starts a server on a thread; returns (server, base URL)."""
    server = make_server(port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args(argv)
    missing = [f for f in ("build/web/bmxnet.mjs", "out/web/models/models.json")
               if not os.path.exists(os.path.join(ROOT, f))]
    if missing:
        print(f"missing {', '.join(missing)}: run `make web web-models` first", file=sys.stderr)
        return 2
    try:
        server = make_server(args.port)
    except OSError as e:
        print(f"cannot listen on 127.0.0.1:{args.port} ({e.strerror}): pick another --port",
              file=sys.stderr)
        return 2
    print(f"bmxnet browser demo: http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops it)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
