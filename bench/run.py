#!/usr/bin/python3
"""casacal's benchmarks, each side by side with a real alternative in the
same run, reported as ratios. Writes a markdown table to stdout and to
bench/out/results.md (raw numbers in bench/out/results.json).

    /usr/bin/python3 bench/run.py --binary build/release/daemon/casacal [--only export,agenda,...]

  export  `casacal export` of 10,000 events vs bench/py_export.py (python3-icalendar);
          and toml++ alone parsing its files (bench/toml_floor, built by `make bench`)
  agenda  `casacal agenda --json` over a year of 1,000 events vs bench/py_agenda.py
          (recurring_ical_events expanding the exported feed)
  serve   GET /calendar.ics (1,000 events) under `wrk -t2 -c50 -d10s --latency`,
          casacal vs nginx (one worker) serving the same bytes as a static file
  reload  10,000-event site: SIGHUP, then an edited file (inotify), timed until
          /healthz shows the new generation, while wrk keeps fetching the feed
  memory  VmRSS / VmHWM of `casacal serve` holding 10,000 events
  smtp, planning, idle
          reminders (bench/reminders.py): a burst of 2,000 reminders to Postfix's
          smtp-sink vs smtp-source, and vs libcurl alone (bench/smtp_floor, built
          by `make bench`) sending the same message; planning ~100,000 reminders at start-up vs
          inserting the same rows with Python's sqlite3, memory after planning;
          idle CPU of serve holding them

Needs hyperfine, wrk, nginx and postfix's smtp-sink/smtp-source (`make bench`
installs them); a part whose tool is missing is reported as skipped.
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gen_site(n, root, port=None):
    out = root / f"site-{n}"
    if not out.exists():
        subprocess.run([PY, str(HERE / "gen_site.py"), str(n), str(out), "--port", str(port or free_port())],
                       check=True, stdout=subprocess.DEVNULL)
    return out / "casacal.toml"


def set_port(config, port):
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^listen = "[^"]*"', f'listen = "127.0.0.1:{port}"', text)
    config.write_text(text, encoding="utf-8")


def hyperfine(commands, runs, warmup, json_path):
    cmd = ["hyperfine", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
           "--export-json", str(json_path)] + commands
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(Path(json_path).read_text())["results"]


def fetch(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


class Server:
    """`casacal serve` on a site; waits for the first generation."""

    def __init__(self, binary, config, port, workdir):
        self.config, self.port = config, port
        set_port(config, port)
        self.err = open(workdir / f"serve-{port}.log", "wb")
        self.proc = subprocess.Popen([binary, "serve", "-c", str(config)], stdout=self.err, stderr=self.err)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"casacal serve exited with {self.proc.returncode}; see {self.err.name}")
            try:
                if self.generation() >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("casacal serve did not become ready")

    def health(self):
        return json.loads(fetch(self.base + "/healthz"))

    def generation(self):
        return int(self.health().get("generation", 0))

    def rss(self):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kib = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.*)$", status, re.M)}
        return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.err.close()
        return code


def parse_wrk(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    return {"rps": rps, "p99_ms": p99_ms, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0, "requests": requests}


def wrk(url, duration="10s", threads=2, conns=50):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency", url],
                         check=True, capture_output=True, text=True).stdout
    return parse_wrk(out), out


# -- the benchmarks ------------------------------------------------------------


def bench_export(args, root):
    config = gen_site(args.large, root)
    out = root / "export.ics"
    p = subprocess.run([args.binary, "export", "-c", str(config), "-o", str(out)], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"casacal export failed: {p.stderr.decode()}")
    size = out.stat().st_size
    c = hyperfine([f"{args.binary} export -c {config} -o /dev/null"], runs=20, warmup=3,
                  json_path=root / "hf-export-casacal.json")[0]
    # toml++ alone reading the same files (bench/toml_floor, as many threads
    # as casacal uses): how much of the run the parser casacal must use takes.
    tool = Path(args.binary).resolve().parent.parent / "bench" / "toml_floor"
    floor = None
    if os.access(tool, os.X_OK):
        files = " ".join(str(f) for f in sorted((config.parent / "events.d").glob("*.toml")))
        floor = hyperfine([f"{tool} {os.cpu_count() or 1} {files}"], runs=20, warmup=3,
                          json_path=root / "hf-export-toml.json")[0]
    p = hyperfine([f"{PY} {HERE / 'py_export.py'} {config} > /dev/null"], runs=args.py_runs, warmup=1,
                  json_path=root / "hf-export-python.json")[0]
    ratio = p["mean"] / c["mean"]
    baseline = f"python3-icalendar: {p['mean'] * 1000:.0f} ms"
    if floor:
        baseline += f"; toml++ alone parsing the same files: {floor['mean'] * 1000:.1f} ms ± {floor['stddev'] * 1000:.1f}"
    return [{
        "name": f"export, {args.large:,} events",
        "casacal": f"{c['mean'] * 1000:.1f} ms ± {c['stddev'] * 1000:.1f} ({size / 1e6:.1f} MB)",
        "baseline": baseline,
        "ratio": f"{ratio:.1f}× faster",
        "target": "≥ 30× and < 100 ms",
        "met": ratio >= 30 and c["mean"] < 0.100,
        "raw": {"casacal_s": c["mean"], "python_s": p["mean"], "bytes": size,
                "toml_floor_s": floor["mean"] if floor else None},
    }]


def year_range():
    today = dt.date.today()
    start = today + dt.timedelta(days=7 - today.weekday())
    return start, start + dt.timedelta(days=365)


def bench_agenda(args, root):
    config = gen_site(args.small, root)
    feed = root / "feed-1000.ics"
    subprocess.run([args.binary, "export", "-c", str(config), "-o", str(feed)], check=True)
    lo, hi = (d.isoformat() for d in year_range())
    probe = subprocess.run([args.binary, "agenda", "-c", str(config), "--from", lo, "--to", hi, "--json"],
                           check=True, capture_output=True)
    n_occ = len(json.loads(probe.stdout)["occurrences"])
    c = hyperfine([f"{args.binary} agenda -c {config} --from {lo} --to {hi} --json > /dev/null"], runs=20, warmup=3,
                  json_path=root / "hf-agenda-casacal.json")[0]
    p = hyperfine([f"{PY} {HERE / 'py_agenda.py'} {feed} {lo} {hi} > /dev/null"], runs=args.py_runs, warmup=1,
                  json_path=root / "hf-agenda-python.json")[0]
    ratio = p["mean"] / c["mean"]
    return [{
        "name": f"agenda --json, {args.small:,} events, one year ({n_occ} occurrences)",
        "casacal": f"{c['mean'] * 1000:.1f} ms ± {c['stddev'] * 1000:.1f}",
        "baseline": f"recurring_ical_events: {p['mean'] * 1000:.0f} ms",
        "ratio": f"{ratio:.1f}× faster",
        "target": "≥ 50×",
        "met": ratio >= 50,
        "raw": {"casacal_s": c["mean"], "python_s": p["mean"], "occurrences": n_occ},
    }]


NGINX_CONF = """worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp-body;
    proxy_temp_path {root}/tmp-proxy;
    fastcgi_temp_path {root}/tmp-fastcgi;
    uwsgi_temp_path {root}/tmp-uwsgi;
    scgi_temp_path {root}/tmp-scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ text/calendar ics; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location = /calendar.ics {{ add_header Cache-Control "max-age=300"; etag on; }}
    }}
}}
"""


def bench_serve(args, root):
    config = gen_site(args.small, root)
    port = free_port()
    server = Server(args.binary, config, port, root)
    try:
        body = fetch(server.base + "/calendar.ics")
        ngroot = root / "nginx"
        (ngroot / "www").mkdir(parents=True, exist_ok=True)
        (ngroot / "www" / "calendar.ics").write_bytes(body)
        os.chmod(root, 0o755)
        os.chmod(ngroot, 0o755)
        os.chmod(ngroot / "www", 0o755)
        ng_port = free_port()
        conf = ngroot / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=ngroot, port=ng_port))
        nginx = subprocess.Popen([args.nginx, "-p", str(ngroot), "-c", str(conf), "-e", str(ngroot / "nginx-error.log")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    if fetch(f"http://127.0.0.1:{ng_port}/calendar.ics") == body:
                        break
                except OSError:
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"nginx did not serve the feed; see {ngroot / 'nginx-error.log'}")
            # alternate, so that a noisy neighbour on the shared cores hurts both
            rounds = {"casacal": [], "nginx": []}
            for _ in range(args.rounds):
                rounds["casacal"].append(wrk(server.base + "/calendar.ics", args.duration)[0])
                rounds["nginx"].append(wrk(f"http://127.0.0.1:{ng_port}/calendar.ics", args.duration)[0])
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
        rss = server.rss()
    finally:
        server.stop()
    best = {k: max(v, key=lambda r: r["rps"]) for k, v in rounds.items()}
    c, n = best["casacal"], best["nginx"]
    rps_ratio = c["rps"] / n["rps"]
    p99_ratio = c["p99_ms"] / n["p99_ms"]
    return [{
        "name": f"GET /calendar.ics, {args.small:,} events ({len(body) / 1e3:.0f} kB), wrk -t2 -c50 -d{args.duration}",
        "casacal": f"{c['rps']:.0f} req/s, p99 {c['p99_ms']:.2f} ms",
        "baseline": f"nginx, 1 worker: {n['rps']:.0f} req/s, p99 {n['p99_ms']:.2f} ms",
        "ratio": f"{rps_ratio:.2f}× the req/s, {p99_ratio:.2f}× the p99",
        "target": "≥ 0.8× req/s, p99 ≤ 2×",
        "met": rps_ratio >= 0.8 and p99_ratio <= 2.0 and c["non2xx"] == 0,
        "raw": {"rounds": rounds, "rss_mib_1000": rss},
    }]


def wait_generation(server, above, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if server.generation() > above:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"no generation above {above} after {timeout} s")


def bench_reload_and_memory(args, root, want_reload, want_memory):
    config = gen_site(args.large, root)
    port = free_port()
    t0 = time.monotonic()
    server = Server(args.binary, config, port, root)
    startup = time.monotonic() - t0
    rows = []
    try:
        fetch(server.base + "/calendar.ics", timeout=30)
        time.sleep(1)
        rss_started, _ = server.rss()
        if want_reload:
            load = subprocess.Popen(["wrk", "-t1", "-c10", f"-d{args.reload_rounds * 6 + 20}s", "--latency",
                                     server.base + "/calendar.ics"], stdout=subprocess.PIPE, text=True)
            time.sleep(2)
            hup, edit = [], []
            target = config.parent / "events.d" / "events-000.toml"
            original = target.read_text(encoding="utf-8")
            for i in range(args.reload_rounds):
                g = server.generation()
                start = time.monotonic()
                server.proc.send_signal(signal.SIGHUP)
                try:
                    hup.append(wait_generation(server, g, timeout=60) - start)
                except RuntimeError:
                    hup.append(None)  # SIGHUP with nothing changed may keep the generation
                time.sleep(1)
                g = server.generation()
                start = time.monotonic()
                target.write_text(original.replace('"Atelier ', f'"Atelier (rev {i}) ', 1), encoding="utf-8")
                edit.append(wait_generation(server, g) - start)
                time.sleep(1)
            out, _ = load.communicate(timeout=args.reload_rounds * 6 + 90)
            w = parse_wrk(out)
            hup_ok = [x for x in hup if x is not None]
            rows.append({
                "name": f"reload, {args.large:,} events, under wrk -t1 -c10",
                "casacal": (f"SIGHUP: median {statistics.median(hup_ok) * 1000:.0f} ms, max {max(hup_ok) * 1000:.0f} ms; "
                            if hup_ok else "SIGHUP without change: no new generation; ") +
                           f"edit (inotify): median {statistics.median(edit) * 1000:.0f} ms, "
                           f"max {max(edit) * 1000:.0f} ms",
                "baseline": f"{w['requests']} requests served meanwhile",
                "ratio": f"non-2xx: {w['non2xx']}, socket errors: {w['socket_errors']}",
                "target": "SIGHUP median < 300 ms, non-2xx = 0",
                "met": bool(hup_ok) and statistics.median(hup_ok) < 0.3 and w["non2xx"] == 0
                       and w["socket_errors"] == 0,
                "raw": {"sighup_s": hup, "edit_s": edit, "wrk": w, "startup_s": startup},
            })
        if want_memory:
            time.sleep(1)
            rss, hwm = server.rss()
            after = "the reloads above" if want_reload else "a second more"
            rows.append({
                "name": f"resident memory of serve, {args.large:,} events",
                "casacal": f"VmRSS {rss_started:.1f} MiB after start-up and a fetch of /calendar.ics; "
                           f"{rss:.1f} MiB after {after} (peak VmHWM {hwm:.1f} MiB)",
                "baseline": f"start-up to first generation: {startup:.2f} s",
                "ratio": "",
                "target": "VmRSS < 64 MiB, both times",
                "met": rss_started < 64 and rss < 64,
                "raw": {"vmrss_started_mib": rss_started, "vmrss_mib": rss, "vmhwm_mib": hwm},
            })
    finally:
        code = server.stop()
        if code != 0:
            log(f"casacal serve exited with {code} on SIGTERM")
    return rows


# -- report --------------------------------------------------------------------


def machine():
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = re.search(r"Model name:\s+(.*)", lscpu)
    return {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "nproc": os.cpu_count(),
            "cpu": model.group(1).strip() if model else platform.processor(), "kernel": platform.release()}


def table(rows, facts, version):
    out = [f"casacal benchmarks — {facts['date']}, {facts['nproc']} CPUs ({facts['cpu']}), "
           f"Linux {facts['kernel']}, {version}", "",
           "| benchmark | casacal | alternative | ratio | target | met |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        met = "skipped" if r.get("met") is None else ("yes" if r["met"] else "**no**")
        out.append(f"| {r['name']} | {r['casacal']} | {r['baseline']} | {r['ratio']} | {r['target']} | {met} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, type=lambda p: str(Path(p).resolve()))
    ap.add_argument("--only", default="export,agenda,serve,reload,memory,smtp,planning,idle")
    ap.add_argument("--rounds", type=int, default=2, help="wrk rounds per server (best kept)")
    ap.add_argument("--reload-rounds", type=int, default=5)
    ap.add_argument("--py-runs", type=int, default=3)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--large", type=int, default=10000, help="events in the export/reload/memory site")
    ap.add_argument("--small", type=int, default=1000, help="events in the agenda/serve site")
    ap.add_argument("--duration", default="10s", help="wrk duration for the serve line")
    ap.add_argument("--smtp-rounds", type=int, default=3, help="casacal bursts (best kept)")
    ap.add_argument("--idle-seconds", type=int, default=30, help="length of the idle CPU measurement")
    args = ap.parse_args()
    wanted = set(args.only.split(","))
    have = {t: shutil.which(t) is not None for t in ("hyperfine", "wrk")}
    have["nginx"] = os.access(args.nginx, os.X_OK)
    version = subprocess.run([args.binary, "--version"], capture_output=True, text=True).stdout.strip()
    rows = []

    def skipped(name, tool):
        rows.append({"name": name, "casacal": f"skipped: {tool} not installed", "baseline": "", "ratio": "",
                     "target": "", "met": None})

    with tempfile.TemporaryDirectory(prefix="casacal-bench-") as tmp:
        root = Path(tmp)
        steps = [("export", ["hyperfine"], lambda: bench_export(args, root)),
                 ("agenda", ["hyperfine"], lambda: bench_agenda(args, root)),
                 ("serve", ["wrk", "nginx"], lambda: bench_serve(args, root))]
        for name, tools, fn in steps:
            if name not in wanted:
                continue
            missing = [t for t in tools if not have[t]]
            if missing:
                skipped(name, ", ".join(missing))
                continue
            log(f"{name}…")
            rows += fn()
        if wanted & {"reload", "memory"}:
            want_reload = "reload" in wanted and have["wrk"]
            if "reload" in wanted and not have["wrk"]:
                skipped("reload", "wrk")
            log("reload and memory…")
            rows += bench_reload_and_memory(args, root, want_reload, "memory" in wanted)
        if wanted & {"smtp", "planning", "idle"}:
            sys.modules.setdefault("run", sys.modules[__name__])  # reminders.py uses this file's helpers
            import reminders
            if "smtp" in wanted:
                if reminders.have_postfix_tools():
                    log("smtp burst…")
                    rows += reminders.bench_smtp(args, root)
                else:
                    skipped("smtp", "postfix (smtp-sink, smtp-source)")
            if wanted & {"planning", "idle"}:
                log("reminder planning and idle…")
                rows += reminders.bench_planning_and_idle(args, root, "planning" in wanted, "idle" in wanted)

    facts = machine()
    md = table(rows, facts, version)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(md, encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps({"machine": facts, "version": version, "rows": rows},
                                                      indent=1, default=str), encoding="utf-8")
    sys.stdout.write(md)
    return 0 if all(r.get("met") in (True, None) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
