"""Persist tuned values in one sysctl.d drop-in, and find every file that fights it at boot.

Boot order is the one ``minfree.proc.sysctl_files.boot_order`` models (systemd-sysctl and
``sysctl --system``): ``*.conf`` from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
/usr/lib/sysctl.d, /lib/sysctl.d, a name in an earlier directory masking the same name later,
applied in file-name order, then /etc/sysctl.conf; the last assignment wins. The drop-in is
``/etc/sysctl.d/99-minfree.conf``: late enough to follow the distribution files (10-*, 50-*,
00-system.conf), in the directory that masks every other. What still follows it (Debian's
``99-sysctl.conf`` symlink to ``../sysctl.conf``, sysctl.conf itself, a ``99-z*`` file) is
reported as shadowing it; ``--resolve-conflicts`` comments those lines out (after a backup),
changing only those lines' bytes (their line endings, and every other byte, stay as they were).

An existing drop-in is edited, not overwritten: the lines for the keys minfree sets are replaced
and the others (an admin's own settings) kept, as are its mode and owner. A drop-in that is a
symlink or not a regular file is refused with the reason (``PersistPlan.refusal``).

tuned (peers.md §4) writes its profile's [sysctl] values at every start, then, with its default
``reapply_sysctl = 1``, re-applies /run/sysctl.d, /etc/sysctl.d and /etc/sysctl.conf over them.
"""
from __future__ import annotations

import configparser
import os
import posixpath
from pathlib import Path
from typing import Mapping

from minfree.actions.safefs import UnsafeError, file_meta, read_file
from minfree.model.record import field, record
from minfree.proc.sysctl_files import conf_lines, normalize_key, parse_sysctl_conf
from minfree.sources.readers import sysctl_config_files
from minfree.sources.root import SystemRoot

DROPIN = "etc/sysctl.d/99-minfree.conf"
COMMENT_PREFIX = "# disabled by minfree tune (see 99-minfree.conf): "
MAX_LINK_DEPTH = 8
TUNED_MAIN = "etc/tuned/tuned-main.conf"
TUNED_ACTIVE = "etc/tuned/active_profile"
TUNED_PROFILE_DIRS = ("etc/tuned/profiles", "etc/tuned", "usr/lib/tuned/profiles", "usr/lib/tuned")


@record
class Assignment:
    """``key = value`` at ``path:lineno`` (``path`` as applied; ``real_path`` after symlinks)."""

    path: str
    real_path: str
    lineno: int
    key: str
    value: str

    def where(self) -> str:
        link = f" (-> /{self.real_path})" if self.real_path != self.path else ""
        return f"/{self.path}:{self.lineno}{link}"


@record(frozen=False)
class PersistPlan:
    """What persisting will write: the drop-in (``file``, config-root relative) and its new
    ``text``, the boot-time lines that set the same keys around it, and the files that could not be read."""

    file: str
    text: str
    shadowed_by: list[Assignment] = field(default_factory=list)  # applied after ours: they win
    overridden: list[Assignment] = field(default_factory=list)  # applied before ours
    unreadable: list[str] = field(default_factory=list)
    existing: bytes | None = None  # the drop-in's bytes before the change (None: no drop-in yet)
    refusal: str | None = None  # why the drop-in cannot be written

    @property
    def conflict_files(self) -> list[str]:
        """Real files (config-root relative) holding a conflicting line, each once."""
        return sorted({a.real_path for a in self.shadowed_by + self.overridden})


def resolve_in_root(config_root: Path, rel: str) -> str | None:
    """Follow symlinks of ``rel`` inside ``config_root`` (absolute targets are re-rooted there).

    Debian: ``etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf`` resolves to ``etc/sysctl.conf``.
    None when the link leaves the root or loops.
    """
    current = rel
    for _ in range(MAX_LINK_DEPTH):
        parts = current.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            full = config_root / prefix
            if full.is_symlink():
                target = os.readlink(full)
                base = "" if target.startswith("/") else posixpath.dirname(prefix)
                joined = posixpath.normpath(posixpath.join("/", base, target)).lstrip("/")
                current = "/".join([joined, *parts[i:]]) if parts[i:] else joined
                break
        else:
            return current
    return None


def ordered_files(config_root: Path, *, with_dropin: bool = True) -> list[str]:
    """Config files in boot order (``proc.sysctl_files.boot_order``), plus the drop-in whether
    it exists yet or not: it sits in /etc/sysctl.d, the directory that masks every other."""
    return sysctl_config_files(SystemRoot(config_root), also=(DROPIN,) if with_dropin else ())


def _read(config_root: Path, rel: str) -> tuple[str, str] | None:
    real = resolve_in_root(config_root, rel)
    if real is None:
        return None
    # through SystemRoot: a FIFO or device planted in sysctl.d is refused unopened, never waited
    # on; the text is decoded as read, line ends kept
    text = SystemRoot(config_root).read_text(real, optional=True)
    return None if text is None else (real, text)


def assignments(config_root: Path, keys: set[str], *, skip: str | None = DROPIN) -> tuple[list[Assignment], list[str]]:
    """Every assignment of ``keys`` in boot order, and the files that could not be read.

    With ``skip=DROPIN`` the order is the one after the drop-in exists (it masks same-named
    files in /run and /usr), and the drop-in's own lines are left out.
    """
    found: list[Assignment] = []
    unreadable: list[str] = []
    for rel in ordered_files(config_root, with_dropin=skip == DROPIN):
        if rel == skip:
            continue
        read = _read(config_root, rel)
        if read is None:
            if os.path.lexists(config_root / rel):
                unreadable.append(rel)
            continue
        real, text = read
        found.extend(Assignment(rel, real, s.lineno, s.key, s.value)
                     for s in parse_sysctl_conf(text).settings if s.key in keys)
    return found, unreadable


def render_dropin(values: Mapping[str, int], reasons: Mapping[str, str]) -> str:
    """The drop-in's text, one commented reason per value.

    >>> print(render_dropin({"vm.min_free_kbytes": 90112}, {"vm.min_free_kbytes": "kernel default 67584 kB"}), end="")
    # Written by minfree tune; minfree undo reverts it.
    # vm.min_free_kbytes: kernel default 67584 kB
    vm.min_free_kbytes = 90112
    """
    lines = ["# Written by minfree tune; minfree undo reverts it."]
    for key, value in values.items():
        if key in reasons:
            lines.append(f"# {key}: {reasons[key]}")
        lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def merge_dropin(existing: str, values: Mapping[str, int], reasons: Mapping[str, str]) -> str:
    """An existing drop-in with minfree's keys set: their lines replaced in place (line ending
    kept), missing keys appended; every other line (an admin's own settings) left as it was.

    >>> merge_dropin("kernel.sysrq = 1\\r\\nvm.min_free_kbytes=1000\\r\\n",
    ...              {"vm.min_free_kbytes": 90112, "vm.watermark_scale_factor": 50}, {})
    'kernel.sysrq = 1\\r\\nvm.min_free_kbytes = 90112\\r\\nvm.watermark_scale_factor = 50\\n'
    """
    if not existing.strip():
        return render_dropin(values, reasons)
    lines, done = conf_lines(existing), set()
    for i, line in enumerate(lines):
        settings = parse_sysctl_conf(line).settings
        if settings and settings[0].key in values:
            key = settings[0].key
            body = line.rstrip("\r\n")
            lines[i] = f"{key} = {values[key]}{line[len(body):]}"
            done.add(key)
    rest = {k: v for k, v in values.items() if k not in done}
    if rest:
        if not lines[-1].endswith(("\n", "\r")):
            lines[-1] += "\n"
        lines.append(render_dropin(rest, reasons).split("\n", 1)[1])  # without the header line
    return "".join(lines)


def _existing_dropin(config_root: Path) -> tuple[bytes | None, str | None]:
    """The drop-in's bytes (None when absent) and why it cannot be replaced (None when it can)."""
    path = config_root / DROPIN
    try:
        file_meta(path)
        return read_file(config_root, DROPIN), None
    except UnsafeError as exc:
        target = f" (it points to {os.readlink(path)})" if path.is_symlink() else ""
        return None, f"{exc}{target}; make it a regular file, or remove it"
    except OSError as exc:
        return None, f"{path} cannot be read: {exc.strerror or exc}"


def plan_persist(config_root: Path, values: Mapping[str, int], reasons: Mapping[str, str]) -> PersistPlan:
    """What the drop-in will hold, and which files set the same keys before and after it."""
    found, unreadable = assignments(config_root, set(values))
    order = ordered_files(config_root)
    ours = order.index(DROPIN)
    existing, refusal = _existing_dropin(config_root)
    text = render_dropin(values, reasons) if existing is None else \
        merge_dropin(existing.decode("utf-8", "surrogateescape"), values, reasons)
    plan = PersistPlan(DROPIN, text, unreadable=unreadable, existing=existing, refusal=refusal)
    for item in found:
        (plan.shadowed_by if order.index(item.path) > ours else plan.overridden).append(item)
    return plan


def comment_out(text: str, linenos: set[int]) -> str:
    """Comment out the given lines (1-based, numbered as ``parse_sysctl_conf`` numbers them),
    keeping every other byte, line endings included.

    >>> comment_out("a = 1\\nvm.min_free_kbytes = 1310720\\n", {2})
    'a = 1\\n# disabled by minfree tune (see 99-minfree.conf): vm.min_free_kbytes = 1310720\\n'
    >>> comment_out("a = 1\\x0bb\\r\\nvm.x = 2\\r\\n", {2})
    'a = 1\\x0bb\\r\\n# disabled by minfree tune (see 99-minfree.conf): vm.x = 2\\r\\n'
    """
    lines = conf_lines(text)
    for n in linenos:
        if 1 <= n <= len(lines):
            lines[n - 1] = COMMENT_PREFIX + lines[n - 1]
    return "".join(lines)


@record
class TunedProfile:
    """tuned's active profile and the vm.* sysctls it writes at every start."""

    name: str
    path: str
    vm_sysctls: dict[str, str]
    reapply_sysctl: bool

    def warning(self, keys: set[str]) -> str | None:
        clash = {k: v for k, v in self.vm_sysctls.items() if k in keys}
        if not self.vm_sysctls:
            return None
        sets = ", ".join(f"{k}={v}" for k, v in self.vm_sysctls.items())
        if clash and not self.reapply_sysctl:
            return (f"tuned profile '{self.name}' sets {sets} and, with reapply_sysctl = 0, its value "
                    "wins over sysctl.d at every tuned start: change the profile too")
        return (f"tuned profile '{self.name}' sets {sets}: tuned writes them at every start, then "
                "re-applies /etc/sysctl.d over them (reapply_sysctl = 1); check the values agree")


def parse_tuned_conf(text: str) -> tuple[dict[str, str], list[str]] | None:
    """([sysctl] vm.* settings, include= profiles) of a tuned.conf; None when unparseable.

    Sample: tuned's hpc-compute profile (profiles/hpc-compute/tuned.conf, abridged):

    >>> parse_tuned_conf('''[main]
    ... summary=Optimize for HPC compute workloads
    ... include=latency-performance
    ... [vm]
    ... transparent_hugepages=always
    ... [sysctl]
    ... vm.min_free_kbytes=135168
    ... vm.zone_reclaim_mode=1
    ... kernel.numa_balancing=0
    ... ''')
    ({'vm.min_free_kbytes': '135168', 'vm.zone_reclaim_mode': '1'}, ['latency-performance'])
    """
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    vm = {}
    if parser.has_section("sysctl"):
        for key, value in parser.items("sysctl"):
            key = normalize_key(key.strip())
            if key.startswith("vm."):
                vm[key] = value.strip()
    includes = []
    if parser.has_option("main", "include"):
        includes = [p.strip() for p in parser.get("main", "include").replace(",", " ").split() if p.strip()]
    return vm, includes


def _tuned_profile_file(config_root: Path, name: str) -> str | None:
    for directory in TUNED_PROFILE_DIRS:
        rel = f"{directory}/{name}/tuned.conf"
        if (config_root / rel).is_file():
            return rel
    return None


def detect_tuned(config_root: Path) -> TunedProfile | None:
    """The active tuned profile (following include=), or None when tuned is not configured."""
    try:
        active = (config_root / TUNED_ACTIVE).read_text().split()
    except OSError:
        return None
    if not active:
        return None
    vm: dict[str, str] = {}
    first_path = ""
    seen: set[str] = set()

    def load(name: str, depth: int) -> None:
        nonlocal first_path
        if name in seen or depth > MAX_LINK_DEPTH:
            return
        seen.add(name)
        rel = _tuned_profile_file(config_root, name)
        if rel is None:
            return
        first_path = first_path or rel
        try:
            parsed = parse_tuned_conf((config_root / rel).read_text(errors="replace"))
        except OSError:
            return
        if parsed is None:
            return
        settings, includes = parsed
        for include in includes:
            load(include, depth + 1)
        vm.update(settings)  # the including profile overrides what it includes

    for name in active:
        load(name, 0)
    reapply = True
    try:
        main = (config_root / TUNED_MAIN).read_text(errors="replace")
        for line in main.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "reapply_sysctl":
                reapply = value.strip().lower() not in ("0", "false", "no", "off")
    except OSError:
        pass
    return TunedProfile(" ".join(active), first_path, vm, reapply)
