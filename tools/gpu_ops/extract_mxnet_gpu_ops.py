#!/usr/bin/env python3
"""Lists the operators of an MXNet source tree that have a GPU implementation.

No GPU is needed: the list is read from MXNet's C++ sources as the CUDA wheels compile them
(mxnet-cu112 1.9.1: config/distribution/linux_cu112.cmake), so that bmxnet's tests can check,
on any machine, that every training graph runs on a GPU with the stock CUDA wheel.

An operator counts as GPU-capable when, in a compiled source file (src/**/*.cc, src/**/*.cu):

  * an ``NNVM_REGISTER_OP(name)`` registration sets ``"FCompute<gpu>"``, ``"FComputeEx<gpu>"``,
    ``"FStatefulCompute<gpu>"`` or ``"FStatefulComputeEx<gpu>"``. Registrations written through
    function-like macros are expanded first: the macros a .cu/.cc file defines itself (e.g.
    MXNET_OPERATOR_REGISTER_SAMPLE_GPU in random/sample_op.cu) and every macro of src/ and
    include/ headers that (directly or through another macro) registers an op or an alias
    (e.g. MXNET_OPERATOR_REGISTER_BINARY_BROADCAST, MXNET_ADD_SPARSE_OP_ALIAS). Adjacent string
    literals are joined, so ``"FCompute<" #xpu ">"`` with xpu=gpu counts too. Registrations in
    .cc files count as well: that is where _CachedOp, _copyto, Custom and the control-flow ops
    get their GPU attribute.
  * it is a legacy operator: a .cu file defines ``CreateOp<gpu>``, and the .cc file of the same
    base name registers ``MXNET_REGISTER_OP_PROPERTY(Name, Prop)``. MXNet (legacy_op_util.cc)
    gives such an op and its gradient ``_backward_Name`` their GPU attributes at run time,
    and they dispatch to ``CreateOp<gpu>``; both names are listed.

Names are canonical: a registration under an alias (``.add_alias("x")`` anywhere in an op's
registrations) is listed under the op's own name, which is what graphs store. The aliases of
the listed ops follow in the output as ``alias -> name`` lines.

Preprocessor conditionals (#if/#ifdef/#elif/#else) are evaluated with the macros the wheel's
build defines (WHEEL_MACROS below; e.g. MXNET_USE_TVM_OP is off there, so the TVM ops are not
listed). A registration under a condition that names a macro WHEEL_MACROS does not know is an
error, so a new dependency is never guessed. Not covered: plugin/ (not compiled into the
wheel), ops that bmxnet or other libraries register at run time (MXLoadLib), and the dtypes or
storage types a GPU kernel accepts (a listed op may still refuse, e.g., an int8 input).

Default arguments reproduce the data file bmxnet ships (python/bmxnet/mxnet-1.9.1-gpu-ops.txt)
from a git clone of apache/mxnet:

    python tools/gpu_ops/extract_mxnet_gpu_ops.py --repo PATH/TO/mxnet/.git
"""
import argparse
import io
import os
import re
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
DEFAULT_TAG = "1.9.1"
DEFAULT_OUT = os.path.join(ROOT, "python", "bmxnet", "mxnet-1.9.1-gpu-ops.txt")

GPU_ATTRS = ("FCompute<gpu>", "FComputeEx<gpu>", "FStatefulCompute<gpu>",
             "FStatefulComputeEx<gpu>")

# The macros a CUDA wheel's build defines, for #if evaluation: value = defined with that value,
# None = not defined. From config/distribution/linux_cu112.cmake and CMakeLists.txt of 1.9.1
# (USE_CUDA, USE_CUDNN, USE_NCCL, USE_OPENCV, USE_MKLDNN, USE_LAPACK, USE_OPENMP ON; USE_TVM_OP,
# USE_TENSORRT, USE_MKL_IF_AVAILABLE OFF; ENABLE_CUDA_RTC ON by default), CUDA 11.2, cuDNN 8.
# __CUDACC__ is added for .cu files only.
WHEEL_MACROS = {
    "MXNET_USE_CUDA": 1,
    "MXNET_USE_CUDNN": 1,
    "CUDNN_MAJOR": 8,
    "CUDA_VERSION": 11020,
    "MXNET_USE_CUSOLVER": 1,
    "MXNET_ENABLE_CUDA_RTC": 1,
    "MXNET_USE_NCCL": 1,
    "MXNET_USE_OPENCV": 1,
    "MXNET_USE_MKLDNN": 1,
    "MXNET_USE_LAPACK": 1,
    "MXNET_USE_OPENMP": 1,
    "MXNET_USE_TVM_OP": None,
    "MXNET_USE_TENSORRT": None,
    "MXNET_USE_NNPACK": None,
    "MSHADOW_USE_MKL": 0,
    "MXNET_USE_MKL_LAYERNORM": None,
    "MXNET_USE_MKL_DROPOUT": None,
    "MXNET_PREDICT_ONLY": 0,
    "DMLC_CXX11_THREAD_LOCAL": 1,
    # dropout-inl.h: MXNET_USE_CUDNN == 1 && CUDNN_MAJOR >= 7
    "MXNET_USE_CUDNN_DROPOUT": 1,
    "_WIN32": None,
    "_MSC_VER": None,
    "__CUDACC__": None,
}

# Registration keywords: a macro whose body holds one of these (or calls such a macro) is
# expanded before registrations are read. The registration macros themselves stay unexpanded.
REGISTRATION_WORDS = {"NNVM_REGISTER_OP", "add_alias", "MXNET_REGISTER_OP_PROPERTY"}
NEVER_EXPAND = {"NNVM_REGISTER_OP", "MXNET_REGISTER_OP_PROPERTY"}


# ---------------------------------------------------------------------------------------------
# Source trees: a git tag of a (bare) repository, or a folder.

class GitTree:
    """The files of `tag` in the git directory `repo`, read through `git archive` once."""

    def __init__(self, repo, tag):
        self.repo, self.tag = repo, tag
        self.commit = _git(repo, "rev-parse", f"{tag}^{{commit}}").decode().strip()
        top = _git(repo, "ls-tree", "--name-only", self.commit).decode().split()
        archive = _git(repo, "archive", "--format=tar", self.commit,
                       *[folder for folder in ("src", "include") if folder in top])
        self.files = {}
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(SOURCE_SUFFIXES):
                    self.files[member.name] = tar.extractfile(member).read().decode(
                        "utf-8", "replace")

    def describe(self):
        return f"tag {self.tag} (commit {self.commit})"


class DirTree:
    """The files of an unpacked source tree."""

    def __init__(self, src):
        self.files = {}
        for top in ("src", "include"):
            for folder, _, names in os.walk(os.path.join(src, top)):
                for name in names:
                    if name.endswith(SOURCE_SUFFIXES):
                        path = os.path.join(folder, name)
                        with open(path, encoding="utf-8", errors="replace") as f:
                            self.files[os.path.relpath(path, src).replace(os.sep, "/")] = f.read()
        try:
            self.commit = _git(src, "rev-parse", "HEAD").decode().strip()
        except (subprocess.CalledProcessError, OSError):
            self.commit = None

    def describe(self):
        return f"commit {self.commit}" if self.commit else "a source folder (no git commit)"


SOURCE_SUFFIXES = (".cc", ".cu", ".h", ".cuh")


def _git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE).stdout


# ---------------------------------------------------------------------------------------------
# Tokens. Comments go; string literals (raw strings included) stay whole, so the parentheses
# and semicolons of op descriptions never count; preprocessor lines become one token each.

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+|\\\n)
  | (?P<nl>\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<raw>(?:u8|[uUL])?R"(?P<delim>[^()\\\s]{0,16})\()
  | (?P<str>(?:u8|[uUL])?"(?:\\.|[^"\\\n])*")
  | (?P<chr>(?:u8|[uUL])?'(?:\\.|[^'\\\n])*')
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<punct>\#\#|&&|\|\||==|!=|<=|>=|::|->|.)
""", re.VERBOSE | re.DOTALL)


_DIRECTIVE_START = re.compile(r"[ \t]*#")


class Token:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line

    def __repr__(self):
        return f"Token({self.kind}, {self.text!r}, {self.line})"


def tokenize(text, directives=True):
    """Tokens of C/C++ `text`. With `directives`, each preprocessor line is one token of kind
    'directive' whose text is the line (continuations joined, comments removed)."""
    tokens, pos, line, at_line_start = [], 0, 1, True
    while pos < len(text):
        if directives and at_line_start:
            m = _DIRECTIVE_START.match(text, pos)
            if m:
                end, parts, first_line = m.end(), [], line
                # The directive runs to the first newline not escaped by a backslash, comments
                # (which may span lines) removed.
                while end < len(text):
                    c = text[end]
                    if c == "\\" and text.startswith("\n", end + 1):
                        parts.append(" ")
                        end += 2
                        line += 1
                    elif c == "\n":
                        break
                    elif text.startswith("//", end):
                        nl = text.find("\n", end)
                        end = len(text) if nl < 0 else nl
                    elif text.startswith("/*", end):
                        close = text.find("*/", end + 2)
                        close = len(text) if close < 0 else close + 2
                        line += text.count("\n", end, close)
                        parts.append(" ")
                        end = close
                    else:
                        parts.append(c)
                        end += 1
                tokens.append(Token("directive", "".join(parts).strip(), first_line))
                pos = end
                continue
        m = _TOKEN.match(text, pos)
        kind = m.lastgroup if m.lastgroup != "delim" else "raw"
        if kind == "raw":
            close = text.find(")" + m.group("delim") + '"', m.end())
            close = len(text) if close < 0 else close + len(m.group("delim")) + 2
            value = text[pos:close]
            # Raw strings are descriptions: keep them as an opaque string token.
            tokens.append(Token("str", '"' + value.replace("\\", "\\\\").replace('"', "'") + '"',
                                line))
            line += value.count("\n")
            pos = close
            at_line_start = False
            continue
        piece = m.group()
        pos = m.end()
        if kind == "nl":
            line += 1
            at_line_start = True
            continue
        if kind in ("ws", "comment"):
            line += piece.count("\n")
            continue
        at_line_start = False
        tokens.append(Token({"chr": "str"}.get(kind, kind), piece, line))
    return tokens


# ---------------------------------------------------------------------------------------------
# Preprocessor: conditionals, #define of function-like macros, expansion.

class Macro:
    __slots__ = ("name", "params", "body", "where")

    def __init__(self, name, params, body, where):
        self.name, self.params, self.body, self.where = name, params, body, where


class ConditionError(Exception):
    pass


def _eval_condition(tokens, defined, where):
    """Value of an #if expression and the macro names it used that `defined` does not know."""
    unknown, parts, i = set(), [], 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "id" and t.text == "defined":
            j = i + 1
            if j < len(tokens) and tokens[j].text == "(":
                name, i = tokens[j + 1].text, j + 3
            else:
                name, i = tokens[j].text, j + 1
            if name not in defined:
                unknown.add(name)
            parts.append("1" if defined.get(name) is not None else "0")
            continue
        if t.kind == "id":
            if t.text not in defined:
                unknown.add(t.text)
            value = defined.get(t.text)
            parts.append(str(value) if isinstance(value, int) else "0")
        elif t.kind == "num":
            parts.append(re.sub(r"[uUlL]+$", "", t.text))
        else:
            parts.append({"&&": " and ", "||": " or ", "!": " not "}.get(t.text, t.text))
        i += 1
    try:
        value = bool(eval(" ".join(parts), {"__builtins__": {}}, {}))  # noqa: S307  (numbers only)
    except Exception as e:  # noqa: BLE001  (a condition we cannot read: say where)
        raise ConditionError(f"{where}: cannot evaluate #if {' '.join(parts)}: {e}") from e
    return value, unknown


def preprocess(path, text, defined, macros_out=None, uncertain_out=None):
    """The code tokens of a file that the wheel's build compiles, each with the set of unknown
    macros its enclosing conditions depend on; collects the file's #defines into macros_out,
    and into uncertain_out the tokens left out only because of a condition on unknown macros."""
    defined = dict(defined)
    stack = []  # per open #if: [a branch taken, unknown names of this level, active outside]
    active, unknown_now = True, frozenset()
    code = []
    for tok in tokenize(text):
        if tok.kind != "directive":
            if active:
                code.append((tok, unknown_now))
            elif unknown_now and uncertain_out is not None:
                uncertain_out.append((tok, unknown_now))
            continue
        words = tokenize(tok.text, directives=False)
        if not words:
            continue
        what, rest = words[0].text, words[1:]
        where = f"{path}:{tok.line}"
        if what in ("if", "ifdef", "ifndef"):
            value, unknown = False, set()
            if not active:
                pass  # inside a skipped block: not evaluated, as the compiler does
            elif what == "if":
                value, unknown = _eval_condition(rest, defined, where)
            else:
                name = rest[0].text
                value = (defined.get(name) is not None) == (what == "ifdef")
                unknown = set() if name in defined else {name}
            stack.append([value, unknown, active])
            active = active and value
        elif what in ("elif", "else"):
            if not stack:
                continue
            level = stack[-1]
            value, unknown = level[2] and not level[0], set()
            if value and what == "elif":
                value, unknown = _eval_condition(rest, defined, where)
            level[0] = level[0] or value
            level[1] = level[1] | unknown
            active = level[2] and value
        elif what == "endif":
            if stack:
                active = stack.pop()[2]
        elif what == "define" and active and rest:
            name = rest[0].text
            if len(rest) > 1 and rest[1].text == "(" and _adjacent(tok.text, name):
                close = next(i for i, t in enumerate(rest) if t.text == ")")
                params = "".join(t.text for t in rest[2:close]).split(",") \
                    if close > 2 else []
                if macros_out is not None:
                    macros_out.setdefault(name, []).append(
                        Macro(name, params, rest[close + 1:], where))
            else:
                body = rest[1:]
                value = body[0].text if len(body) == 1 and body[0].kind == "num" else 1
                if name not in defined:
                    defined[name] = _int_or_one(value)
        elif what == "undef" and active and rest:
            defined[rest[0].text] = None
        unknown_now = frozenset().union(*(level[1] for level in stack)) if stack else frozenset()
    return code


def _adjacent(directive, name):
    """True for `#define NAME(` (function-like), false for `#define NAME (x)` (object-like)."""
    return re.search(r"\b" + re.escape(name) + r"\(", directive) is not None


def _int_or_one(text):
    try:
        return int(re.sub(r"[uUlL]+$", "", str(text)), 0)
    except ValueError:
        return 1


def relevant_macros(candidates):
    """The macros among `candidates` (name -> [Macro]) that register ops or aliases, directly
    or through another such macro."""
    relevant = {}
    changed = True
    while changed:
        changed = False
        for name, defs in candidates.items():
            if name in relevant or name in NEVER_EXPAND:
                continue
            words = {t.text for t in defs[0].body if t.kind == "id"}
            if words & REGISTRATION_WORDS or words & relevant.keys():
                relevant[name] = defs[0]
                changed = True
    return relevant


def expand(tokens, macros, disabled=frozenset(), depth=0):
    """`tokens` (list of (Token, unknown)) with invocations of `macros` expanded; expanded
    tokens carry the invocation's unknown set."""
    if depth > 32:
        raise RecursionError("macro expansion deeper than 32 levels")
    out, i = [], 0
    while i < len(tokens):
        tok, unknown = tokens[i]
        macro = macros.get(tok.text) if tok.kind == "id" and tok.text not in disabled else None
        if macro is None or i + 1 >= len(tokens) or tokens[i + 1][0].text != "(":
            out.append(tokens[i])
            i += 1
            continue
        args, depth_p, j, current = [], 0, i + 2, []
        while j < len(tokens):
            t = tokens[j][0]
            if t.text == "(":
                depth_p += 1
            elif t.text == ")":
                if depth_p == 0:
                    break
                depth_p -= 1
            elif t.text == "," and depth_p == 0:
                args.append(current)
                current = []
                j += 1
                continue
            current.append(t)
            j += 1
        args.append(current)
        body = substitute(macro, args, tok.line)
        out.extend(expand([(t, unknown) for t in body], macros, disabled | {macro.name},
                          depth + 1))
        i = j + 1
    return out


def substitute(macro, args, line):
    """The body of `macro` with its parameters replaced by `args` (# and ## applied)."""
    params = list(macro.params)
    values = {}
    for k, name in enumerate(params):
        if name == "...":
            values["__VA_ARGS__"] = [t for n, a in enumerate(args[k:]) for t in
                                     ([Token("punct", ",", line)] if n else []) + a]
        else:
            values[name] = args[k] if k < len(args) else []
    body, out, k = macro.body, [], 0
    while k < len(body):
        t = body[k]
        if t.text == "#" and k + 1 < len(body) and body[k + 1].text in values:
            text = " ".join(a.text for a in values[body[k + 1].text])
            out.append(Token("str", '"' + text.replace('"', '\\"') + '"', line))
            k += 2
            continue
        if t.text == "##" and out and k + 1 < len(body):
            right = values.get(body[k + 1].text, [body[k + 1]])
            left = out.pop()
            pasted = left.text + (right[0].text if right else "")
            out.extend(tokenize(pasted, directives=False) or [])
            out.extend(right[1:])
            k += 2
            continue
        if t.kind == "id" and t.text in values:
            out.extend(Token(a.kind, a.text, line) for a in values[t.text])
        else:
            out.append(Token(t.kind, t.text, line))
        k += 1
    return out


# ---------------------------------------------------------------------------------------------
# Registrations.

class Registration:
    __slots__ = ("kind", "name", "gpu", "aliases", "where", "unknown")

    def __init__(self, kind, name, gpu, aliases, where, unknown):
        self.kind, self.name, self.gpu = kind, name, gpu
        self.aliases, self.where, self.unknown = aliases, where, unknown


def registrations(path, code):
    """NNVM_REGISTER_OP and MXNET_REGISTER_OP_PROPERTY registrations of expanded `code`."""
    found, i = [], 0
    while i < len(code):
        tok, unknown = code[i]
        if tok.kind != "id" or tok.text not in NEVER_EXPAND or i + 1 >= len(code) \
                or code[i + 1][0].text != "(":
            i += 1
            continue
        name = code[i + 2][0].text
        close = i + 2
        while code[close][0].text != ")":
            close += 1
        # The chain runs to the ';' at depth 0, or to the next registration.
        j, depth, block = close + 1, 0, []
        while j < len(code):
            t = code[j][0]
            if depth == 0 and (t.text == ";" or t.text in NEVER_EXPAND):
                break
            if t.text in ("(", "[", "{"):
                depth += 1
            elif t.text in (")", "]", "}"):
                depth -= 1
            block.append(t)
            j += 1
        strings = _joined_strings(block)
        aliases = [_joined_strings(block[k + 3:])[0] for k in range(len(block) - 3)
                   if block[k].text == "." and block[k + 1].text == "add_alias"
                   and block[k + 2].text == "(" and block[k + 3].kind == "str"]
        kind = "nnvm" if tok.text == "NNVM_REGISTER_OP" else "legacy"
        found.append(Registration(kind, name, any(s in GPU_ATTRS for s in strings), aliases,
                                  f"{path}:{tok.line}", unknown))
        i = j
    return found


def _joined_strings(block):
    """String literals of `block`, adjacent literals joined as the compiler joins them."""
    strings, current = [], None
    for t in block:
        if t.kind == "str" and t.text.endswith('"'):
            current = (current or "") + _unquote(t.text)
        else:
            if current is not None:
                strings.append(current)
            current = None
    if current is not None:
        strings.append(current)
    return strings


def _unquote(text):
    return text[text.index('"') + 1:-1]


def defines_gpu_create_op(code):
    """True when `code` defines (specializes) the legacy factory CreateOp<gpu>."""
    texts = [t.text for t, _ in code]
    return any(texts[k:k + 5] == ["CreateOp", "<", "gpu", ">", "("] for k in range(len(texts)))


# ---------------------------------------------------------------------------------------------

def extract(tree):
    """(sorted GPU op names, {alias: name} of those ops) of a source tree."""
    header_macros = {}
    for path, text in sorted(tree.files.items()):
        if path.endswith((".h", ".cuh")) and "#define" in text:
            preprocess(path, text, WHEEL_MACROS, header_macros)
    for name, defs in header_macros.items():
        bodies = {" ".join(t.text for t in d.body) for d in defs}
        if len(bodies) > 1 and name in relevant_macros({name: defs}):
            raise SystemExit(f"macro {name} has different definitions: "
                             f"{', '.join(d.where for d in defs)}")

    regs, legacy_gpu_files = [], []
    for path, text in sorted(tree.files.items()):
        if not (path.startswith("src/") and path.endswith((".cc", ".cu"))):
            continue
        is_cu = path.endswith(".cu")
        defined = dict(WHEEL_MACROS, __CUDACC__=1 if is_cu else None)
        local, uncertain = {}, []
        code = preprocess(path, text, defined, local, uncertain)
        macros = relevant_macros({**header_macros, **local})
        for k, (tok, unknown) in enumerate(uncertain):
            if tok.text in REGISTRATION_WORDS or tok.text in macros \
                    or (tok.kind == "str" and _unquote(tok.text) in GPU_ATTRS) \
                    or defines_gpu_create_op(uncertain[k:k + 5]):
                raise SystemExit(f"{path}:{tok.line}: a registration is left out because of "
                                 f"{', '.join(sorted(unknown))}, which WHEEL_MACROS does not "
                                 "set")
        code = expand(code, macros)
        file_regs = registrations(path, code)
        if is_cu and defines_gpu_create_op(code):
            unknown = set().union(*(u for t, u in code if t.text == "CreateOp"))
            legacy_gpu_files.append((path, unknown))
        regs.extend(file_regs)

    for reg in regs:
        if reg.unknown and (reg.gpu or reg.kind == "legacy"):
            raise SystemExit(f"{reg.where}: registration of {reg.name} depends on "
                             f"{', '.join(sorted(reg.unknown))}, which WHEEL_MACROS does not set")

    aliases = {}
    for reg in regs:
        for alias in reg.aliases:
            aliases.setdefault(alias, reg.name)
    registered = {reg.name for reg in regs if reg.kind == "nnvm" and reg.name not in aliases}
    registered |= {reg.name for reg in regs if reg.kind == "legacy"}

    def canonical(name):
        seen = set()
        while name in aliases and name not in seen and name not in registered:
            seen.add(name)
            name = aliases[name]
        return name

    gpu = {canonical(reg.name) for reg in regs if reg.kind == "nnvm" and reg.gpu}

    legacy = {reg.where.split(":")[0]: reg.name for reg in regs if reg.kind == "legacy"}
    for path, unknown in legacy_gpu_files:
        if unknown:
            raise SystemExit(f"{path}: CreateOp<gpu> depends on {', '.join(sorted(unknown))}, "
                             "which WHEEL_MACROS does not set")
        cc = path[:-len(".cu")] + ".cc"
        if cc not in legacy:
            raise SystemExit(f"{path} defines CreateOp<gpu> but {cc} registers no "
                             "MXNET_REGISTER_OP_PROPERTY")
        gpu |= {legacy[cc], "_backward_" + legacy[cc]}

    gpu_aliases = {alias: canonical(name) for alias, name in aliases.items()
                   if canonical(name) in gpu and alias != canonical(name)}
    return sorted(gpu), dict(sorted(gpu_aliases.items()))


def write(out, ops, aliases, command, source):
    with open(out, "w") as f:
        f.write(f"# made by: {command}\n")
        f.write(f"# from MXNet {source}: operators with a GPU implementation in the CUDA wheels, "
                "one canonical name a line; then 'alias -> name' lines\n")
        for op in ops:
            f.write(op + "\n")
        for alias, name in aliases.items():
            f.write(f"{alias} -> {name}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--repo", help="git directory of an apache/mxnet clone (bare is fine); "
                        "read at --tag")
    source.add_argument("--src", help="an unpacked MXNet source tree instead of --repo")
    parser.add_argument("--tag", default=DEFAULT_TAG,
                        help=f"tag or commit to read with --repo (default {DEFAULT_TAG})")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="file to write (default: bmxnet's package data file, "
                             "python/bmxnet/mxnet-1.9.1-gpu-ops.txt)")
    args = parser.parse_args(argv)

    tree = GitTree(args.repo, args.tag) if args.repo else DirTree(args.src)
    ops, aliases = extract(tree)
    command = ["python", "tools/gpu_ops/extract_mxnet_gpu_ops.py"]
    command += ["--repo", args.repo, "--tag", args.tag] if args.repo else ["--src", args.src]
    if os.path.abspath(args.out) != DEFAULT_OUT:
        command += ["--out", args.out]
    write(args.out, ops, aliases, " ".join(command), tree.describe())
    print(f"{len(ops)} GPU operators ({len(aliases)} aliases) -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
