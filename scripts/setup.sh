#!/usr/bin/env bash
# One-time set-up of a fresh machine for the workshop (safe to re-run):
#   1. system packages: podman + runc (local machines), debootstrap (image base),
#      chromium and chromium-driver (tests drive the instructor's live class page and,
#      through Selenium, a student's JupyterLab in a headless browser),
#      wrk (load tests), openssh-client (workshop ssh), bubblewrap (autograde runs
#      student code in a bwrap sandbox);
#   2. the Python environment in .venv, from the pins in pyproject.toml;
#   3. the workshop image (built once, then cached by its definition);
#   4. the nbgrader exchange folder and JupyterLab settings for the course;
#   5. JupyterHub's proxy (configurable-http-proxy, from npm) for a classroom server's
#      `workshop class hub` (nodejs/npm from Debian when the machine has no node).
# With --with-docker (make test: the end-to-end tests of chapters 01-05 also run
# on docker), Debian's docker.io too, its daemon started, and the image built for it.
#
# Debian 12 is the reference. Debian 13 and Ubuntu 24.04 get their package names
# (docs/pre-class.md says what was tested where); anything else is tried with
# Debian 12's names after a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_DOCKER=0
[ "${1:-}" = "--with-docker" ] && WITH_DOCKER=1

step() { printf '\n==> %s\n' "$*"; }

SYSTEM_PACKAGES=(podman runc debootstrap uidmap slirp4netns wrk openssh-client python3-venv bubblewrap chromium chromium-driver)
# shellcheck disable=SC1091
. /etc/os-release
case "${ID:-} ${VERSION_ID:-}" in
    "debian 12" | "debian 13") ;;
    "ubuntu 24.04")
        # Ubuntu has chromium and chromium-driver only as snaps: only make test's browser tests
        # need them (`sudo snap install chromium`). debootstrap needs Debian's keyring for the
        # bookworm image.
        without_browser=()
        for package in "${SYSTEM_PACKAGES[@]}"; do
            [[ $package == chromium* ]] || without_browser+=("$package")
        done
        SYSTEM_PACKAGES=("${without_browser[@]}" debian-archive-keyring) ;;
    *)
        echo "warning: set-up is written for Debian 12/13 and Ubuntu 24.04, not ${PRETTY_NAME:-this system};" \
             "trying Debian 12's package names (docs/pre-class.md has the other paths)" >&2 ;;
esac
((WITH_DOCKER)) && SYSTEM_PACKAGES+=(docker.io)
command -v npm >/dev/null || SYSTEM_PACKAGES+=(nodejs npm)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    step "Installing system packages: ${missing[*]}"
    if [ -n "$SUDO" ]; then
        command -v sudo >/dev/null || { echo "Run as root, or install sudo, to install: ${missing[*]}" >&2; exit 1; }
    fi
    $SUDO apt-get update -q
    # crun is deliberately absent: podman would prefer it, and it fails on hybrid cgroups.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    step "System packages present"
fi

# The course's machines need podman >= 4 (Debian 12: 4.3, Debian 13: 5.4, Ubuntu 24.04: 4.9).
podman_major=$(podman version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
if [ "${podman_major:-0}" -lt 4 ]; then
    echo "podman >= 4 is needed; this system's is $(podman --version 2>/dev/null || echo missing)." \
         "Use Debian 12 or 13 or Ubuntu 24.04 (docs/pre-class.md)" >&2
    exit 1
fi

# Each local machine is a systemd container holding 6 inotify instances; Debian's
# per-user limit of 128 stops new machines booting at about 21 (a full stack is 10).
# 1024 fits a full stack per student for a class of 16 on one server (until reboot;
# docs/instructor.md shows how to keep it).
if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]; then
    step "Raising fs.inotify.max_user_instances to 1024 (room for about 170 local machines)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO sysctl -qw fs.inotify.max_user_instances=1024 \
        || echo "warning: could not raise fs.inotify.max_user_instances; more than ~21 local machines will not boot" >&2
fi

if ((WITH_DOCKER)); then
    # dockerd sets the iptables FORWARD policy to DROP when it is the one that turns IPv4
    # forwarding on; turned on first (podman turns it on too), the policy stays ACCEPT and
    # podman's and docker's machines keep reaching each other's hosts alike.
    $SUDO sysctl -qw net.ipv4.ip_forward=1
    if ! docker info >/dev/null 2>&1; then
        step "Starting the docker daemon"
        if [ -d /run/systemd/system ]; then
            $SUDO systemctl start docker
        else
            # No systemd (a container, CI): start the daemon in a session of its own, holding none
            # of this shell's open files (an inherited pipe or lock would stay held while it runs).
            $SUDO python3 -c 'import subprocess; subprocess.Popen(["dockerd"], stdin=subprocess.DEVNULL,
                stdout=open("/var/log/dockerd.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)'
        fi
        for _ in $(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
        docker info >/dev/null 2>&1 || { echo "dockerd did not start: see /var/log/dockerd.log or journalctl -u docker" >&2; exit 1; }
    fi
fi

# The course pins Python 3.11. Debian 13 and Ubuntu 24.04 ship 3.13 and 3.12:
# python3.11 or uv (which fetches a 3.11 build) must be there (docs/pre-class.md).
python_for_venv() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$candidate"; return
        fi
    done
}

if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
    step "Creating the Python environment in .venv (about a minute)"
    python=$(python_for_venv)
    if [ -n "$python" ]; then
        "$python" -m venv .venv
    elif command -v uv >/dev/null; then
        uv venv --seed --python 3.11 .venv
    else
        echo "The course needs Python 3.11; this system has $(python3 --version)." \
             "Install uv (pipx install uv, or pip install --user uv) and run make setup again:" \
             "it makes .venv with Python 3.11" >&2
        exit 1
    fi
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet --editable '.[test]'
    touch .venv/.installed
else
    step "Python environment up to date"
fi

if [ ! -x .venv-exampleapp/bin/python ] || [ exampleapp/requirements.txt -nt .venv-exampleapp/.installed ]; then
    step "Creating the example application's environment in .venv-exampleapp (for its tests)"
    .venv/bin/python -m venv .venv-exampleapp
    .venv-exampleapp/bin/pip install --quiet -r exampleapp/requirements.txt
    touch .venv-exampleapp/.installed
fi

step "Workshop image"
.venv/bin/workshop image
if ((WITH_DOCKER)); then
    WORKSHOP_ENGINE=docker .venv/bin/workshop image
fi

step "Course settings"
mkdir -p .nbgrader-exchange
chmod 777 .nbgrader-exchange
settings=.venv/share/jupyter/lab/settings
mkdir -p "$settings"
cp configs/jupyterlab/overrides.json "$settings/overrides.json"

# JupyterHub's proxy, pinned (5.1 is the last that runs on Debian 12's node 18).
PROXY_VERSION=5.1.0
if [ "$(cat .hub-proxy/.installed 2>/dev/null)" != "$PROXY_VERSION" ]; then
    step "JupyterHub's proxy (configurable-http-proxy $PROXY_VERSION) in .hub-proxy"
    npm install --silent --no-audit --no-fund --prefix .hub-proxy "configurable-http-proxy@$PROXY_VERSION"
    echo "$PROXY_VERSION" > .hub-proxy/.installed
fi
echo "Set-up complete."
