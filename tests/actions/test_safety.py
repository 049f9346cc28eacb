"""Issue 8, part A: each attack and each way of losing the user's data, reproduced in a sandbox.

Every case runs on a temporary config root and state directory; live values go to a fake
``proc/sys/vm`` under tmp_path through ``SysctlWriter`` (the CLI's writer is pointed there), so
neither /etc nor a real sysctl is touched. "Another user" is uid/gid 65534 (nobody).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from minfree.actions import safefs
from minfree.actions.apply import apply_changes
from minfree.actions.journal import Journal
from minfree.actions.lock import ChangeLock
from minfree.actions.persist import COMMENT_PREFIX, DROPIN
from minfree.actions.snapshot import PRIVATE, PUBLIC, capture, kernel_log_mode
from minfree.actions.sysctl import SysctlWriter
from minfree.actions.undo import DISCARD, KEEP, history, undo_last
from minfree.commands import snapshot as snapshot_command
from minfree.commands import tune, undo
from minfree.sources.root import SystemRoot
from config_sandbox import files_of, live, make_tree

NOBODY = 65534
VALUES = {"vm.min_free_kbytes": 90112, "vm.watermark_scale_factor": 50}
REASONS = {k: "safety test" for k in VALUES}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="attacks on root's state need root to set owners")


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


def apply(tree: Path, config: Path | None = None, **kwargs):
    return apply_changes(VALUES, REASONS, journal=Journal(tree / "state"), writer=SysctlWriter(tree),
                         config_root=config or tree / "config", verify=lambda values: [], **kwargs)


def temporaries(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob(f"*{safefs.TMP_MARK}*")]


def cli(argv, capsys, monkeypatch, tree):
    """Run a verb as the CLI does, its live values under ``tree``."""
    monkeypatch.setattr("minfree.actions.sysctl.SysctlWriter", lambda root: SysctlWriter(tree))
    parser = argparse.ArgumentParser(prog="minfree")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (tune, undo, snapshot_command):
        command.add_parser(sub)
    args = parser.parse_args(argv)
    code = args.run(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- Privilege ---------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["world-writable", "group-writable", "owned by nobody", "symlink"])
def test_undo_refuses_a_state_directory_someone_else_can_change(tree, capsys, monkeypatch, how):
    assert apply(tree).ok
    state = tree / "state"
    if how == "world-writable":
        os.chmod(state, 0o777)
    elif how == "group-writable":
        os.chmod(state / "journal", 0o770)
    elif how == "owned by nobody":
        os.chown(state, NOBODY, NOBODY)
    else:
        state.rename(tree / "real-state")
        os.symlink(tree / "real-state", state)
    before, files = live(tree), files_of(tree / "config")
    code, out = cli(["undo", "--state-dir", str(state)], capsys, monkeypatch, tree)
    assert code == 1
    assert ("writable by others" in out or "owned by uid 65534" in out or "is a symlink" in out), out
    assert live(tree) == before and files_of(tree / "config") == files


def test_tune_apply_refuses_an_existing_state_directory_of_another_user(tree):
    state = tree / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)
    before = live(tree)
    result = apply(tree)
    assert not result.ok and result.entry is None
    assert "owned by uid 65534, not root" in result.messages[0] and "nothing changed" in result.messages[0]
    assert live(tree) == before and not (state / "journal").exists()


def test_a_journal_entry_or_backup_owned_by_another_user_is_not_trusted(tree, capsys, monkeypatch):
    assert apply(tree, resolve_conflicts=True).ok
    entry = history(Journal(tree / "state"))[0]
    backup = tree / "state" / next(f.backup for f in entry.files if f.backup)
    backup.write_bytes(b"vm.min_free_kbytes = 1\n# attacker's bytes\n")  # a replaced backup
    os.chown(backup, NOBODY, NOBODY)
    before, files = live(tree), files_of(tree / "config")
    code, out = cli(["undo", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    assert code == 1 and "owned by uid 65534" in out, out
    assert b"attacker" not in (tree / "config/etc/sysctl.conf").read_bytes()
    os.chown(tree / "state/journal" / f"{entry.id}.json", NOBODY, NOBODY)
    code, out = cli(["undo", "--list", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    assert "UNUSABLE" in out and "owned by uid 65534" in out
    assert live(tree) == before and files_of(tree / "config") == files


def crafted(tree: Path, outside: Path, secret: Path) -> dict[str, dict]:
    """Entries an attacker could write: each names something outside what minfree manages."""
    ident = "20250101T120000.000000Z-42"
    base = {"id": ident, "created": "t", "status": "applied", "reason": "r",
            "config_root": str(tree / "config"), "live": {}, "files": []}
    own_backup = f"backups/{ident}/etc/sysctl.conf"
    return {
        "absolute path": {**base, "files": [{"path": str(outside), "existed": True, "backup": own_backup}]},
        "dot-dot path": {**base, "files": [{"path": "etc/sysctl.d/../../../outside.conf", "existed": True,
                                            "backup": own_backup}]},
        "not a sysctl file": {**base, "files": [{"path": "etc/cron.d/job", "existed": True, "backup": own_backup}]},
        "delete a file": {**base, "files": [{"path": "etc/passwd", "existed": False}]},
        "foreign backup": {**base, "files": [{"path": "etc/sysctl.conf", "existed": True,
                                              "backup": f"../../{secret.relative_to(tree)}"}]},
        "set-id mode": {**base, "files": [{"path": "etc/sysctl.conf", "existed": True, "backup": own_backup,
                                           "mode": 0o6777}]},
        "kernel sysctl": {**base, "live": {"../kernel/core_pattern": {"before": 1, "after": 2}}},
        "unmanaged vm key": {**base, "live": {"swappiness": {"before": 1, "after": 2}}},
        "config root escape": {**base, "config_root": "/tmp/../etc", "files": []},
        "string for a bool": {**base, "files": [{"path": "etc/sysctl.conf", "existed": "false"}]},
    }


@pytest.mark.parametrize("case", sorted(crafted(Path("/t"), Path("/t/o"), Path("/t/s"))))
def test_a_crafted_journal_entry_is_refused_before_anything_is_touched(tree, capsys, monkeypatch, case):
    outside, secret = tree / "outside.conf", tree / "secret"
    outside.write_bytes(b"precious\n")
    secret.write_bytes(b"root's secret\n")
    os.chmod(secret, 0o600)
    state = tree / "state"
    (state / "journal").mkdir(parents=True, mode=0o700)
    os.chmod(state, 0o700)
    doc = crafted(tree, outside, secret)[case]
    (state / "journal" / f"{doc['id']}.json").write_text(json.dumps(doc))
    backup = state / "backups" / doc["id"] / "etc/sysctl.conf"
    backup.parent.mkdir(parents=True)
    backup.write_bytes(b"attacker content\n")
    os.chmod(backup, 0o600)
    before, files, snap = live(tree), files_of(tree / "config"), files_of(tree)
    code, out = cli(["undo", "--state-dir", str(state)], capsys, monkeypatch, tree)
    assert code == 1 and "unusable" in out and "nothing was changed" in out, out
    assert live(tree) == before and files_of(tree / "config") == files
    assert outside.read_bytes() == b"precious\n" and secret.read_bytes() == b"root's secret\n"
    assert {k: v for k, v in files_of(tree).items() if "lock" not in k} == snap


@pytest.mark.parametrize("target", ["99-minfree.conf", ".json"])
def test_links_planted_at_temporary_names_are_never_followed(tree, monkeypatch, target):
    """The names are random now; even a guessed one (token fixed here), planted by an attacker who
    wins the race to it, makes the O_EXCL|O_NOFOLLOW create fail: nothing is written through it."""
    monkeypatch.setattr("secrets.token_hex", lambda n: "0000")
    victim = tree / "victim"
    victim.write_bytes(b"root-only file\n")
    real_open = os.open

    def plant_then_open(path, flags, mode=0o777, *, dir_fd=None):
        if isinstance(path, str) and safefs.TMP_MARK in path and target in path:
            os.symlink(victim, path, dir_fd=dir_fd)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    before = live(tree)
    monkeypatch.setattr("os.open", plant_then_open)
    result = apply(tree)
    monkeypatch.undo()
    assert not result.ok and "File exists" in " ".join(result.messages), result.messages
    assert victim.read_bytes() == b"root-only file\n" and live(tree) == before
    assert not (tree / "config" / DROPIN).exists()


def test_links_left_at_temporary_names_are_removed_not_followed(tree):
    victim = tree / "victim"
    victim.write_bytes(b"root-only file\n")
    assert apply(tree).ok
    planted = [tree / f"config/etc/sysctl.d/.99-minfree.conf{safefs.TMP_MARK}{os.getpid()}-0000",
               tree / f"state/journal/.x.json{safefs.TMP_MARK}{os.getpid()}"]
    for link in planted:
        os.symlink(victim, link)
    assert undo_last(Journal(tree / "state"), SysctlWriter(tree)).ok
    assert victim.read_bytes() == b"root-only file\n" and not any(os.path.lexists(p) for p in planted)


def test_snapshot_never_follows_a_planted_partial_link(tmp_path, monkeypatch):
    monkeypatch.setattr("secrets.token_hex", lambda n: "0000")
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep\n")
    out = tmp_path / "s.tar.gz"
    os.symlink(victim, tmp_path / "s.tar.gz.partial")  # the old temporary name
    os.symlink(victim, tmp_path / f".s.tar.gz{safefs.TMP_MARK}{os.getpid()}-0000")  # the new one, guessed
    source = SystemRoot(Path(__file__).parent.parent / "fixtures/tune/host-6.18")
    with pytest.raises(FileExistsError):
        capture(out, source, kernel_log=lambda: None)
    assert victim.read_bytes() == b"keep\n" and not out.exists()


def test_umask_000_creates_nothing_others_can_write(tree):
    old = os.umask(0)
    try:
        assert apply(tree, resolve_conflicts=True).ok
    finally:
        os.umask(old)
    state = files_of(tree / "state")
    assert state["journal"] == ("dir", 0o700) and state["backups"] == ("dir", 0o700)
    assert os.stat(tree / "state").st_mode & 0o777 == 0o700
    assert all(v[2] == 0o600 for v in state.values() if v[0] == "file"), state
    assert all(v[1] == 0o700 for v in state.values() if v[0] == "dir"), state
    assert os.stat(tree / "config" / DROPIN).st_mode & 0o777 == 0o644
    assert os.stat(tree / "config/etc/sysctl.conf").st_mode & 0o777 == 0o640  # kept


def test_snapshot_files_get_the_modes_of_what_they_hold(tmp_path):
    src = tmp_path / "src"
    for rel, mode in (("proc/zoneinfo", 0o444), ("proc/pagetypeinfo", 0o400), ("var/log/dmesg", 0o600)):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("Node 0, zone      DMA\n")
        os.chmod(src / rel, mode)
    old = os.umask(0)
    try:
        capture(tmp_path / "out", SystemRoot(src))
        capture(tmp_path / "out.tar.gz", SystemRoot(src))
    finally:
        os.umask(old)
    modes = {rel: os.stat(tmp_path / "out" / rel).st_mode & 0o777
             for rel in ("proc/zoneinfo", "proc/pagetypeinfo", "var/log/dmesg", "manifest.json")}
    assert modes == {"proc/zoneinfo": PUBLIC, "proc/pagetypeinfo": PRIVATE, "var/log/dmesg": PRIVATE,
                     "manifest.json": PUBLIC}
    assert os.stat(tmp_path / "out").st_mode & 0o777 == 0o755
    assert os.stat(tmp_path / "out.tar.gz").st_mode & 0o777 == PRIVATE
    with tarfile.open(tmp_path / "out.tar.gz") as archive:
        assert archive.getmember("proc/pagetypeinfo").mode == PRIVATE
        assert archive.getmember("proc/zoneinfo").mode == PUBLIC


@pytest.mark.parametrize("restrict,mode", [("1\n", PRIVATE), ("0\n", PUBLIC), (None, PRIVATE)])
def test_the_live_kernel_log_is_private_under_dmesg_restrict(tmp_path, restrict, mode):
    if restrict is not None:
        (tmp_path / "proc/sys/kernel").mkdir(parents=True)
        (tmp_path / "proc/sys/kernel/dmesg_restrict").write_text(restrict)
    assert kernel_log_mode(SystemRoot(tmp_path), None) == mode


@pytest.mark.live
def test_live_snapshot_kernel_log_mode_follows_this_kernel(tmp_path):
    restricted = Path("/proc/sys/kernel/dmesg_restrict").read_text().strip() != "0"
    capture(tmp_path / "snap", kernel_log=lambda: "6,1,1,-;hello\n")
    assert os.stat(tmp_path / "snap/var/log/dmesg").st_mode & 0o777 == (PRIVATE if restricted else PUBLIC)


def test_snapshot_into_a_missing_directory_creates_nothing(tmp_path, capsys, monkeypatch):
    from minfree.errors import UsageError

    with pytest.raises(UsageError, match="missing/dir does not exist"):
        cli(["snapshot", str(tmp_path / "missing/dir/x")], capsys, monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError):
        capture(tmp_path / "missing/x.tar.gz", SystemRoot(tmp_path))
    assert not (tmp_path / "missing").exists()


def test_snapshot_into_an_existing_directory_of_another_user_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.chown(out, NOBODY, NOBODY)
    with pytest.raises(safefs.UnsafeError, match="owned by uid 65534"):
        capture(out, SystemRoot(tmp_path / "src"))
    assert list(out.iterdir()) == []


# --- Losing the user's data ----------------------------------------------------------------

def later(tree: Path, what: str) -> None:
    if what == "line added to the drop-in":
        with open(tree / "config" / DROPIN, "a") as handle:
            handle.write("vm.swappiness = 10\n")
    elif what == "line added to sysctl.conf":
        with open(tree / "config/etc/sysctl.conf", "a") as handle:
            handle.write("net.core.somaxconn = 4096\n")
    else:
        (tree / "proc/sys/vm/watermark_scale_factor").write_text("75\n")


EDITS = ["line added to the drop-in", "line added to sysctl.conf", "live value set by hand"]


@pytest.mark.parametrize("what", EDITS)
def test_undo_refuses_to_throw_away_later_edits_and_names_them(tree, capsys, monkeypatch, what):
    assert apply(tree, resolve_conflicts=True).ok
    later(tree, what)
    before, files = live(tree), files_of(tree / "config")
    code, out = cli(["undo", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    assert code == 1 and "changed after it was applied" in out and "nothing was changed" in out
    assert ("vm.watermark_scale_factor is 75" in out) if what.startswith("live") else ("edited after" in out)
    assert live(tree) == before and files_of(tree / "config") == files
    assert history(Journal(tree / "state"))[0].status == "applied"


@pytest.mark.parametrize("what", EDITS)
def test_undo_keep_edits_reverts_the_rest_and_keeps_them(tree, capsys, monkeypatch, what):
    assert apply(tree, resolve_conflicts=True).ok
    later(tree, what)
    code, out = cli(["undo", "--keep-edits", "--json", "--state-dir", str(tree / "state")], capsys, monkeypatch,
                    tree)
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and any(m.startswith("kept a later edit") for m in doc["messages"]), out
    kept = {"live value set by hand": "vm.watermark_scale_factor", "line added to the drop-in": DROPIN,
            "line added to sysctl.conf": "etc/sysctl.conf"}[what]
    assert [k["what"] for k in doc["kept"]] == [kept]
    if what.startswith("live"):
        assert live(tree) == ("67584\n", "75\n")
        assert not (tree / "config" / DROPIN).exists()
    else:
        assert live(tree) == ("67584\n", "10\n")
    if what == "line added to the drop-in":
        assert "vm.swappiness = 10" in (tree / "config" / DROPIN).read_text()
    if what == "line added to sysctl.conf":
        assert (tree / "config/etc/sysctl.conf").read_bytes().endswith(b"net.core.somaxconn = 4096\n")


@pytest.mark.parametrize("what", EDITS)
def test_undo_discard_edits_restores_the_originals_and_says_so(tree, capsys, monkeypatch, what):
    before, files = live(tree), files_of(tree / "config")
    assert apply(tree, resolve_conflicts=True).ok
    later(tree, what)
    code, out = cli(["undo", "--discard-edits", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    assert code == 0 and "discarded a later edit" in out, out
    assert live(tree) == before and files_of(tree / "config") == files


def test_undo_with_another_config_root_is_refused(tree, capsys, monkeypatch):
    other = tree / "other"
    (other / "etc/sysctl.d").mkdir(parents=True)
    (other / "etc/sysctl.conf").write_bytes(b"# B's own\n")
    assert apply(tree, resolve_conflicts=True).ok
    applied, b_files = live(tree), files_of(other)
    code, out = cli(["undo", "--config-root", str(other), "--state-dir", str(tree / "state")],
                    capsys, monkeypatch, tree)
    assert code == 1 and f"was applied to config root {tree / 'config'}, not {other}" in out
    assert files_of(other) == b_files and live(tree) == applied
    assert history(Journal(tree / "state"))[0].status == "applied"


CONFLICT = "vm.min_free_kbytes = 1310720"


@pytest.mark.parametrize("name,original,lineno", [
    ("CRLF", f"kernel.sysrq = 1\r\n{CONFLICT}\r\nvm.swappiness = 10\r\n", 2),
    ("CR only", f"# joined by CR\r{CONFLICT}\rkernel.sysrq = 1\r", 2),
    ("VT inside a line", f"kernel.sysrq = 1\x0b# after a VT\n{CONFLICT}\n", 2),
    ("U+2028 inside a line", f"# a note\u2028still the note\n{CONFLICT}\nkernel.sysrq = 1\n", 2),
    ("no final newline", f"kernel.sysrq = 1\n{CONFLICT}", 2),
])
def test_resolve_conflicts_changes_only_the_conflicting_line(tree, name, original, lineno):
    conf = tree / "config/etc/sysctl.conf"
    raw = original.encode()
    conf.write_bytes(raw)
    assert apply(tree, resolve_conflicts=True).ok
    at = raw.index(CONFLICT.encode())
    assert conf.read_bytes() == raw[:at] + COMMENT_PREFIX.encode() + raw[at:]
    assert undo_last(Journal(tree / "state"), SysctlWriter(tree)).ok and conf.read_bytes() == raw


def test_an_existing_dropin_keeps_the_admins_settings_mode_and_owner(tree):
    dropin = tree / "config" / DROPIN
    mine = b"# the admin's\r\nkernel.panic = 10\r\nvm.min_free_kbytes = 1000\r\n"
    dropin.write_bytes(mine)
    os.chmod(dropin, 0o640)
    os.chown(dropin, 1234, 4321)
    assert apply(tree).ok
    text = dropin.read_bytes()
    assert text.startswith(b"# the admin's\r\nkernel.panic = 10\r\nvm.min_free_kbytes = 90112\r\n")
    assert b"vm.watermark_scale_factor = 50\n" in text
    st = os.stat(dropin)
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 1234, 4321)
    assert undo_last(Journal(tree / "state"), SysctlWriter(tree)).ok
    st = os.stat(dropin)
    assert dropin.read_bytes() == mine and (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 1234, 4321)


def test_a_symlinked_dropin_is_refused_not_replaced(tree):
    real = tree / "config/etc/minfree-real.conf"
    real.write_bytes(b"vm.min_free_kbytes = 1000\n")
    os.symlink(real, tree / "config" / DROPIN)
    before, files = live(tree), files_of(tree / "config")
    result = apply(tree)
    assert not result.ok and "is a symlink or not a regular file; minfree does not replace it" in result.messages[0]
    assert live(tree) == before and files_of(tree / "config") == files


def test_a_conflict_in_a_file_linked_from_elsewhere_is_not_edited(tree):
    """undo may only touch sysctl configuration files: a linked file outside them stays as it is."""
    elsewhere = tree / "config/etc/app/tuning.conf"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"vm.watermark_scale_factor = 200\n")
    os.symlink("../app/tuning.conf", tree / "config/etc/sysctl.d/99-zz-app.conf")
    result = apply(tree, resolve_conflicts=True)
    assert result.ok and elsewhere.read_bytes() == b"vm.watermark_scale_factor = 200\n"
    assert any("not edited: " in w and "app/tuning.conf" in w for w in result.warnings)
    assert undo_last(Journal(tree / "state"), SysctlWriter(tree)).ok  # the entry passes undo's checks


def test_owner_of_an_edited_conflict_file_is_kept(tree):
    conf = tree / "config/etc/sysctl.conf"
    os.chown(conf, 1234, 4321)
    assert apply(tree, resolve_conflicts=True).ok
    st = os.stat(conf)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1234, 4321, 0o640)


def test_a_second_change_while_one_runs_is_refused_with_the_holders_pid(tree, capsys, monkeypatch):
    Journal(tree / "state").prepare()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from minfree.actions.lock import ChangeLock\n"
         f"with ChangeLock(Path({str(tree / 'state')!r})):\n print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        before = live(tree)
        result = apply(tree)
        assert not result.ok and f"another minfree change is running (pid {holder.pid}" in result.messages[0]
        assert live(tree) == before and not (tree / "config" / DROPIN).exists()
        code, out = cli(["undo", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
        assert code == 1 and "another minfree change is running" in out
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert apply(tree).ok  # the kernel released the lock with the process


def test_the_lock_is_per_change_not_per_process(tree):
    Journal(tree / "state").prepare()
    with ChangeLock(tree / "state"):
        result = apply(tree)
    assert not result.ok and "another minfree change is running" in result.messages[0]


@pytest.mark.parametrize("damage", [b"{not json", b"", b'{"id": 3}', b"[]"])
def test_an_unreadable_newest_entry_is_reported_not_skipped(tree, capsys, monkeypatch, damage):
    assert apply(tree).ok
    newest = tree / "state/journal/29991231T235959.000000Z-1.json"
    newest.write_bytes(damage)
    os.chmod(newest, 0o600)
    before = live(tree)
    code, out = cli(["undo", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    assert code == 1 and f"{newest} is unusable" in out and "nothing was changed" in out, out
    assert live(tree) == before
    code, out = cli(["undo", "--list", "--json", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    entries = json.loads(out)["entries"]
    assert entries[0]["file"] == newest.name and entries[0]["status"] == "unusable" and entries[0]["problem"]
    assert entries[1]["status"] == "applied"
    code, out = cli(["undo", "--list", "--state-dir", str(tree / "state")], capsys, monkeypatch, tree)
    assert out.splitlines()[0].startswith(f"{newest.name}  UNUSABLE: ")


def test_stale_temporaries_of_a_killed_run_are_removed_on_the_next_run(tree):
    stale = [tree / "config/etc/.sysctl.conf.minfree-tmp-999", tree / "config/etc/sysctl.d/.99-minfree.conf"
             f"{safefs.TMP_MARK}999-abcd"]
    for path in stale:
        path.write_bytes(b"half written")
    result = apply(tree, resolve_conflicts=True)
    assert result.ok and all(not p.exists() for p in stale)
    assert sum("a temporary file a killed run left" in m for m in result.messages) == 2
    (tree / "state/journal/.x.json.minfree-tmp-999-abcd").write_bytes(b"{")
    done = undo_last(Journal(tree / "state"), SysctlWriter(tree))
    assert done.ok and any("a killed run left" in m for m in done.messages)
    assert temporaries(tree / "config", tree / "state") == []


def test_an_old_entry_without_after_hashes_is_still_undone(tree):
    """Entries written before the hashes existed: edits of files cannot be told, values still can."""
    before, files = live(tree), files_of(tree / "config")
    result = apply(tree)
    path = tree / "state/journal" / f"{result.entry.id}.json"
    doc = json.loads(path.read_text())
    for item in doc["files"]:
        del item["after_sha256"], item["uid"], item["gid"]
    path.write_text(json.dumps(doc))
    assert undo_last(Journal(tree / "state"), SysctlWriter(tree)).ok
    assert live(tree) == before and files_of(tree / "config") == files


def test_the_journal_records_what_the_change_left(tree):
    result = apply(tree)
    item = result.entry.files[0]
    assert item.path == DROPIN and not item.existed and item.mode == 0o644 and (item.uid, item.gid) == (0, 0)
    assert item.after_sha256 == hashlib.sha256((tree / "config" / DROPIN).read_bytes()).hexdigest()


def test_keep_and_discard_are_the_cli_choices():
    parser = argparse.ArgumentParser()
    undo.add_parser(parser.add_subparsers())
    assert parser.parse_args(["undo", "--keep-edits"]).edits == KEEP
    assert parser.parse_args(["undo", "--discard-edits"]).edits == DISCARD
    with pytest.raises(SystemExit):
        parser.parse_args(["undo", "--keep-edits", "--discard-edits"])


def tune_apply(tree: Path, capsys, monkeypatch, *extra: str) -> tuple[int, str]:
    """``minfree tune --apply`` as typed: the proposal from this machine, the writes to the sandbox."""
    monkeypatch.setattr("minfree.actions.apply.live_verifier", lambda root: (lambda values: []))
    return cli(["tune", "--apply", "--yes", "--set", "vm.min_free_kbytes=90112", "--config-root",
                str(tree / "config"), "--state-dir", str(tree / "state"), *extra], capsys, monkeypatch, tree)


def test_tune_apply_says_why_it_changed_nothing(tree, capsys, monkeypatch):
    Journal(tree / "state").prepare()
    with ChangeLock(tree / "state"):
        code, out = tune_apply(tree, capsys, monkeypatch)
    assert code == 1 and f"another minfree change is running (pid {os.getpid()}" in out
    os.chmod(tree / "state", 0o757)
    code, out = tune_apply(tree, capsys, monkeypatch, "--json")
    assert code == 1
    assert json.loads(out)["apply"]["messages"] == [
        f"state directory refused: {tree / 'state'}: writable by others (mode 0757); minfree only acts on "
        "state that no one else can change; nothing changed"]
    os.chmod(tree / "state", 0o700)
    code, out = tune_apply(tree, capsys, monkeypatch)
    assert code == 0 and "Applied and verified" in out and live(tree)[0] == "90112\n"


def test_an_undo_that_cannot_be_recorded_still_says_what_it_restored(tree, monkeypatch):
    before, files = live(tree), files_of(tree / "config")
    assert apply(tree, resolve_conflicts=True).ok

    def full_disk(self, entry):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Journal, "save", full_disk)
    done = undo_last(Journal(tree / "state"), SysctlWriter(tree))
    assert done.ok and done.messages[-1].startswith("could not record the undo in the journal: ")
    assert live(tree) == before and files_of(tree / "config") == files
    monkeypatch.undo()
    again = undo_last(Journal(tree / "state"), SysctlWriter(tree))  # the entry still says applied
    assert again.ok and all(f.action == "unchanged" for f in again.restoration.files)


def test_a_state_directory_under_a_directory_others_can_write_is_refused(tree):
    shared = tree / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # not sticky: anyone could rename state away and put their own
    result = apply_changes(VALUES, REASONS, journal=Journal(shared / "state"), writer=SysctlWriter(tree),
                           config_root=tree / "config", verify=lambda values: [])
    assert not result.ok and f"{shared}: writable by others (mode 0777): someone else could replace" \
        in result.messages[0]
    os.chmod(shared, 0o1777)  # sticky, as /tmp: others cannot move what root owns there
    assert apply_changes(VALUES, REASONS, journal=Journal(shared / "state"), writer=SysctlWriter(tree),
                         config_root=tree / "config", verify=lambda values: []).ok


def test_a_symlinked_sysctl_directory_is_not_followed(tree):
    elsewhere = tree / "elsewhere"
    elsewhere.mkdir()
    (tree / "config/etc/sysctl.d/99-sysctl.conf").unlink()
    (tree / "config/etc/sysctl.d").rmdir()
    os.symlink(elsewhere, tree / "config/etc/sysctl.d")
    before = live(tree)
    result = apply(tree)
    assert not result.ok and "sysctl.d is a symlink or not a directory" in result.messages[0], result.messages
    assert list(elsewhere.iterdir()) == [] and live(tree) == before
