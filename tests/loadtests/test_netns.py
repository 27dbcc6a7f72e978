import pytest

from loadtests.netns import lo_tx_bytes, tbf_args

PROC_NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1234567    890    0    0    0     0          0         0  7654321     891    0    0    0     0       0          0
  eth0:   5555      6    0    0    0     0          0         0     4444       5    0    0    0     0       0          0
"""  # noqa: E501


def test_tbf_for_a_10_mbit_link_matches_the_tried_recipe() -> None:
    assert tbf_args(10) == [
        "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
        "rate", "10000kbit", "burst", "32kbit", "latency", "400ms",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mbit", "rate", "burst"),
    [(100, "100000kbit", "320kbit"), (0.5, "500kbit", "32kbit"), (2.5, "2500kbit", "32kbit")],
)
def test_tbf_burst_grows_with_the_rate_but_never_below_32_kbit(
    mbit: float, rate: str, burst: str
) -> None:
    args = tbf_args(mbit)
    assert args[args.index("rate") + 1] == rate
    assert args[args.index("burst") + 1] == burst


@pytest.mark.parametrize("mbit", [0, -1, float("nan")])
def test_tbf_needs_a_positive_rate(mbit: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        tbf_args(mbit)


def test_lo_tx_bytes_reads_the_transmit_column() -> None:
    assert lo_tx_bytes(PROC_NET_DEV) == 7654321


def test_lo_tx_bytes_without_lo_is_an_error() -> None:
    without = "\n".join(line for line in PROC_NET_DEV.splitlines() if "lo:" not in line)
    with pytest.raises(ValueError, match="no 'lo' line"):
        lo_tx_bytes(without)
