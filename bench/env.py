"""The benchmark environment: databases, gunicorn processes, wrk, RSS and py-spy.

Must be imported before anything from `backend`: it sets the production environment the app
under test reads at import time (APP_ENV=production, DATABASE_URL, REDIS_URL, SECRET_KEY).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DB", "bench")
CEILING_DB = os.environ.get("BENCH_CEILING_DB", "bench_ceiling")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/9")
SECRET = "bench-secret-not-for-production"
FILES = tempfile.mkdtemp(prefix="bench-files-")
LUA = Path(__file__).parent / "lua" / "requests.lua"
# The same gunicorn settings for the product and the ceiling.
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
THREADS = int(os.environ.get("BENCH_THREADS", 4))
GUNICORN = ["-w", str(WORKERS), "-k", "gthread", "--threads", str(THREADS), "--backlog", "2048",
            "--keep-alive", "10", "--log-level", "warning", "--timeout", "120"]

PRODUCT_ENV = {
    "APP_ENV": "production", "SECRET_KEY": SECRET, "DATABASE_URL": f"{PG}/{DB}", "REDIS_URL": REDIS,
    "FILES_DIR": FILES, "WECHAT_API_BASE": "http://127.0.0.1:9/",  # never called: tokens are minted
}
os.environ.update(PRODUCT_ENV)


def recreate_database(name: str) -> str:
    """Drop and create database `name`; returns its URL."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def worker_cpu(server) -> float:
    """CPU seconds (user + system) a gunicorn server's workers have used so far: per request,
    the figure that stays comparable when other processes share the cores."""
    return sum(sum(w.cpu_times()[:2]) for w in server.workers())


def postgres_cpu(database: str) -> dict[int, float]:
    """{pid: CPU seconds (user + system)} of the PostgreSQL backends connected to `database`
    now. Take it before and after a load with pooled connections and subtract per pid
    (`cpu_delta`): other databases' backends on the same server are not counted, nor are
    backends that ended during the load."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        pids = [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    out = {}
    for pid in pids:
        try:
            out[pid] = sum(psutil.Process(pid).cpu_times()[:2])
        except psutil.Error:
            pass
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends of the second reading used since the first (all of it for
    a backend that started in between)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# HTTP workloads run the ceiling and the product alternately this many times and report
# medians: on a shared VM the speed of the machine drifts by tens of per cent within minutes.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))


def median_run(runs: list[dict]) -> dict:
    """The run with the median throughput, with every figure the median over the runs."""
    import statistics

    out = dict(sorted(runs, key=lambda r: r["rps"])[len(runs) // 2])
    for k in ("rps", "p50", "p90", "p99", "cpu_ms", "pg_ms"):
        if all(k in r for r in runs):
            out[k] = statistics.median(r[k] for r in runs)
    return out


def median_ratio(prods: list[dict], ceils: list[dict]) -> float:
    """The median of the rounds' product/ceiling throughput ratios (each round ran both back to back)."""
    import statistics

    return statistics.median(p["rps"] / c["rps"] for p, c in zip(prods, ceils))


def rounds_note(prods: list[dict], ceils: list[dict], unit: str) -> str:
    return "rounds (product/ceiling): " + ", ".join(
        f"{p['rps']:.0f}/{c['rps']:.0f} {unit} = {p['rps'] / c['rps']:.2f}x" for p, c in zip(prods, ceils))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn process serving `app_path` on a loopback port."""

    def __init__(self, app_path: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), *GUNICORN, "-b", f"127.0.0.1:{self.port}", app_path]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {app_path} exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"gunicorn {app_path} did not listen")
        time.sleep(0.5)  # let every worker boot

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()

    def worker_rss_mb(self) -> float:
        """The largest worker's resident set, in MB."""
        return max((w.memory_info().rss for w in self.workers()), default=0) / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def serving(app_path: str, env: dict | None = None):
    server = Server(app_path, env)
    try:
        yield server
    finally:
        server.stop()


def write_requests(lines: list[tuple]) -> str:
    """A request file for requests.lua: METHOD, PATH, TOKEN, BODY, KEY (tab-separated)."""
    f = tempfile.NamedTemporaryFile("w", prefix="bench-req-", suffix=".tsv", delete=False)
    for method, path, token, body, key in lines:
        body = json.dumps(body, separators=(",", ":")) if body is not None else ""
        f.write("\t".join([method, path, token or "-", body or "-", key or "-"]) + "\n")
    f.close()
    return f.name


def wrk(url: str, request_file: str, *, connections: int = 32, threads: int = 2, once: bool = True,
        duration: int = 30, timeout: int = 10) -> dict:
    """Run wrk with requests.lua. once=True: each request once, then the thread stops
    (bounded by `duration` anyway); once=False: cycle for `duration` seconds.
    Returns rps, p50/p90/p99/max in ms, the status counts and socket errors."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is missing: apt-get install -y wrk")
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", f"{timeout}s",
           "-s", str(LUA), url, "--", request_file, "once" if once else "cycle"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "WRK_THREADS": str(threads)})
    if once:  # every thread writes <file>.done.<n> when its last answer is in: stop wrk's sleep then
        deadline = time.time() + duration + 5
        markers = [f"{request_file}.done.{i}" for i in range(1, threads + 1)]
        while proc.poll() is None and time.time() < deadline:
            if all(os.path.exists(m) for m in markers):
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=duration + 60)
    out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            data = json.loads(line[8:])
            data["statuses"] = Counter({int(k): v for k, v in data["statuses"].items()})
            return data
    raise RuntimeError(f"wrk said nothing useful: {out.stdout[-2000:]} {out.stderr[-2000:]}")


@contextmanager
def profiled(server: Server, seconds: int, out: str):
    """py-spy over the server's workers while the block runs; top self-time frames go to `out`."""
    spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    raw = out + ".raw"
    proc = subprocess.Popen([spy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--duration",
                             str(seconds), "--format", "raw", "--rate", "200", "--nonblocking", "-o", raw],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.wait(seconds + 30)
        summarise_profile(raw, out)


def summarise_profile(raw: str, out: str, top: int = 25) -> None:
    """Inclusive and self sample counts per function from py-spy's collapsed stacks."""
    if not os.path.exists(raw):
        Path(out).write_text("no profile (py-spy failed)\n")
        return
    own, incl, total = Counter(), Counter(), 0
    for line in Path(raw).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        n = int(n)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("/")[-1] + ")" if " (" in f else f
                  for f in stack.split(";")[1:]]
        if frames:
            own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    lines = [f"samples: {total}", "", "self:"]
    lines += [f"{n * 100 / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"{n * 100 / total:5.1f}%  {f}" for f, n in incl.most_common(top * 2)]
    Path(out).write_text("\n".join(lines) + "\n")
