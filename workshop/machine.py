"""What every workshop machine is, whatever provider runs it.

One definition, used by the local image build and by cloud user-data, so
that a container on a laptop and an EC2 instance are the same machine.
"""

#: The operating system the course is written for (checked in chapter 01).
OS_ID = "debian"
OS_VERSION_ID = "12"
OS_CODENAME = "bookworm"

#: Enough of an OS to boot with systemd and be reached over SSH.
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "ca-certificates",
    "iproute2",
    "iputils-ping",
    "procps",
    "curl",
    "less",
    "python3",
    "python3-venv",
)

#: Every server the course deploys. Installed everywhere, enabled per role.
SERVER_PACKAGES = (
    "apache2",
    "libapache2-mod-wsgi-py3",
    "postgresql",
    "postgresql-client",
    "pgpool2",
    "nginx",
    "varnish",
    "memcached",
)

PACKAGES = BASE_PACKAGES + SERVER_PACKAGES

#: Installed but disabled: apache2 and nginx both want port 80, and postgres
#: plus pgpool cost ~300 MB idle. Each role enables only its own services.
DISABLED_SERVICES = ("apache2", "nginx", "postgresql", "pgpool2", "varnish", "varnishncsa", "memcached")

#: Housekeeping that would run apt or fstrim inside every machine during class.
DISABLED_TIMERS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "e2scrub_reap.service",
)
