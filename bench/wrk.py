"""HTTP load from wrk (a C load generator), so that the servers measured keep the cores.

A Python client on a two-core machine takes most of a core from the servers it measures;
wrk, with one thread, takes a small part of one. Installed from Debian when missing (as
root); `available()` says whether it can run, and callers name their fallback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Cycles through prebuilt raw requests (separated by NUL) and prints the summary as JSON.
_SCRIPT = """
local requests, count, index = {}, 0, 0
init = function(args)
  local file = io.open(args[1], "rb")
  local all = file:read("*a")
  file:close()
  for request in string.gmatch(all, "([^%z]+)") do
    count = count + 1
    requests[count] = request
  end
  index = math.random(count) - 1
end
request = function()
  index = index % count + 1
  return requests[index]
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "non2xx": %d, "socket": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: int) -> float:
        return {50: self.p50_ms, 99: self.p99_ms}[p]


def available() -> bool:
    """wrk on the PATH, installed from Debian first when we may (root with apt-get)."""
    if shutil.which("wrk"):
        return True
    if shutil.which("apt-get") and os.geteuid() == 0:
        for step in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"]):
            subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shutil.which("wrk") is not None


def run(
    port: int, requests: list[bytes], seconds: float, connections: int, threads: int = 1
) -> WrkResult:
    """`connections` keep-alive connections to 127.0.0.1:`port` for `seconds`, cycling
    through `requests` (raw HTTP/1.1, as bench/load.py builds them)."""
    with tempfile.TemporaryDirectory(prefix="substore-wrk-") as tmp:
        script, payload = Path(tmp, "requests.lua"), Path(tmp, "requests.bin")
        script.write_text(_SCRIPT)
        payload.write_bytes(b"\0".join(requests))
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s"]
        command += ["-s", str(script), f"http://127.0.0.1:{port}/", "--", str(payload)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    return WrkResult(
        summary["requests"],
        summary["seconds"],
        summary["p50"],
        summary["p99"],
        summary["non2xx"],
        summary["socket"],
    )
