"""Benchmark: our rsync transfer vs plain ``rsync -a -e ssh`` to the same loopback sshd.

Builds a ~1 GiB tree (200 x 5 MiB + 5,000 small files) in a temporary directory, starts one sshd on
127.0.0.1 (:class:`transfer.SshdServer`), then in one run:

1. full copies, alternating plain and ours (``ROUNDS`` each, each into an empty directory, ``sync`` included);
2. an incremental run after changing 1 % of the files (bytes sent and wall time, ours and plain).

Prints the results; ``--write`` also records them in ``bench/results/transfer.md`` (a tracked file). Run as
root: ``python3 bench/bench_transfer.py [--write]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko

from transfer import HostKeyPins, SshdServer, SSHShell, rsync
from transfer.openssh import fast_ciphers
from transfer.rsync_parse import RsyncStats, parse_stats
from transfer.sync import RsyncOptions, choose_compression

ROUNDS = 3
BIG, BIG_SIZE = 200, 5 << 20
SMALL = 5000
RESULTS = Path(__file__).resolve().parent / "results" / "transfer.md"


def build_tree(root: Path, rng: random.Random) -> int:
    """200 x 5 MiB + 5,000 small files (1-8 KiB) of random data, like the field notes' 1.07 GB tree."""
    total = 0
    for i in range(BIG):
        d = root / "big" / f"d{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"blob{i:03}.bin").write_bytes(rng.randbytes(BIG_SIZE))
        total += BIG_SIZE
    for i in range(SMALL):
        d = root / "small" / f"d{i % 40}"
        d.mkdir(parents=True, exist_ok=True)
        n = rng.randint(1, 8) * 1024
        (d / f"f{i:04}.dat").write_bytes(rng.randbytes(n))
        total += n
    return total


def change_one_percent(root: Path, rng: random.Random) -> list[Path]:
    """Rewrite 4 KiB in the middle of 1 % of the files (a few big, mostly small, like real edits)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    chosen = rng.sample(files, len(files) // 100)
    for p in chosen:
        with p.open("r+b") as f:
            f.seek(p.stat().st_size // 2)
            f.write(rng.randbytes(4096))
    return chosen


def timed(fn: object) -> tuple[float, object]:
    start = time.monotonic()
    out = fn()  # type: ignore[operator]
    subprocess.run(["sync"], check=True)
    return time.monotonic() - start, out


def plain_rsync(src: Path, dest: str, port: int, key: Path, known_hosts: Path) -> str:
    """``rsync -a -e ssh`` with OpenSSH's defaults; only what is needed to log in and check the host key."""
    ssh = f"ssh -F /dev/null -p {port} -i {key} -o UserKnownHostsFile={known_hosts}"
    ssh += " -o StrictHostKeyChecking=yes"
    argv = ["rsync", "-a", "--stats", "-e", ssh, f"{src}/", f"root@127.0.0.1:{dest}/"]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def server_ciphers(server: SshdServer) -> list[str]:
    out = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", str(server.config_file)], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("ciphers "))
    return line.split()[1].split(",")


def fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def version(argv: list[str]) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (r.stdout or r.stderr).splitlines()[0].strip()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the markdown report and, with ``--write``, record it."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--write", action="store_true", help=f"also write the report to {RESULTS}")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root (sshd and root login are needed)", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    rng = random.Random(20261127)
    with tempfile.TemporaryDirectory(prefix="bench-transfer-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        src = work / "src"
        t0 = time.monotonic()
        total = build_tree(src, rng)
        nfiles = BIG + SMALL
        print(
            f"tree: {nfiles} files, {total / 1e9:.2f} GB, built in {time.monotonic() - t0:.1f}s", flush=True
        )
        with SshdServer(work / "sshd", authorized_keys=[key.with_suffix(".pub").read_text()]) as server:
            known_hosts = work / "known_hosts"
            known_hosts.write_text(server.known_hosts_line("127.0.0.1") + "\n")
            pins = HostKeyPins.from_public_keys(server.host_public_keys())
            shell = SSHShell("127.0.0.1", port=server.port, key_filename=key, host_keys=pins)
            ours_cipher = next(c for c in fast_ciphers() if c in server_ciphers(server))
            default_cipher = server_ciphers(server)[0]
            times: dict[str, list[float]] = {"plain": [], "ours": []}
            for r in range(ROUNDS):
                for name in ("plain", "ours"):
                    dest = work / f"dst-{name}-{r}"
                    if name == "plain":
                        secs, _ = timed(
                            lambda d=dest: plain_rsync(src, str(d), server.port, key, known_hosts)
                        )
                    else:
                        secs, _ = timed(lambda d=dest: rsync(f"{src}/", str(d), dest_shell=shell))
                    times[name].append(secs)
                    print(f"round {r + 1} {name}: {secs:.2f}s = {total / secs / 1e6:.0f} MB/s", flush=True)
                    if r < ROUNDS - 1:
                        shutil.rmtree(dest)
                        subprocess.run(["sync"], check=True)
            last = ROUNDS - 1
            inc: list[tuple[str, float, RsyncStats]] = []
            for r in range(ROUNDS):  # each round changes another 1 %; both destinations see the same change
                changed = change_one_percent(src, rng)
                secs, out = timed(
                    lambda: plain_rsync(src, str(work / f"dst-plain-{last}"), server.port, key, known_hosts)
                )
                inc.append((f"{r + 1} plain", secs, parse_stats(str(out))))
                secs, res = timed(lambda: rsync(f"{src}/", str(work / f"dst-ours-{last}"), dest_shell=shell))
                inc.append((f"{r + 1} ours", secs, res.stats))  # type: ignore[attr-defined]
            identical = (
                subprocess.run(["diff", "-rq", str(src), str(work / f"dst-ours-{last}")]).returncode == 0
            )
            shell.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["plain"] / med["ours"]
    compression = choose_compression("127.0.0.1", RsyncOptions())
    rows = "\n".join(
        f"| {r + 1} | {times['plain'][r]:.2f} s ({total / times['plain'][r] / 1e6:.0f} MB/s) "
        f"| {times['ours'][r]:.2f} s ({total / times['ours'][r] / 1e6:.0f} MB/s) |"
        for r in range(ROUNDS)
    )
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    inc_rows = "\n".join(
        f"| {name} | {secs:.2f} s | {st.bytes_sent:,} | {st.literal_data:,} | {st.matched_data:,} "
        f"| {st.files_transferred} |"
        for name, secs, st in inc
    )
    inc_med = {k: statistics.median(t for n, t, _ in inc if n.endswith(k)) for k in ("plain", "ours")}
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = f"""# Transfer benchmark: our rsync vs plain `rsync -a -e ssh`

Generated by `python3 bench/bench_transfer.py --write` on {when}.

## Setup

- Tree: {nfiles} files ({BIG} x 5 MiB + {SMALL} small files of 1-8 KiB, random data), {total / 1e9:.2f} GB,
  on the root file system (ext4), page cache warm.
- Server: one `transfer.SshdServer` on 127.0.0.1 (OpenSSH, own host key), login as root with an ed25519 key.
- Plain: `rsync -a --stats -e "ssh -F /dev/null -p PORT -i KEY -o UserKnownHostsFile=...
  -o StrictHostKeyChecking=yes"` (OpenSSH's default cipher, which the server lists first: `{default_cipher}`).
- Ours: `transfer.rsync(src/, dest, dest_shell=SSHShell(...))` with default `RsyncOptions`:
  `-aH --secluded-args --numeric-ids --partial --no-compress --info=progress2 --no-inc-recursive --stats`,
  ssh with pinned host key, cipher preference `{",".join(fast_ciphers())}`.
- **Cipher chosen (ours): `{ours_cipher}`** (the CPU has AES instructions, so AES-GCM comes first).
- **Compression chosen (ours): `{compression or "none"}`**: the peer is loopback/private, where CPU, not the
  link, is the limit (2 cores shared by rsync, ssh, sshd and the receiver); compression is only enabled
  towards public addresses or with a bandwidth limit (`choose_compression`).
- Every timing includes a final `sync`; each full copy goes to an empty directory; plain and ours alternate.

## Full copy

| round | plain `rsync -a -e ssh` | ours |
|---|---|---|
{rows}

Median: plain {med["plain"]:.2f} s, ours {med["ours"]:.2f} s. **Speed ratio ours/plain = {ratio:.2f}**
(target >= 1.0).

## Incremental runs, each after changing another 1 % of the files ({len(changed)} files, 4 KiB each)

| round | wall time | bytes sent | literal data | matched data | files transferred |
|---|---|---|---|---|---|
{inc_rows}

Median wall time: plain {inc_med["plain"]:.2f} s, ours {inc_med["ours"]:.2f} s.
Destination identical to the source after the incremental runs: {"yes" if identical else "NO"}.

## Machine

- CPU: {cpu}, {os.cpu_count()} cores; RAM {ram_gib:.0f} GiB
- Kernel {platform.release()}; {version(["rsync", "--version"])}; {version(["ssh", "-V"])}
- Python {platform.python_version()}, paramiko {paramiko.__version__}
- Load average (1/5/15 min) before the run {fmt_load(load_before)}, after {fmt_load(os.getloadavg())}.
  On 2 cores the sender, ssh, sshd and the receiver compete, so single rounds vary; plain and ours
  alternate and their medians are compared.
"""
    print(text)
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
