"""The script that runs *inside* the sandbox child. Never imported by the framework.

It is started as ``python -I -S -B _harness.py`` in a throw-away working directory and reads
one job (JSON) from stdin: the candidate's source, the entry function's name, the calls to
make, the limits and a per-run nonce. It then, before any candidate code runs:

1. applies the resource limits (CPU, address space, processes, file size, open files);
2. installs a seccomp filter (x86_64, aarch64) refusing fork/clone, exec, kill, sockets,
   ptrace and namespace calls at the kernel level;
3. installs an audit hook refusing sockets, subprocesses, signals to other processes,
   ctypes, gc and tracing, writes outside the working directory, and reads outside it and the
   standard library (so hidden test data on disk stays hidden).

Then it loads the candidate's definitions, calls the entry function on each input and writes
one record per call to the result pipe, each line prefixed with the nonce, and a final
``done`` record. The child only *reports what the function returned*; the parent compares
with the expected values, which never enter the child. Standard library only, one file:
``-I`` keeps the framework's packages out of ``sys.path``.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing stays unimported at run time: the child starts as light as it can
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

# -- value codec (the same tagged JSON as llm_modulo.verifiers.code.codec) ---------------------


class _Unencodable(Exception):
    pass


def _encode(x: Any, depth: int = 0) -> Any:
    t = type(x)
    if depth > 100:
        raise _Unencodable("a value nested more than 100 levels deep")
    if x is None or t is bool or t is int or t is str:
        return x
    if t is float:
        if x != x or x in (float("inf"), float("-inf")):
            return {"__float__": repr(x)}
        return x
    if t is list:
        return [_encode(v, depth + 1) for v in x]
    if t is tuple:
        return {"__tuple__": [_encode(v, depth + 1) for v in x]}
    if t is set or t is frozenset:
        return {"__set__": [_encode(v, depth + 1) for v in x]}
    if t is dict:
        return {"__dict__": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in x.items()]}
    if t is bytes:
        return {"__bytes__": x.hex()}
    raise _Unencodable("a value of type " + t.__name__)


def _decode(x: Any) -> Any:
    t = type(x)
    if t is list:
        return [_decode(v) for v in x]
    if t is dict:
        ((tag, body),) = x.items()
        if tag == "__tuple__":
            return tuple(_decode(v) for v in body)
        if tag == "__set__":
            return {_decode(v) for v in body}
        if tag == "__dict__":
            return {_decode(k): _decode(v) for k, v in body}
        if tag == "__float__":
            return float(body)
        if tag == "__bytes__":
            return bytes.fromhex(body)
        raise ValueError("unknown tag " + tag)
    return x


# -- limits ------------------------------------------------------------------------------------


def _apply_limits(limits: Mapping[str, float]) -> str:
    import resource

    unset: list[str] = []

    def cap(which: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        try:
            old_soft, old_hard = resource.getrlimit(which)
            if old_hard != resource.RLIM_INFINITY:
                hard = min(hard, old_hard)
                soft = min(soft, hard)
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS: the other layers still hold
            unset.append(str(which))

    mb = 1024 * 1024
    cpu = max(1, int(limits["cpu_seconds"] + 0.999))
    cap(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU at the soft limit, SIGKILL one second later
    cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * mb)
    cap(resource.RLIMIT_FSIZE, int(limits["file_mb"] * mb))
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    cap(resource.RLIMIT_NPROC, int(limits["processes"]))
    cap(resource.RLIMIT_CORE, 0)
    return "on" if not unset else "partly (not set: " + ", ".join(unset) + ")"


# -- seccomp -----------------------------------------------------------------------------------

# syscall numbers refused with EPERM, per architecture (AUDIT_ARCH value, numbers)
_SECCOMP = {
    "x86_64": (
        0xC000003E,
        {
            "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62, "socket": 41,
            "socketpair": 53, "ptrace": 101, "rt_sigqueueinfo": 129, "mount": 165, "tkill": 200,
            "tgkill": 234, "unshare": 272, "rt_tgsigqueueinfo": 297, "setns": 308,
            "process_vm_readv": 310, "process_vm_writev": 311, "execveat": 322,
            "pidfd_send_signal": 424, "pidfd_open": 434, "clone3": 435,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "unshare": 97, "clone": 220, "execve": 221, "kill": 129, "tkill": 130, "tgkill": 131,
            "rt_sigqueueinfo": 138, "socket": 198, "socketpair": 199, "ptrace": 117, "mount": 40,
            "rt_tgsigqueueinfo": 240, "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271,
            "execveat": 281, "pidfd_send_signal": 424, "pidfd_open": 434, "clone3": 435,
        },
    ),
}


def _install_seccomp() -> str:
    """A classic-BPF seccomp filter; returns a short status ("on" or why not)."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    machine = os.uname().machine
    if machine not in _SECCOMP:
        return "unsupported architecture " + machine
    arch, numbers = _SECCOMP[machine]
    try:
        import ctypes
    except ImportError:
        return "ctypes unavailable"

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, kill_process, errno_eperm = 0x7FFF0000, 0x80000000, 0x00050000 | 1
    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill_process), (ld_abs, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI's numbers alias ours with bit 30 set
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, kill_process)]
    for nr in sorted(numbers.values()):
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, errno_eperm)]
    prog.append((ret, 0, 0, allow))
    array = (Filter * len(prog))(*[Filter(c, t, f, k) for c, t, f, k in prog])
    program = Program(len(prog), array)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return "prctl(NO_NEW_PRIVS) failed: errno " + str(ctypes.get_errno())
    if libc.prctl(22, 2, ctypes.addressof(program), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return "prctl(SECCOMP) failed: errno " + str(ctypes.get_errno())
    return "on"


# -- audit hook --------------------------------------------------------------------------------

_DENIED_PREFIXES = (
    "socket.", "ctypes.", "gc.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
    "os.kill", "signal.pthread_kill", "pty.", "resource.", "urllib.", "http.client.", "ftplib.",
    "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.", "webbrowser.", "sys.settrace",
    "sys.setprofile", "sys._current_frames", "sys.addaudithook", "os.system", "os.chdir", "os.chroot",
    "os.symlink", "os.link", "os.setuid", "os.setgid", "shutil.chown", "builtins.input",
    "cpython.remote_debugger", "cpython._PySys_ClearAuditHooks", "_posixsubprocess.",
)
_DENIED_IMPORTS = frozenset({
    "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing",
    "socket", "_socket", "ssl", "_ssl", "pty", "resource", "gc",
})
# events whose arguments start with one or two paths that must lie in the working directory
_PATH_EVENTS = {
    "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.chmod": 1, "os.chown": 1,
    "os.truncate": 1, "os.utime": 1, "shutil.rmtree": 1, "shutil.copyfile": 2, "shutil.copytree": 2,
    "shutil.move": 2, "os.mkfifo": 1, "os.mknod": 1, "os.removexattr": 1, "os.setxattr": 1,
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _make_hook(workdir: str, read_roots: tuple[str, ...]) -> Callable[[str, tuple[Any, ...]], None]:
    realpath, fsdecode, fspath = os.path.realpath, os.fsdecode, os.fspath
    sep = os.sep
    err = PermissionError
    str_, bytes_, int_, type_ = str, bytes, int, type
    busy = [False]

    def inside(path: str | bytes, roots: tuple[str, ...]) -> tuple[bool, str]:
        p = realpath(fsdecode(path))
        return any(p == r or p.startswith(r + sep) for r in roots), p

    def as_path(path: Any) -> str | bytes:
        t = type_(path)
        if t is str_ or t is bytes_:
            checked: str | bytes = path
        elif t.__module__ == "pathlib" and t.__name__ in ("PosixPath", "PurePosixPath"):
            checked = fspath(path)
        else:
            raise err("sandbox: paths of type " + t.__name__ + " are not allowed")
        return checked

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            if event == "open":
                path, _mode, flags = args
                if type_(path) is int_:
                    return
                path = as_path(path)
                if type_(flags) is int_ and flags & _WRITE_FLAGS:
                    ok, p = inside(path, (workdir,))
                    if not ok:
                        raise err("sandbox: writing " + p + " outside the working directory is not allowed")
                else:
                    ok, p = inside(path, read_roots)
                    if not ok:
                        raise err("sandbox: reading " + p + " is not allowed")
                return
            if event == "import":
                name = args[0]
                if type_(name) is str_ and name.split(".")[0] in _DENIED_IMPORTS:
                    raise err("sandbox: importing " + name + " is not allowed")
                return
            if event in _PATH_EVENTS:
                for path in args[: _PATH_EVENTS[event]]:
                    if type_(path) is int_:
                        continue
                    ok, p = inside(as_path(path), (workdir,))
                    if not ok:
                        raise err("sandbox: " + event + " on " + p + " outside the working directory is not allowed")
                return
            if event.startswith(_DENIED_PREFIXES):
                raise err("sandbox: " + event + " is not allowed")
        finally:
            busy[0] = False

    return hook


# -- the run -----------------------------------------------------------------------------------


def _main() -> None:
    # references the candidate cannot swap out later (builtins and modules are shared with it)
    import builtins
    import json

    base_exc, write, exit_, dumps, loads = BaseException, os.write, os._exit, json.dumps, json.loads
    str_, type_, len_, callable_ = str, type, len, callable

    job = loads(sys.stdin.buffer.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = job["fd"]
    prefix = (job["nonce"] + " ").encode()
    del job["nonce"]

    def emit(record: dict[str, Any]) -> None:
        data = prefix + dumps(record).encode() + b"\n"
        while data:
            data = data[write(out, data):]

    def describe(exc: BaseException) -> dict[str, Any]:
        try:
            message = str_(exc)[:500]
        except base_exc:
            message = "(unprintable)"
        line = None
        try:
            tb = exc.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == "<candidate>":
                    line = tb.tb_lineno
                tb = tb.tb_next
        except base_exc:
            pass
        t = type_(exc)
        return {"type": t.__name__, "builtin": t.__module__ == "builtins", "message": message, "line": line}

    workdir = os.path.realpath(os.getcwd())
    # read access: the working directory and the standard library (sys.path under -I -S)
    roots = [workdir, "/dev/null", "/dev/urandom", "/dev/zero"]
    roots += [os.path.realpath(p) for p in sys.path if p and "-packages" not in p]
    mode = job["mode"]
    if mode == "module":  # written before the hook goes in; loaded through the import system
        with open(os.path.join(workdir, "solution.py"), "w", encoding="utf-8") as handle:
            handle.write(job["source"])
    rlimits = _apply_limits(job["limits"])
    seccomp = _install_seccomp() if job["seccomp"] else "off"
    for name in ("ctypes", "_ctypes", "ctypes._endian", "resource"):
        sys.modules.pop(name, None)
    if job["audit"]:
        sys.addaudithook(_make_hook(workdir, tuple(roots)))
    emit({"event": "hello", "seccomp": seccomp, "rlimits": rlimits, "audit": bool(job["audit"]), "pid": os.getpid()})

    namespace: dict[str, Any] = {"__name__": "__candidate__", "__builtins__": builtins}
    if mode == "module":
        import importlib.util

        spec = importlib.util.spec_from_file_location("solution", os.path.join(workdir, "solution.py"))
        try:
            if spec is None or spec.loader is None:  # (not for a .py path; raised as any load failure)
                raise ImportError("cannot load solution.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            emit({"event": "syntax_error", "message": str_(exc.msg), "line": exc.lineno})
            exit_(0)
        except base_exc as exc:
            emit({"event": "load_error", "error": describe(exc)})
            exit_(0)
        namespace = module.__dict__
    else:
        try:
            code = compile(job["source"], "<candidate>", "exec")
        except SyntaxError as exc:
            emit({"event": "syntax_error", "message": str_(exc.msg), "line": exc.lineno})
            exit_(0)
        except base_exc as exc:  # e.g. null bytes, recursion in the compiler
            emit({"event": "syntax_error", "message": str_(exc), "line": None})
            exit_(0)
        try:
            exec(code, namespace)
        except base_exc as exc:
            emit({"event": "load_error", "error": describe(exc)})
            exit_(0)
    entry = namespace.get(job["entry"])
    if not callable_(entry):
        emit({"event": "missing_entry", "found": type_(entry).__name__})
        exit_(0)
    emit({"event": "loaded"})

    calls = job["calls"]
    for index in range(len_(calls)):
        args, kwargs = _decode(loads(calls[index]))  # fresh objects for every call
        record: dict[str, Any] = {"event": "call", "index": index}
        try:
            value = entry(*args, **kwargs)
        except base_exc as exc:
            record["error"] = describe(exc)
        else:
            try:
                record["value"] = _encode(value)
            except _Unencodable as exc:
                record["unencodable"] = str_(exc)
            except RecursionError:
                record["unencodable"] = "a value nested too deeply"
        emit(record)
    emit({"event": "done"})
    exit_(0)  # no atexit handlers, no finalizers of the candidate's objects


if __name__ == "__main__":
    _main()
