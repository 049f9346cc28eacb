"""The sizing policy on a captured 6.18 host: reasons, profiles, and bounds (hypothesis)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.model.record import replace
from minfree.analysis.prediction import default_min_free
from minfree.proc.netdev import NetDevice
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system
from minfree.analysis import sizing as policy
from minfree.analysis import thresholds as T
from minfree.analysis.sizing import MIN_FREE, WSF, FailureSummary, propose

HOST = Path(__file__).parent.parent / "fixtures/tune/host-6.18"


@pytest.fixture(scope="module")
def state():
    return load_system(SystemRoot(HOST))


def nic(name="eth0", mtu=1500, speed=None, driver="ixgbe"):
    return NetDevice(name, mtu, speed, driver, "up", False)


def with_nics(state, *nics):
    return replace(state, netdevs=tuple(nics))


def change(proposal, key):
    return next(c for c in proposal.changes if c.key == key)


def test_generic_without_evidence_keeps_the_kernel_default(state):
    p = propose(state)
    assert default_min_free(state).kbytes == 67584
    assert change(p, MIN_FREE).proposed == 67584 and change(p, WSF).proposed == 10
    assert not p.refused
    assert "kernel default 67584 kB" in change(p, MIN_FREE).reason


def test_step_is_three_pageblocks_per_node(state):
    assert policy.min_free_step_kb(state) == 3 * 512 * 4  # 6 MiB, events-kmem.rst


@pytest.mark.parametrize(("mtu", "steps"), [(1500, 0), (3000, 1), (7806, 1), (7807, 2), (7900, 2), (9000, 2)])
def test_mtu_steps_follow_the_receive_order_doctor_uses(state, mtu, steps):
    """One MTU -> order rule for tune and doctor (they disagreed for MTU 7807-7900)."""
    from minfree.analysis.nic import receive_order

    mfk = change(propose(with_nics(state, nic(mtu=mtu))), MIN_FREE)
    assert mfk.proposed == 67584 + steps * 6144
    assert ("order-2" in mfk.reason) == (receive_order(mtu, 4096) >= 2)


def test_evidence_adds_steps_and_wsf(state):
    s = with_nics(state, nic(mtu=9000, speed=25_000))
    p = propose(s, failures=FailureSummary(atomic_high_order=4, max_atomic_order=2, total=4))
    mfk = change(p, MIN_FREE)
    # jumbo + order-2 MTU + fast NIC + high-order atomic failures = 1 + 1 + 1 + 2 steps
    assert mfk.proposed == 67584 + 5 * 6144
    assert "jumbo" in mfk.reason and "order 2" in mfk.reason
    wsf = change(p, WSF)
    assert wsf.proposed >= T.WSF_AFTER_ATOMIC_FAILURES and not wsf.refused


def test_nic_line_rate_sizes_the_kswapd_lead(state):
    s = with_nics(state, nic(speed=100_000))
    wsf = change(propose(s), WSF)
    lowmem_pages = s.managed_kb(lowmem_only=True) // 4
    burst = 100_000 * 1_000_000 // 8 * T.KSWAPD_REACTION_SECONDS / 4096
    assert wsf.proposed * lowmem_pages / 10_000 >= burst > (wsf.proposed - 1) * lowmem_pages / 10_000


def test_aerospike_on_a_small_host_is_capped_at_the_safe_share_unless_forced(state):
    """The 1.1 GiB floor is above 5 % of this host: tune proposes the safe cap instead (applicable,
    explained with what the floor is for and what to do), and the full floor only with --force."""
    capped = change(propose(state, profile="aerospike"), MIN_FREE)
    assert capped.refused is None and capped.proposed == capped.bounds.safe_max < T.AEROSPIKE_MIN_FREE_KB
    assert "1 GiB shared-memory allocations" in capped.reason and "capped at the safe" in capped.reason
    assert "minfree tune --trace" in capped.reason and "--force applies the full floor" in capped.reason
    forced = change(propose(state, profile="aerospike", force=True), MIN_FREE)
    assert forced.refused is None and forced.forced and forced.effective == T.AEROSPIKE_MIN_FREE_KB


def test_swappiness_advice_is_the_rule_doctor_warns_by(state):
    """aerospike asked for 0 while doctor warns that 0 raises the OOM risk: both now follow
    thresholds.SWAPPINESS_LAST_RESORT, and no profile ever advises 0."""
    for profile in ("generic", "aerospike"):
        for swappiness in (0, 60):
            s = replace(state, sysctls=replace(state.sysctls, swappiness=swappiness))
            advice = [a for a in propose(s, profile=profile).advice if a.key == "vm.swappiness"]
            assert all(a.suggestion == str(T.SWAPPINESS_LAST_RESORT) for a in advice)
            if swappiness == 0 or profile == "aerospike":
                assert advice, (profile, swappiness)


def test_aerospike_with_cloud_driver_asks_for_1_25_gib(state):
    s = with_nics(state, nic(driver="ena"))
    assert change(propose(s, profile="aerospike", force=True), MIN_FREE).proposed == 1_310_720
    advice = {a.key for a in propose(s, profile="aerospike").advice}
    assert {"vm.swappiness", "transparent_hugepage/enabled"} <= advice


def test_kernel_range_is_never_forced(state):
    p = propose(state, overrides={MIN_FREE: -1, WSF: 3001}, force=True)
    assert "kernel's range" in change(p, MIN_FREE).refused
    assert "kernel's range" in change(p, WSF).refused


def test_below_the_thp_rule_is_noted_when_forced(state):
    p = propose(state, overrides={MIN_FREE: 8192}, force=True)
    assert change(p, MIN_FREE).forced and any("THP recommendation" in n for n in p.notes)


@settings(max_examples=60, deadline=None)
@given(mfk=st.integers(-2**33, 2**33), wsf=st.integers(-10, 5000), force=st.booleans())
def test_bounds_hold_for_any_user_value(state, mfk, wsf, force):
    p = propose(state, overrides={MIN_FREE: mfk, WSF: wsf}, force=force)
    m, w = change(p, MIN_FREE), change(p, WSF)
    for c in (m, w):
        b = c.bounds
        if c.refused is None:
            assert b.kernel_min <= c.proposed <= b.kernel_max
    if m.refused is None and not force:
        assert m.bounds.floor <= m.proposed <= m.bounds.safe_max
    if w.refused is None and not force:
        assert policy.high_share(state, m.effective, w.proposed) <= T.SAFE_HIGH_SHARE


@settings(max_examples=60, deadline=None)
@given(
    mtu=st.integers(68, 65536), speed=st.none() | st.integers(10, 400_000),
    order0=st.integers(0, 50), high=st.integers(0, 50), profile=st.sampled_from(sorted(policy.PROFILES)),
    driver=st.sampled_from(["ena", "ixgbe", "virtio_net"]),
)
def test_policy_never_below_default_nor_above_cap_without_force(state, mtu, speed, order0, high, profile, driver):
    s = with_nics(state, nic(mtu=mtu, speed=speed, driver=driver))
    failures = FailureSummary(order0, high, 2 if high else (0 if order0 else None), 0, order0 + high)
    p = propose(s, profile=profile, failures=failures)
    for c in p.changes:
        if c.refused is None:
            assert c.forced is None
            assert c.bounds.kernel_min <= c.effective <= c.bounds.kernel_max
    m = change(p, MIN_FREE)
    assert m.effective >= m.bounds.floor
    assert m.effective <= m.bounds.safe_max or m.effective == m.current


def test_a_current_value_doctor_calls_too_high_is_lowered_not_kept(state):
    """tune never keeps (nor proposes) the reserve doctor's min_free_too_high finding tells the
    user to lower; a current value under the cap but above the sizing is kept."""
    cap = policy.min_free_bounds(state).safe_max
    too_high = replace(state, sysctls=replace(state.sysctls, min_free_kbytes=cap + 4096))
    lowered = change(propose(too_high), MIN_FREE)
    assert lowered.proposed == 67584 and lowered.refused is None
    assert f"above the safe cap {cap} kB" in lowered.reason
    high_but_safe = replace(state, sysctls=replace(state.sysctls, min_free_kbytes=cap - 4096))
    kept = change(propose(high_but_safe), MIN_FREE)
    assert kept.proposed == cap - 4096 and "already above this: kept" in kept.reason
