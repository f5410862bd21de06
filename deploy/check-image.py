#!/usr/bin/env python3
"""Builds deploy/Dockerfile's image without Docker, then runs it.

A Debian root is made with debootstrap for the release the FROM line names
(`debian:bookworm-slim`: bookworm, minbase), the RUN lines run in it (chroot),
the COPY lines copy from the build context. The image's ENTRYPOINT then
1. replays a bundled capture with its configuration and checks the exposition
   holds the reference's families, and
2. runs live on `lo` (its CMD, listening on another port) as deploy/daemonset.yaml's
   container runs it (root with only the capabilities it adds, no new privileges,
   the root file system read-only) while curl sends a request to a server on lo,
   and checks that /metrics counts it and that the liveness probe's path answers.

  deploy/check-image.py [CONTEXT]   (default .build/image, as `make image` fills it)

As root, from the repository's top; needs debootstrap and network access to
deb.debian.org. The root is deleted afterwards.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

DOCKERFILE = "deploy/Dockerfile"
CAPTURE = "captures/parity/outbound.pcap"
CAPTURE_CONFIG = "captures/parity/outbound.config.yaml"
DAEMONSET = "deploy/daemonset.yaml"


def pod_settings():
    """The capabilities deploy/daemonset.yaml's container adds (it drops all others) and its
    liveness probe's path."""
    text = open(DAEMONSET).read()
    added = re.search(r"capabilities:\s*\{add:\s*\[([^\]]*)\],\s*drop:\s*\[\"ALL\"\]\}", text)
    probe = re.search(r"livenessProbe:\s*\n\s*httpGet:\s*\{path:\s*([^,}\s]+)", text)
    if not added or not probe:
        sys.exit(f"check-image: {DAEMONSET}: no `capabilities: {{add: [...], drop: [\"ALL\"]}}` or no livenessProbe path")
    capabilities = [name.strip().strip('"').lower() for name in added.group(1).split(",") if name.strip()]
    return capabilities, probe.group(1)


def as_the_pod(root, command, capabilities):
    """`command` run in `root` as the DaemonSet's container: uid 0 with only `capabilities`
    (setpriv empties the bounding set but for them; root's permitted set is its bounding set),
    no_new_privs (allowPrivilegeEscalation: false), and the root read-only
    (readOnlyRootFilesystem: true; in a mount namespace of its own, so nothing is left mounted)."""
    bounding = ",".join(["-all"] + [f"+{name}" for name in capabilities])
    script = ('r=$1; shift; mount --rbind "$r" "$r" && mount -o remount,bind,ro "$r" && '
              f'exec chroot "$r" setpriv --no-new-privs --inh-caps=-all --bounding-set={bounding} -- "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", root] + command


def instructions(path):
    """(keyword, argument) per instruction, continuation lines joined, comments dropped."""
    result, pending = [], ""
    for line in open(path):
        line = line.rstrip("\n")
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, argument = line.strip().partition(" ")
        result.append((keyword.upper(), argument.strip()))
    return result


def chroot(root, command, **options):
    return subprocess.run(["chroot", root] + command, check=True, **options)


def build(root, context):
    image = {"entrypoint": [], "cmd": []}
    for keyword, argument in instructions(DOCKERFILE):
        if keyword == "FROM":
            name, _, tag = argument.partition(":")
            suite = tag.removesuffix("-slim")
            if name != "debian" or not suite:
                sys.exit(f"check-image: FROM {argument}: only debian:<release>[-slim] is understood")
            print(f"FROM {argument}: debootstrap --variant=minbase {suite}", flush=True)
            subprocess.run(["debootstrap", "--variant=minbase", suite, root, "http://deb.debian.org/debian"],
                           check=True, stdout=subprocess.DEVNULL)
            shutil.copy("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
        elif keyword == "RUN":
            print(f"RUN {argument[:70]}...", flush=True)
            run = subprocess.run(["chroot", root, "/bin/sh", "-c", argument], capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"check-image: RUN failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        elif keyword == "COPY":
            source, destination = shlex.split(argument)
            target = os.path.join(root, destination.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(context, source), target)
            print(f"COPY {source} {destination}", flush=True)
        elif keyword in ("ENTRYPOINT", "CMD"):
            image[keyword.lower()] = json.loads(argument)
        elif keyword != "EXPOSE":
            sys.exit(f"check-image: {keyword} is not understood")
    return image


def check_replay(root, image):
    for source, name in ((CAPTURE, "capture.pcap"), (CAPTURE_CONFIG, "capture.yaml")):
        shutil.copy(source, os.path.join(root, "tmp", name))
    result = chroot(root, image["entrypoint"] + ["replay", "/tmp/capture.pcap", "--config.file", "/tmp/capture.yaml"],
                    capture_output=True, text=True)
    families = ["external_calls_total{", "external_call_duration_seconds_bucket{", "partner_http_metrics_bucket{"]
    missing = [f for f in families if f not in result.stdout]
    if missing:
        sys.exit(f"check-image: the replay's exposition lacks {missing}:\n{result.stdout[:2000]}\n{result.stderr}")
    print(f"replay: {result.stdout.count(chr(10))} lines of exposition, every family there; {result.stderr.strip()}")


def check_live(root, image):
    """The image's CMD, with its listen address moved, run as the DaemonSet runs it: a request
    to a server on lo is counted, and the liveness probe's path answers."""
    capabilities, probe_path = pod_settings()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "18766"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    exporter = subprocess.Popen(
        as_the_pod(root, image["entrypoint"] + image["cmd"]
                   + ["--interface", "lo", "--web.listen-address", "127.0.0.1:19166"], capabilities),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        if exporter.poll() is not None:
            sys.exit(f"check-image: live, with only {capabilities}, read-only: exit {exporter.returncode}: "
                     f"{exporter.stderr.read().strip()}")
        probe = urllib.request.urlopen(f"http://127.0.0.1:19166{probe_path}", timeout=5)
        print(f"live: {capabilities} only, no new privileges, root read-only; "
              f"liveness probe {probe_path}: {probe.status}")
        for _ in range(3):
            subprocess.run(["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:18766/"], check=True)
        deadline = time.time() + 15
        while True:
            text = urllib.request.urlopen("http://127.0.0.1:19166/metrics", timeout=5).read().decode()
            counted = [l for l in text.splitlines() if l.startswith("external_calls_total{")]
            if counted and sum(float(l.rsplit(" ", 1)[1]) for l in counted) >= 3:
                break
            if time.time() > deadline:
                sys.exit(f"check-image: live, 3 calls not counted in 15 s:\n{text[:3000]}")
            time.sleep(0.5)
        print(f"live: 3 calls to a server on lo counted ({counted[0]})")
    finally:
        exporter.terminate()
        server.terminate()
        exporter.wait(timeout=10)
        server.wait(timeout=10)


def main():
    context = sys.argv[1] if len(sys.argv) > 1 else ".build/image"
    root = tempfile.mkdtemp(prefix="channel-exporter-image.")
    mounted = []
    try:
        image = build(root, context)
        for kind, point in (("proc", "proc"), ("sysfs", "sys")):
            subprocess.run(["mount", "-t", kind, kind, os.path.join(root, point)], check=True)
            mounted.append(os.path.join(root, point))
        check_replay(root, image)
        check_live(root, image)
        print("check-image: the image builds, replays and captures live")
    finally:
        unmounted = all(subprocess.run(["umount", point]).returncode == 0 for point in reversed(mounted))
        # Never delete through a mount that is still there (the host's /proc or /sys).
        if unmounted:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"check-image: {root} left in place: a mount in it did not come off", file=sys.stderr)


if __name__ == "__main__":
    main()
