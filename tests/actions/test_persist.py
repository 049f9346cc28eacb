"""Boot-winner and conflict detection on trees shaped like Debian, RHEL and Ubuntu; tuned."""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, strategies as st

from minfree.sources.root import SystemRoot
from minfree.sources.readers import read_boot_settings
from minfree.actions.persist import COMMENT_PREFIX, DROPIN, comment_out, detect_tuned, plan_persist, resolve_in_root
from minfree.proc.sysctl_files import conf_lines, parse_sysctl_conf

KEYS = {"vm.min_free_kbytes": 90112, "vm.watermark_scale_factor": 50}
REASONS = {"vm.min_free_kbytes": "test", "vm.watermark_scale_factor": "test"}


def put(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def debian(root: Path) -> None:
    put(root, "etc/sysctl.conf", "# /etc/sysctl.conf\nvm.min_free_kbytes = 1310720\n")
    os.makedirs(root / "etc/sysctl.d", exist_ok=True)
    os.symlink("../sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf")
    put(root, "usr/lib/sysctl.d/50-default.conf", "kernel.sysrq = 16\n")


def rhel(root: Path) -> None:
    put(root, "usr/lib/sysctl.d/00-system.conf", "kernel.shmmax = 4294967295\n")
    put(root, "usr/lib/sysctl.d/50-default.conf", "vm.watermark_scale_factor = 20\n")
    put(root, "etc/sysctl.conf", "# System default settings live in /usr/lib/sysctl.d/00-system.conf.\n")
    put(root, "etc/tuned/active_profile", "hpc-compute\n")
    put(root, "usr/lib/tuned/hpc-compute/tuned.conf",
        "[main]\ninclude=latency-performance\n[sysctl]\nvm.min_free_kbytes=135168\nvm.zone_reclaim_mode=1\n")
    put(root, "usr/lib/tuned/latency-performance/tuned.conf", "[sysctl]\nvm.swappiness=10\n")


def ubuntu(root: Path) -> None:
    put(root, "etc/sysctl.d/10-network-security.conf", "net.ipv4.conf.default.rp_filter=2\n")
    put(root, "etc/sysctl.d/10-magic-sysrq.conf", "kernel.sysrq = 176\n")
    put(root, "etc/sysctl.d/10-vm.conf", "vm.min_free_kbytes = 67584\n")
    put(root, "etc/sysctl.conf", "#vm.swappiness=10\n")


def test_debian_symlinked_sysctl_conf_shadows_the_dropin(tmp_path):
    debian(tmp_path)
    plan = plan_persist(tmp_path, KEYS, REASONS)
    where = [(a.path, a.real_path) for a in plan.shadowed_by]
    # 99-sysctl.conf sorts after 99-minfree.conf, and procps applies sysctl.conf last again
    assert where == [("etc/sysctl.d/99-sysctl.conf", "etc/sysctl.conf"), ("etc/sysctl.conf", "etc/sysctl.conf")]
    assert plan.conflict_files == ["etc/sysctl.conf"]
    assert not plan.overridden


def test_debian_winner_agrees_with_the_boot_model(tmp_path):
    debian(tmp_path)
    (tmp_path / DROPIN).write_text(plan_persist(tmp_path, KEYS, REASONS).text)
    winners = read_boot_settings(SystemRoot(tmp_path))
    assert winners["vm.min_free_kbytes"].path == "etc/sysctl.conf"  # still shadowed
    assert winners["vm.watermark_scale_factor"].path == DROPIN


def test_rhel_usr_lib_is_overridden_and_tuned_is_reported(tmp_path):
    rhel(tmp_path)
    plan = plan_persist(tmp_path, KEYS, REASONS)
    assert not plan.shadowed_by
    assert [(a.path, a.key, a.value) for a in plan.overridden] == [
        ("usr/lib/sysctl.d/50-default.conf", "vm.watermark_scale_factor", "20")]
    tuned = detect_tuned(tmp_path)
    assert tuned is not None and tuned.name == "hpc-compute" and tuned.reapply_sysctl
    assert tuned.vm_sysctls == {"vm.swappiness": "10", "vm.min_free_kbytes": "135168", "vm.zone_reclaim_mode": "1"}
    assert "re-applies /etc/sysctl.d" in tuned.warning(set(KEYS))
    put(tmp_path, "etc/tuned/tuned-main.conf", "daemon = 1\nreapply_sysctl = 0\n")
    assert "wins over sysctl.d" in detect_tuned(tmp_path).warning(set(KEYS))


def test_ubuntu_10_files_are_overridden(tmp_path):
    ubuntu(tmp_path)
    plan = plan_persist(tmp_path, KEYS, REASONS)
    assert [a.path for a in plan.overridden] == ["etc/sysctl.d/10-vm.conf"] and not plan.shadowed_by
    assert detect_tuned(tmp_path) is None


def test_run_override_is_found_and_same_name_in_etc_masks_it(tmp_path):
    ubuntu(tmp_path)
    put(tmp_path, "run/sysctl.d/99-zz-override.conf", "vm.min_free_kbytes = 4096\n")
    plan = plan_persist(tmp_path, KEYS, REASONS)
    assert [a.path for a in plan.shadowed_by] == ["run/sysctl.d/99-zz-override.conf"]
    put(tmp_path, "run/sysctl.d/99-minfree.conf", "vm.min_free_kbytes = 1\n")  # masked by /etc's
    plan = plan_persist(tmp_path, KEYS, REASONS)
    assert "run/sysctl.d/99-minfree.conf" not in {a.path for a in plan.shadowed_by + plan.overridden}


def test_absolute_symlink_is_resolved_inside_the_root(tmp_path):
    put(tmp_path, "etc/sysctl.conf", "vm.min_free_kbytes = 5\n")
    os.makedirs(tmp_path / "etc/sysctl.d")
    os.symlink("/etc/sysctl.conf", tmp_path / "etc/sysctl.d/99-sysctl.conf")
    assert resolve_in_root(tmp_path, "etc/sysctl.d/99-sysctl.conf") == "etc/sysctl.conf"
    os.symlink("loop", tmp_path / "etc/sysctl.d/loop")
    assert resolve_in_root(tmp_path, "etc/sysctl.d/loop") is None


def test_comment_out_keeps_other_bytes():
    text = "a=1\r\nvm.min_free_kbytes = 9\nb = 2"
    assert comment_out(text, {2, 99}).replace("# disabled by minfree tune (see 99-minfree.conf): ", "") == text


LINE_PIECES = st.sampled_from(["vm.min_free_kbytes = 9", "# note", "kernel.sysrq=1", "", " ", "\x0b", "\u2028",
                               "\x0c", "\x85", "é", "\r\n", "\r", "\n", ";x"])


@given(st.lists(LINE_PIECES, max_size=30), st.sets(st.integers(1, 40)))
def test_comment_out_inserts_the_prefix_at_line_starts_and_changes_no_other_byte(pieces, linenos):
    text = "".join(pieces)
    lines = conf_lines(text)
    assert "".join(lines) == text
    out = comment_out(text, linenos)
    expected = "".join(COMMENT_PREFIX + line if n in linenos else line for n, line in enumerate(lines, 1))
    assert out == expected
    # the parser numbers lines as comment_out does: a commented line is no longer a setting
    settings = {s.lineno for s in parse_sysctl_conf(out).settings}
    assert not settings & linenos
