"""Each measured figure of the runtime (the size of libbmx_runtime.so and of the libraries
beside it, the peak memory of running ResNet-18) lives in one markdown file, the section that
records how it was measured; the other documents link to it, so that a new measurement is
written once and no two documents disagree."""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = "smd_hpi/REPORT.md"
ANCHOR = "6a-size-and-memory"

FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:KiB|MiB)\b")


def _markdown_files():
    files = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    return [f for f in files if os.path.isfile(os.path.join(ROOT, f))]


def _paragraphs(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return re.split(r"\n\s*\n", f.read())


def _places(is_about):
    """The files with a paragraph (or table) that `is_about` and gives a KiB/MiB figure."""
    return sorted({path for path in _markdown_files() for p in _paragraphs(path)
                   if FIGURE.search(p) and is_about(p)})


def test_runtime_size_figures_are_in_one_file():
    assert _places(lambda p: "libbmx_runtime" in p or "XNNPACK + pthreadpool" in p) == [HOME]


def test_resnet18_memory_figures_are_in_one_file():
    def about_memory(p):
        return "ResNet-18" in p and re.search(r"peak|memory|resident", p, re.I)

    assert _places(about_memory) == [HOME]


def test_the_readmes_link_to_the_figures():
    with open(os.path.join(ROOT, HOME), encoding="utf-8") as f:
        assert "### 6a. Size and memory" in f.read()
    for path, link in (("README.md", f"smd_hpi/REPORT.md#{ANCHOR}"),
                       ("examples/deploy/README.md", f"../../smd_hpi/REPORT.md#{ANCHOR}")):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            assert f"]({link})" in f.read(), path
