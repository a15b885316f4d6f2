"""`hazard-engine setup`: install what the tests need that pip cannot.

Kafka comes from Maven Central into the cache (as `broker up` would do on
first use); promtool and amtool come from Debian's prometheus and
prometheus-alertmanager packages, and zsh, so the zsh completion script is
tried in a real zsh; chromium and chromedriver (Debian's chromium and
chromium-driver) let the board's browser tests drive a real headless browser.
Nothing here is needed to run the engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from engine.broker.install import ensure_installed
from engine.progress import Bar
from engine.settings import child_environment

DEBIAN_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager",
                   "prometheus": "prometheus", "zsh": "zsh",
                   "chromium": "chromium", "chromedriver": "chromium-driver"}
# Files that are not commands: a Chinese font, so the board's screenshots show Chinese, not boxes.
DEBIAN_FILES = {"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc": "fonts-wqy-microhei"}
BENCH_PACKAGES = {"kcat": "kcat"}  # the benchmark's broker rung; the tests do not need it


def run(bench: bool = False) -> int:
    """Install Kafka, the Prometheus tools, zsh and Chromium (with `bench`, kcat) if missing; 0 if done."""
    with Bar("kafka: downloading jars") as bar:
        kafka = ensure_installed(progress=bar)
    print(f"kafka {kafka.version}: {kafka.libs}")
    wanted = {**DEBIAN_PACKAGES, **(BENCH_PACKAGES if bench else {})}
    missing = sorted({pkg for tool, pkg in wanted.items() if shutil.which(tool) is None}
                     | {pkg for path, pkg in DEBIAN_FILES.items() if not os.path.exists(path)})
    if missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            print("missing: " + ", ".join(missing) + "; install them with: sudo apt-get install "
                  + " ".join(missing), file=sys.stderr)
            return 1
        env = child_environment(DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}",
                      file=sys.stderr)
                return 1
    for tool in wanted:
        print(f"{tool}: {shutil.which(tool)}")
    for path, pkg in DEBIAN_FILES.items():
        print(f"{pkg}: {path if os.path.exists(path) else None}")
    return 0
