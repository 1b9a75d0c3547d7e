"""Whether the active VCL's health probe finds its backend healthy: a VCL loaded a moment ago
has no verdict yet, and Varnish answers 503 until its backend is known healthy. One command,
asked by the deploy (which waits for it) and by chapter 09's checks (which wait before blaming
the VCL for a state that passes by itself)."""

#: Exits 0 when a backend of the active VCL is healthy (`varnishadm backend.list`).
ACTIVE_BACKEND_HEALTHY = ("active=$(varnishadm vcl.list | awk '$1 == \"active\" {print $NF}') && "
                          "varnishadm backend.list \"$active.*\" | grep -qw healthy")
#: How long a new VCL's probe may take to find a backend healthy (its window fills in seconds).
PROBE_WAIT_S = 20
