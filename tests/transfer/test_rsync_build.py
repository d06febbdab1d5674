"""rsync's pure parts: argv builder, path safety, compression choice, progress2 and --stats parsers."""

from __future__ import annotations

import pytest

from transfer.openssh import SSHTarget, on_fast_network, remote_spec, ssh_argv, ssh_command, ssh_options
from transfer.rsync_parse import ProgressParser, RsyncProgress, parse_progress_line, parse_stats
from transfer.ssh import SSHShell
from transfer.sync import (
    RsyncOptions,
    choose_compression,
    local_path_arg,
    remote_source_arg,
    rsync,
    rsync_argv,
)


def test_default_argv() -> None:
    """Defaults: -aH, secluded args, numeric ids, partial, no compression, progress and stats."""
    assert rsync_argv(["src/"], "h:dst") == [
        "rsync", "-aH", "--secluded-args", "--numeric-ids", "--partial", "--no-compress",
        "--info=progress2", "--no-inc-recursive", "--stats", "--", "src/", "h:dst",
    ]  # fmt: skip


def test_all_options_argv() -> None:
    """Every option maps to its rsync flag; ssh and remote rsync path come last before the paths."""
    opts = RsyncOptions(
        relative=True, delete=True, checksum=True, acls=True, xattrs=True, sparse=True, one_file_system=True,
        bwlimit="10m", excludes=["*.tmp", "cache/"], compress=True, dry_run=True, extra=["--itemize-changes"],
    )  # fmt: skip
    argv = rsync_argv(["a", "b"], "d", options=opts, rsh="ssh -p 2", remote_rsync_path="sudo -n rsync",
                      compression="zstd", progress=False)  # fmt: skip
    assert argv[1] == "-aRcHAXxSn"
    for flag in ("--delete", "--bwlimit=10m", "--exclude=*.tmp", "--exclude=cache/", "--compress",
                 "--compress-choice=zstd", "--rsync-path=sudo -n rsync", "--itemize-changes"):  # fmt: skip
        assert flag in argv
    assert "--info=progress2" not in argv
    assert argv[argv.index("-e") + 1] == "ssh -p 2"
    assert argv[-4:] == ["--", "a", "b", "d"]
    minimal = rsync_argv(["a"], "b", options=RsyncOptions(archive=False, hard_links=False, numeric_ids=False))
    assert minimal[1] == "--secluded-args" and "--numeric-ids" not in minimal


def test_no_source_is_an_error() -> None:
    """An empty source list is refused."""
    with pytest.raises(ValueError):
        rsync_argv([], "d")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("plain/dir/", "plain/dir/"),
        ("/abs/-x", "/abs/-x"),
        ("-rf", "./-rf"),
        ("host:path", "./host:path"),
        ("dir/a:b", "dir/a:b"),
        (b"\xff/x", "\udcff/x"),
    ],
)
def test_local_path_arg(path: str | bytes, expected: str) -> None:
    """Leading dashes and colons before the first slash are defused with ./; bytes survive."""
    assert local_path_arg(path) == expected


def test_remote_source_wildcards_escaped() -> None:
    """The remote rsync's own wildcard expansion is neutralised in source paths."""
    assert remote_source_arg("/d/x [a]*?\\b") == "/d/x \\[a\\]\\*\\?\\\\b"
    with pytest.raises(ValueError):
        remote_source_arg("")


@pytest.mark.parametrize(
    ("host", "options", "expected"),
    [
        ("127.0.0.1", RsyncOptions(), None),
        ("10.1.2.3", RsyncOptions(), None),
        ("fe80::1", RsyncOptions(), None),
        ("54.1.2.3", RsyncOptions(), "zstd"),
        ("ec2-54-1-2-3.compute-1.amazonaws.com", RsyncOptions(), "zstd"),
        ("ip-10-0-0-1.ec2.internal", RsyncOptions(), None),
        ("127.0.0.1", RsyncOptions(bwlimit=1000), "zstd"),
        ("54.1.2.3", RsyncOptions(compress=False), None),
        ("127.0.0.1", RsyncOptions(compress=True, compress_choice="lz4"), "lz4"),
    ],
)
def test_choose_compression(host: str, options: RsyncOptions, expected: str | None) -> None:
    """Compression only towards public hosts or limited bandwidth, unless forced either way."""
    assert choose_compression(host, options) == expected


def test_ssh_options_pin_the_host_key() -> None:
    """rsync's ssh ignores user config, uses only our key and checks our known_hosts strictly."""
    t = SSHTarget("10.0.0.5", 2222, "ec2-user", "/k/id", "/k/kh", host_key_algorithms=("ssh-ed25519",))
    opts = ssh_options(t)
    assert opts[:2] == ["-F", "/dev/null"] and opts[6:8] == ["-i", "/k/id"]
    joined = " ".join(opts)
    for want in ("StrictHostKeyChecking=yes", "UserKnownHostsFile=/k/kh", "IdentitiesOnly=yes",
                 "HostKeyAlias=pinned-host", "HostKeyAlgorithms=ssh-ed25519", "BatchMode=yes", "-p 2222",
                 "-l ec2-user", "Compression=no"):  # fmt: skip
        assert want in joined
    assert ssh_argv(t, "echo hi")[-3:] == ["10.0.0.5", "--", "echo hi"]
    assert ssh_command(t).startswith("ssh -F /dev/null")
    assert remote_spec(t, "/p") == "10.0.0.5:/p" and remote_spec(SSHTarget("::1"), "/p") == "[::1]:/p"


def test_jump_host_becomes_proxy_command() -> None:
    """A jump target is reached through ProxyCommand ssh ... -W %h:%p with its own pinned options."""
    jump = SSHTarget("bastion", 22, "u", "/k/j%1", "/k/jkh")
    opts = ssh_options(SSHTarget("inner", jump=jump))
    proxy = next(o for o in opts if o.startswith("ProxyCommand="))
    assert proxy.endswith(" bastion -W %h:%p") and "/k/j%%1" in proxy and "UserKnownHostsFile=/k/jkh" in proxy


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("         32,768   0%    0.00kB/s    0:00:00  ", RsyncProgress(32768, 0, None, 0.0, 0.0)),
        (
            "     20,000,000  98%  906.77MB/s    0:00:01 (xfr#1, to-chk=3/5)",
            RsyncProgress(20000000, 98, 20408163, 906.77 * 1024**2, 1.0, 1, 3, 5),
        ),
        (
            "  1,073,741,824 100%  110.20MB/s    0:09:17 (xfr#5200, ir-chk=1000/6201)",
            RsyncProgress(1073741824, 100, 1073741824, 110.2 * 1024**2, 557.0, 5200, 1000, 6201),
        ),
        ("Number of files: 5 (reg: 4, dir: 1)", None),
        ("sending incremental file list", None),
    ],
)
def test_parse_progress_line(line: str, expected: RsyncProgress | None) -> None:
    """progress2 lines give bytes, percent, estimated total, rate in bytes/s, ETA and file counters."""
    assert parse_progress_line(line) == expected


def test_progress_parser_handles_split_chunks_and_cr() -> None:
    """Updates separated by CR, split across chunks, reach the callback; other lines are kept."""
    seen: list[RsyncProgress] = []
    p = ProgressParser(seen.append)
    data = b"\r  1,000  10%  1.00kB/s  0:00:09  \r  10,000 100%  2.00kB/s  0:00:05 (xfr#1, to-chk=0/1)"
    data += b"\n\nsent 1 bytes"
    for i in range(0, len(data), 7):
        p.feed(data[i : i + 7])
    p.close()
    assert [s.bytes_done for s in seen] == [1000, 10000] and p.last == seen[-1]
    assert p.lines == ["sent 1 bytes"]


STATS = """
Number of files: 5,201 (reg: 5,200, dir: 1)
Number of created files: 52 (reg: 52)
Number of deleted files: 3
Number of regular files transferred: 52
Total file size: 1,073,741,824 bytes
Total transferred file size: 10,737,418 bytes
Literal data: 457,123 bytes
Matched data: 10,280,295 bytes
File list size: 0
Total bytes sent: 467,900
Total bytes received: 31,337

sent 467,900 bytes  received 31,337 bytes  998,474.00 bytes/sec
total size is 1,073,741,824  speedup is 2,150.76
"""


def test_parse_stats() -> None:
    """--stats numbers (with thousands separators) and the speedup are parsed; unknown lines ignored."""
    s = parse_stats(STATS)
    assert (s.files, s.files_created, s.files_deleted, s.files_transferred) == (5201, 52, 3, 52)
    assert (s.total_size, s.transferred_size) == (1073741824, 10737418)
    assert (s.literal_data, s.matched_data, s.bytes_sent, s.bytes_received) == (
        457123,
        10280295,
        467900,
        31337,
    )
    assert s.speedup == 2150.76
    assert parse_stats("") == parse_stats("garbage: x")


@pytest.mark.parametrize("host", ["-oProxyCommand=touch /tmp/x", "", "a b", "h\n-oX=y", "-h"])
def test_hosts_that_ssh_would_read_as_options_are_refused(host: str) -> None:
    """A destination starting with '-' or holding whitespace never reaches ssh's or rsync's command line."""
    with pytest.raises(ValueError, match="unsafe host"):
        SSHTarget(host=host)
    with pytest.raises(ValueError, match="unsafe host"):
        SSHShell(host)
    if host:  # an empty dest_address means "the destination shell's host"
        with pytest.raises(ValueError, match="unsafe host"):  # refused before any connection is made
            rsync(
                "src/", "dst", src_shell=SSHShell("127.0.0.1"), dest_shell=SSHShell("::1"), dest_address=host
            )


@pytest.mark.parametrize("host", ["10.0.0.1", "::1", "fe80::1%eth0", "ip-10-0-0-1.ec2.internal", "h_1"])
def test_real_hosts_are_accepted(host: str) -> None:
    """Names, IPv4 and IPv6 literals (with a zone) pass the check."""
    assert SSHTarget(host=host).host == host


@pytest.mark.parametrize(
    ("host", "fast"),
    [("127.0.0.1", True), ("10.0.0.5", True), ("[fe80::1]", True), ("ip-10-0-0-5.ec2.internal", True),
     ("localhost", True), ("54.1.2.3", False), ("ec2-54-1-2-3.compute-1.amazonaws.com", False)],
)  # fmt: skip
def test_on_fast_network_is_one_rule_for_rsync_and_block_copy(host: str, fast: bool) -> None:
    """rsync's and block_copy's automatic compression decide by the same rule."""
    assert on_fast_network(host) is fast
    assert (choose_compression(host, RsyncOptions()) is None) is fast
