#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine for the workshop (safe to re-run):
#   1. system packages: podman + runc (local machines), debootstrap (image base),
#      chromium (the instructor's live class page is tested in a headless browser),
#      wrk (load tests), openssh-client (workshop ssh);
#   2. the Python environment in .venv, from the pins in pyproject.toml;
#   3. the workshop image (built once, then cached by its definition);
#   4. the nbgrader exchange folder and JupyterLab settings for the course.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(podman runc debootstrap uidmap slirp4netns wrk openssh-client python3-venv chromium)

step() { printf '\n==> %s\n' "$*"; }

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    step "Installing system packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "Run as root, or install sudo, to install: ${missing[*]}" >&2; exit 1; }
        SUDO="sudo"
    fi
    $SUDO apt-get update -q
    # crun is deliberately absent: podman would prefer it, and it fails on hybrid cgroups.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    step "System packages present"
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

if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
    step "Creating the Python environment in .venv (about a minute)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet --editable '.[test]'
    touch .venv/.installed
else
    step "Python environment up to date"
fi

if [ ! -x .venv-exampleapp/bin/python ] || [ exampleapp/requirements.txt -nt .venv-exampleapp/.installed ]; then
    step "Creating the example application's environment in .venv-exampleapp (for its tests)"
    python3 -m venv .venv-exampleapp
    .venv-exampleapp/bin/pip install --quiet -r exampleapp/requirements.txt
    touch .venv-exampleapp/.installed
fi

step "Workshop image"
.venv/bin/workshop image

step "Course settings"
mkdir -p .nbgrader-exchange
chmod 777 .nbgrader-exchange
settings=.venv/share/jupyter/lab/settings
mkdir -p "$settings"
cp configs/jupyterlab/overrides.json "$settings/overrides.json"
echo "Set-up complete."
