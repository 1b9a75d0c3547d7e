"""`workshop class live`: a small local web page of the class's progress.

A background thread polls the class (live.poll_class) every `interval`
seconds; the page fetches the latest snapshot every few seconds and redraws
a chart (checks passed per student, by chapter), a table (one coloured
cell per check, its hint on hover) and each student's stack diagram (drawn
once per poll, workshop/diagram.py). Standard library HTTP, bound to
127.0.0.1: open it on the classroom machine or through an SSH tunnel.

The page shows every student's stack and hints, so it answers only a
request that carries the token printed with its URL (another local user, or
a web page the instructor visits, cannot read it), and only for a Host it
listens on, so a DNS-rebinding page cannot reach it under its own name.

Example::

    view = LiveView(classroom, interval=30)
    server = make_server(view, port=8765)
    server.url    # 'http://127.0.0.1:8765/?token=...'
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .. import diagram
from ..errors import WorkshopError
from ..progress import Progress
from .layout import Classroom
from .live import poll_class

PAGE_REFRESH_S = 5
DIAGRAM_DPI = 60  # the page shows it small; a click opens it at that size


def student_diagram(row: dict) -> diagram.StackDiagram:
    """The stack diagram of one student's row of a poll (live.poll_student)."""
    statuses = {chapter: {check_id: outcome["status"] for check_id, outcome in checks.items()}
                for chapter, checks in row["results"].items()}
    note = f"{row['name']} ({row['id']}): {row['problem'] or 'polled in %.1f s' % row['seconds']}"
    return diagram.draw(diagram.describe(row["stack"], row["machines"], statuses, row["roles"], note))


class LiveView:
    """The latest snapshot of a class, refreshed by a polling thread."""

    def __init__(self, classroom: Classroom | None, interval: float = 30, chapters: list[str] | None = None,
                 snapshot: dict | None = None):
        self.classroom = classroom
        self.interval = interval
        self.chapters = chapters
        self.snapshot = snapshot
        self.diagrams: dict[str, bytes] = {}  # student id -> the PNG of their stack at the latest poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> dict:
        snapshot = {**poll_class(self.classroom, self.chapters), "interval": self.interval}
        self.diagrams = {row["id"]: student_diagram(row).png(dpi=DIAGRAM_DPI) for row in snapshot["students"]}
        self.snapshot = snapshot
        return self.snapshot

    def diagram_at(self, path: str) -> bytes | None:
        """The PNG served at /diagram/ID.png (a student of the latest poll), None at any other path."""
        folder, _, name = path.rpartition("/")
        if folder != "/diagram" or not name.endswith(".png"):
            return None
        return self.diagrams.get(unquote(name.removesuffix(".png")))

    def start(self, progress: Progress | None = None) -> None:
        """Poll now and then every `interval` seconds, until stop()."""
        def loop() -> None:
            while not self._stop.is_set():
                snapshot = self.poll()
                if progress:
                    progress.say("live", f"polled {len(snapshot['students'])} stack(s) in {snapshot['seconds']}s")
                self._stop.wait(self.interval)
        self._thread = threading.Thread(target=loop, name="class-live-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


class LiveServer(ThreadingHTTPServer):
    """The page's HTTP server, with the token every request must carry and the URL that has it."""

    token: str

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/?token={self.token}"

    def allowed_hosts(self) -> set[str]:
        """Host headers this server answers: the address it listens on and this machine's names."""
        port = self.server_address[1]
        names = {self.server_address[0], "127.0.0.1", "localhost", "[::1]"}
        return names | {f"{name}:{port}" for name in names}


def make_server(view: LiveView, port: int = 8765, host: str = "127.0.0.1", token: str | None = None) -> LiveServer:
    """An HTTP server for the page (/), the snapshot (/snapshot.json) and each student's stack
    diagram (/diagram/ID.png); port 0 picks a free one.
    Without `token`, a new random one: server.url carries it."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if self.headers.get("Host", "").lower() not in self.server.allowed_hosts():
                self._send(403, "text/plain", b"wrong Host: open the address `workshop class live` printed\n")
            elif not hmac.compare_digest(parse_qs(url.query).get("token", [""])[0].encode(),
                                         self.server.token.encode()):
                self._send(403, "text/plain", b"no valid token: open the URL `workshop class live` printed "
                                              b"(it ends in ?token=...)\n")
            elif url.path == "/":
                self._send(200, "text/html; charset=utf-8", PAGE.replace("__REFRESH__", str(PAGE_REFRESH_S)).encode())
            elif url.path == "/snapshot.json":
                body = json.dumps(view.snapshot or {"pending": True}).encode()
                self._send(200, "application/json", body)
            elif (png := view.diagram_at(url.path)) is not None:
                self._send(200, "image/png", png)
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # the poll lines are the useful log; page hits are noise
            pass

    try:
        server = LiveServer((host, port), Handler)
    except OSError as exc:
        raise WorkshopError(f"Cannot serve the live page on {host}:{port} ({exc.strerror}): "
                            "choose another port with --port") from None
    server.token = token or secrets.token_urlsafe(24)
    return server


def serve(classroom: Classroom, port: int = 8765, interval: float = 30, chapters: list[str] | None = None) -> None:
    """Poll and serve until Ctrl-C."""
    progress = Progress(f"class {classroom.name} live")
    view = LiveView(classroom, interval, chapters)
    server = make_server(view, port)
    progress.say("live", f"{server.url} (polling every {interval:g}s; Ctrl-C stops; the token keeps the page yours)")
    view.start(progress)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        view.stop()
        server.server_close()


PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Class progress</title>
<style>
 body { font: 14px system-ui, sans-serif; margin: 24px; color: #1d2330; }
 h1 { font-size: 20px; margin: 0 0 4px; } #meta { color: #5b6475; margin-bottom: 16px; }
 table { border-collapse: collapse; margin-top: 18px; } th, td { padding: 3px 6px; text-align: left; }
 th.chapter { border-bottom: 2px solid #c9ced8; font-weight: 600; }
 td.c { width: 18px; height: 18px; padding: 0; border: 2px solid #fff; border-radius: 4px; }
 .passed { background: #2e9e5b; } .failed { background: #d9534f; } .not-run { background: #c9ced8; }
 .not-reached-yet { background: #f4f5f8; box-shadow: inset 0 0 0 1px #b3b9c5; }
 .not-polled { background: #e9dd8a; } .unreachable { background: #3a3f4b; }
 .legend { margin: 4px 0; } .legend b { font-weight: normal; white-space: nowrap; } .legend span { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin: 0 4px 0 12px; vertical-align: middle; }
 .problem { color: #a3302c; font-size: 12px; }
 h2 { font-size: 16px; margin: 24px 0 8px; } #stacks { display: flex; flex-wrap: wrap; gap: 12px; }
 #stacks figure { margin: 0; } #stacks img { width: 360px; border: 1px solid #c9ced8; border-radius: 4px; }
 #stacks figcaption { font-size: 12px; color: #5b6475; }
</style></head>
<body>
<h1 id="title">Class progress</h1>
<div id="meta">waiting for the first poll…</div>
<div class="legend" id="chapters"></div>
<svg id="chart" width="1000" height="40"></svg>
<div class="legend"><span class="passed"></span>passed<span class="failed"></span>failed<span class="not-run"></span>needs the notebook<span class="not-reached-yet"></span>not reached yet<span class="not-polled"></span>not polled (writes)<span class="unreachable"></span>stack unreachable</div>
<table id="grid"></table>
<h2>Each student's stack</h2>
<div id="stacks"></div>
<script>
const COLORS = ["#2e9e5b", "#3b7dd8", "#8e5bd8", "#d8843b", "#1aa3a3", "#c2417f", "#6b8e23", "#b8860b", "#4b5d9e", "#9e4b4b"];
let drawnAt = null;
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
function draw(s) {
  if (s.pending) return;
  document.getElementById("title").textContent = "Class " + s.class + ": which checks pass right now";
  const when = new Date(s.taken_at * 1000).toLocaleTimeString();
  document.getElementById("meta").textContent = `polled at ${when} in ${s.seconds}s; next poll within ${s.interval}s; ` +
    `${s.students.length} student(s), ${s.chapters.reduce((n, c) => n + c.checks.length, 0)} checks`;
  const total = s.chapters.reduce((n, c) => n + c.checks.length, 0), rowH = 26, left = 120, width = 640;
  let svg = "";
  s.students.forEach((st, i) => {
    const y = i * rowH + 6;
    svg += `<text x="0" y="${y + 14}" font-size="13">${esc(st.id)}</text>`;
    svg += `<rect x="${left}" y="${y}" width="${width}" height="18" fill="#eef0f4" rx="3"/>`;
    let x = left;
    s.chapters.forEach((c, ci) => {
      const passed = Object.values(st.results[c.id] || {}).filter(r => r.status === "passed").length;
      const w = width * passed / total;
      if (w > 0) svg += `<rect x="${x}" y="${y}" width="${w}" height="18" fill="${COLORS[ci % COLORS.length]}"><title>${esc(c.id)}: ${passed}/${c.checks.length}</title></rect>`;
      x += w;
    });
    svg += `<text x="${left + width + 8}" y="${y + 14}" font-size="13">${st.problem ? (st.problem.startsWith("invalid descriptor") ? "invalid descriptor" : "unreachable") : st.passed + "/" + st.total}</text>`;
  });
  document.getElementById("chapters").innerHTML = s.chapters.map((c, ci) =>
    `<b><span style="background:${COLORS[ci % COLORS.length]}"></span>${esc(c.id)}</b>`).join(" ");
  const chart = document.getElementById("chart");
  chart.setAttribute("height", s.students.length * rowH + 12);
  chart.innerHTML = svg;
  let head = "<tr><th></th>" + s.chapters.map(c => `<th class="chapter" colspan="${c.checks.length}">${esc(c.id)}</th>`).join("") + "<th>passed</th></tr>";
  let rows = s.students.map(st => "<tr><th>" + esc(st.id) + "<br><small>" + esc(st.name) + "</small></th>" +
    s.chapters.map(c => c.checks.map(k => {
      const r = (st.results[c.id] || {})[k.id] || {status: "not run", hint: ""};
      return `<td class="c ${r.status.replace(/ /g, "-")}" data-student="${esc(st.id)}" data-check="${esc(c.id + "/" + k.id)}" data-status="${esc(r.status)}" title="${esc(k.title + (r.hint ? "\n" + r.hint : ""))}"></td>`;
    }).join("")).join("") +
    `<td>${st.problem ? '<span class="problem">' + esc(st.problem) + "</span>" : st.passed + "/" + st.total}</td></tr>`).join("");
  document.getElementById("grid").innerHTML = head + rows;
  if (drawnAt !== s.taken_at) {  // a new poll drew new pictures
    drawnAt = s.taken_at;
    document.getElementById("stacks").innerHTML = s.students.map(st => {
      const src = esc(`/diagram/${encodeURIComponent(st.id)}.png${location.search}&at=${s.taken_at}`);
      return `<figure><a href="${src}"><img src="${src}" alt="${esc(st.id)}'s stack" data-student="${esc(st.id)}"></a>` +
        `<figcaption>${esc(st.id)}</figcaption></figure>`;
    }).join("");
  }
}
async function refresh() {
  try { draw(await (await fetch("/snapshot.json" + location.search, {cache: "no-store"})).json()); } catch (e) { document.getElementById("meta").textContent = "cannot reach the live server: " + e; }
}
refresh(); setInterval(refresh, __REFRESH__ * 1000);
</script></body></html>
"""
