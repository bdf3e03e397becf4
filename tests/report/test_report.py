"""`sbn-mcu report`: one self-contained HTML page, checked in a real browser.

Headless Chromium (Debian's ``chromium``, which scripts/setup installs; CI has
it, so nothing here skips) opens the page from a folder with every host name
unresolvable. Through the DevTools protocol on a pipe the test sees each
request the page makes (only the page itself, from file://), every console
message and page error (none), and takes a screenshot (not blank). The
figures' numbers, read from the ``data-*`` attributes of ``--dump-dom``'s
DOM, equal what ``verify --host --json``, ``bench --json``, summary.json
and metrics.json say for the same export. The export is a small random MLP,
frozen without training, that records the Fashion-MNIST test split of
/usr/share/datasets/fashion-mnist; ``--limit`` keeps the host run short.
"""

from __future__ import annotations

import base64
from collections import Counter
import io
import json
import os
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from support import randomize
from sbn_mcu import __version__, codegen
from sbn_mcu.cli import main
from sbn_mcu.ir.input_spec import InputSpec
from sbn_mcu.targets import boards
from sbn_mcu.training.config import DEFAULTS, plain

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
LIMIT = 300  # test inputs for the host run
VECTORS = 3  # golden vectors for QEMU
CORE = "cortex-m4"
BOARD = "nucleo-f446re"
BEST_EPOCH = 4


def chromium() -> str:
    assert CHROMIUM, "headless Chromium is needed: apt-get install chromium (scripts/setup installs it)"
    return CHROMIUM


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def write_export(path: Path) -> Path:
    """A random 784-64-10 binary MLP with Fashion-MNIST's class names, frozen without training;
    its meta names the dataset, so that verify finds the test split itself."""
    from torch import nn

    from sbn_mcu.training import freeze
    from sbn_mcu.training.layers import SBActivation, SBLinear

    model = randomize(nn.Sequential(nn.Flatten(), SBLinear(784, 64), nn.BatchNorm1d(64), SBActivation(),
                                    SBLinear(64, 10)), np.random.default_rng(3))
    frozen = freeze.freeze(model, InputSpec((1, 28, 28), class_names=CLASS_NAMES),
                           meta={"dataset": "fashion-mnist", "arch": "mlp", "method": "sbn"})
    return codegen.ExportFolder.create(path, frozen, "fm", False).path


def write_run(path: Path) -> Path:
    """A run folder as `sbn-mcu train` leaves it, as far as the report reads it: metrics.json."""
    path.mkdir(parents=True)
    epochs = [{"epoch": e, "v": round(100 ** ((e - 1) / 5), 3), "seconds": 1.5,
               "soft_accuracy": 0.80 + 0.01 * e, "hard_accuracy": 0.60 + 0.05 * e,
               "val_hard_accuracy": 0.61 + 0.05 * e - (0.06 if e == 6 else 0.0)} for e in range(1, 7)]
    config = dict(plain(DEFAULTS), epochs=6)
    (path / "metrics.json").write_text(json.dumps({"config": config, "best_epoch": BEST_EPOCH, "epochs": epochs}))
    return path


# --- the DOM ----------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Dom(HTMLParser):
    """Every element with its attributes, its ancestors and its text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[dict] = []
        self.elements: list[dict] = []
        self.feed(html)
        self.close()

    def _element(self, tag, attrs) -> dict:
        element = {"tag": tag, "attrs": dict(attrs), "ancestors": list(self.stack), "text": []}
        self.elements.append(element)
        return element

    def handle_starttag(self, tag, attrs):
        for outer in self.stack:  # cells and blocks: their texts are words apart
            outer["text"].append(" ")
        element = self._element(tag, attrs)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        for element in self.stack:
            element["text"].append(data)

    def select(self, within: str | None = None, tag: str | None = None, **attrs) -> list[dict]:
        """Elements inside the element of id ``within`` with these attributes (``data_x`` is
        ``data-x``; True: present)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        found = []
        for e in self.elements:
            if tag is not None and e["tag"] != tag:
                continue
            if within is not None and not any(a["attrs"].get("id") == within for a in e["ancestors"]):
                continue
            if all((k in e["attrs"]) if v is True else e["attrs"].get(k) == str(v) for k, v in wanted.items()):
                found.append(e)
        return found

    def one(self, within=None, tag=None, **attrs) -> dict:
        found = self.select(within, tag, **attrs)
        assert len(found) == 1, (within, tag, attrs, len(found))
        return found[0]

    def by_id(self, id_: str) -> dict:
        return self.one(id=id_)


def text(element) -> str:
    return " ".join("".join(element["text"]).split())


def value(element) -> float | None:
    raw = element["attrs"]["data-value"]
    return None if raw == "" else float(raw)


def dump_dom(page: Path) -> str:
    """The DOM after load, as ``chromium --dump-dom`` prints it."""
    run = subprocess.run([chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                          "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0 and "</html>" in run.stdout, run.stderr[-2000:]
    return run.stdout


# --- the browser, through the DevTools protocol on a pipe ---------------------------

class Browser:
    """Headless Chromium driven over ``--remote-debugging-pipe``: JSON messages ended by NUL,
    commands to the browser's fd 3, answers and events from its fd 4."""

    def __init__(self, profile: Path):
        to_browser, self._to = os.pipe()
        self._from, from_browser = os.pipe()
        args = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1200,900",
                "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank"]
        # bash moves the two pipe ends onto fds 3 and 4, then becomes Chromium
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_browser} 4>&{from_browser} {to_browser}<&- {from_browser}>&-',
             "bash", *args], pass_fds=(to_browser, from_browser), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id, self.events = b"", 0, []

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "Chromium did not answer in time"
            ready, _, _ = select.select([self._from], [], [], left)
            if ready:
                chunk = os.read(self._from, 1 << 20)
                assert chunk, f"Chromium closed the pipe (exit code {self.proc.poll()})"
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self._id:
                assert "error" not in answer, (method, answer["error"])
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def load(self, url: str) -> dict:
        """Open ``url`` in a new tab; returns its requests, console messages, errors and a screenshot."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired")
        self.send("Runtime.evaluate", {"expression": "1"}, session)  # let pending events arrive
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
        of = lambda *methods: [e["params"] for e in self.events if e.get("method") in methods]  # noqa: E731
        # every console call and page error; of the browser's own log, warnings and errors
        log = [p for p in of("Log.entryAdded") if p["entry"]["level"] in ("warning", "error")]
        return {"requests": [p["request"]["url"] for p in of("Network.requestWillBeSent")
                             if not p["request"]["url"].startswith("data:")],
                "failed": of("Network.loadingFailed"),
                "console": of("Runtime.consoleAPICalled", "Runtime.exceptionThrown") + log,
                "png": base64.b64decode(shot["data"])}

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to)
        os.close(self._from)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


# --- the pages ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return write_export(tmp_path_factory.mktemp("export") / "fm")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs") / "run")


@pytest.fixture(scope="module")
def full_page(export_dir, run_dir, tmp_path_factory):
    """The page with everything: curves, a board, QEMU on the Cortex-M4."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    stdout = ok(invoke("report", export_dir, "--run", run_dir, "--bench", CORE, "--vectors", VECTORS,
                       "--board", BOARD, "--limit", LIMIT, "--out", out))
    assert stdout.startswith(f"wrote {out} (") and "0 mismatches" in stdout, stdout
    return out


@pytest.fixture(scope="module")
def plain_page(export_dir, tmp_path_factory):
    """The page without --run, --bench or --board, and its time."""
    out = tmp_path_factory.mktemp("plain") / "report.html"
    started = time.perf_counter()
    ok(invoke("report", export_dir, "--limit", LIMIT, "--out", out))
    return out, time.perf_counter() - started


@pytest.fixture(scope="module")
def dom(full_page):
    return Dom(dump_dom(full_page))


# --- the tests ----------------------------------------------------------------------

def test_the_harness_sees_console_errors_and_requests(browser, tmp_path):
    """The browser checks below can fail: a script error and a fetch are both seen."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.com/x.png">'
                    '<script>console.error("boom")</script></body></html>')
    seen = browser.load(page.as_uri())
    assert any("boom" in json.dumps(m) for m in seen["console"]), seen["console"]
    assert "http://example.com/x.png" in seen["requests"]
    assert seen["failed"]


def test_the_page_loads_offline_with_no_console_messages(browser, full_page, tmp_path):
    copy = tmp_path / "elsewhere" / "page.html"  # alone in a new folder: nothing beside it to lean on
    copy.parent.mkdir()
    shutil.copy(full_page, copy)
    html = copy.read_text()
    assert "<script" not in html.lower()
    for attribute in ("src", "href", "url("):
        for scheme in ("http:", "https:", "//"):
            assert f'{attribute}="{scheme}' not in html and f"{attribute}({scheme}" not in html
    assert "@import" not in html
    seen = browser.load(copy.as_uri())
    assert seen["requests"] == [copy.as_uri()], seen["requests"]
    assert seen["failed"] == [] and seen["console"] == [], (seen["failed"], seen["console"])

    from PIL import Image

    shot = Image.open(io.BytesIO(seen["png"])).convert("RGB")
    (tmp_path / "screenshot.png").write_bytes(seen["png"])
    assert shot.width >= 1000 and shot.height > 2000, shot.size  # the whole page, not one screen
    pixels = np.asarray(shot.resize((shot.width // 4, shot.height // 4))).reshape(-1, 3)
    colours = Counter(map(tuple, pixels.tolist()))
    assert len(colours) > 200  # text, bars and a heat map, not a blank page
    # the heat map's deepest blue and the green mismatch banner are drawn
    assert sum(n for (r, g, b), n in colours.items() if b > 100 and r < 60 and g < 90) > 20
    assert sum(n for (r, g, b), n in colours.items() if g > r + 40 and g > b + 20) > 5


def test_accuracy_and_confusion_equal_verify_json(dom, export_dir):
    verified = json.loads(ok(invoke("verify", export_dir, "--host", "--json", "--limit", LIMIT)))
    assert verified["mismatches"] == 0
    banner = dom.by_id("mismatches")
    assert value(banner) == 0 and text(banner) == "0"
    for metric in ("accuracy", "reference_accuracy", "n", "mismatches"):
        cell = dom.one("overall", "td", data_metric=metric)
        assert value(cell) == verified[metric], metric
    assert text(dom.one("overall", "td", data_metric="accuracy")) == f"{100 * verified['accuracy']:.2f}%"
    rows = dom.select("per-class", "tr", data_class=True)
    assert [(int(r["attrs"]["data-class"]), r["attrs"]["data-name"], int(r["attrs"]["data-n"]),
             float(r["attrs"]["data-accuracy"]) if r["attrs"]["data-accuracy"] else None) for r in rows] == \
        [(row["class"], row["name"], row["n"], row["accuracy"]) for row in verified["per_class"]]
    assert [row["name"] for row in verified["per_class"]] == list(CLASS_NAMES)
    cells = dom.select("confusion", "g", data_row=True)
    matrix = np.zeros((10, 10), np.int64)
    for cell in cells:
        matrix[int(cell["attrs"]["data-row"]), int(cell["attrs"]["data-col"])] = int(cell["attrs"]["data-count"])
    assert len(cells) == 100 and matrix.tolist() == verified["confusion"]
    assert matrix.sum() == LIMIT
    labels = text(dom.by_id("confusion"))
    assert all(name in labels for name in CLASS_NAMES)


def test_speed_equals_bench_json(dom, export_dir):
    [bench] = json.loads(ok(invoke("bench", export_dir, "--cpu", CORE, "--vectors", VECTORS, "--json")))
    row = dom.one("speed-cores", "tr", data_core=CORE)
    for metric in ("instructions_per_inference", "instructions_per_mac", "model_flash_bytes", "model_ram_bytes",
                   "stack_bytes"):
        assert value(dom.one("speed-cores", "td", data_metric=metric)) == bench[metric], metric
    assert text(row).split()[:3] == [CORE, bench["machine"], f"{bench['instructions_per_inference']:,}"]
    layers = dom.select("speed-layers", "tr", data_core=CORE)
    assert [int(r["attrs"]["data-layer"]) for r in layers] == [layer["layer"] for layer in bench["layers"]]
    for r, layer in zip(layers, bench["layers"]):
        assert r["attrs"]["data-kernel"] == layer["kernel"]
        for metric in ("instructions", "instructions_per_mac", "loads_per_word"):
            [cell] = [e for e in dom.select("speed-layers", "td", data_metric=metric) if r in e["ancestors"]]
            assert value(cell) == layer[metric], (metric, layer)
    bars = dom.select("speed-layer-bars", "g", data_core=CORE)
    assert [int(b["attrs"]["data-instructions"]) for b in bars] == [layer["instructions"] for layer in bench["layers"]]


def test_model_layers_memory_and_curves(dom, export_dir, run_dir):
    for field, expected in (("name", "fm"), ("type", "uint8 (uint8_t)"), ("arch", "mlp"), ("method", "sbn"),
                            ("version", __version__)):
        assert text(dom.one("model", "dd", data_field=field)) == expected, field
    assert text(dom.one("model", "dd", data_field="shape")).startswith("1x28x28")
    assert "chw" in text(dom.one("model", "dd", data_field="layout"))
    assert text(dom.one("model", "dd", data_field="normalisation")).startswith("range")
    assert [text(e) for e in dom.select("model", "li", data_class=True)] == \
        [f"{i} {name}" for i, name in enumerate(CLASS_NAMES)]
    assert text(dom.one("model", "dd", data_field="epochs")).startswith(f"exported epoch {BEST_EPOCH} of 6")

    summary = json.loads((export_dir / "summary.json").read_text())
    metrics = ("parameters", "flash_bytes", "ram_bytes", "binary_macs", "integer_macs")
    rows = dom.select("layers", "tr", data_layer=True)
    assert [r["attrs"]["data-layer"] for r in rows] == [str(layer["layer"]) for layer in summary["layers"]]
    for r, layer in zip(rows, summary["layers"]):
        for metric in metrics:
            [cell] = [e for e in dom.select("layers", "td", data_metric=metric) if r in e["ancestors"]]
            assert value(cell) == layer[metric]
    total = dom.one("layers", "tr", data_total=True)
    for metric in metrics:
        [cell] = [e for e in dom.select("layers", "td", data_metric=metric) if total in e["ancestors"]]
        assert value(cell) == summary["total"][metric]

    board = boards.get(BOARD)
    bars = {b["attrs"]["data-bar"]: b["attrs"] for b in dom.select("memory", "g", data_bar=True)}
    assert bars["model_flash"]["data-used"] == str(summary["total"]["flash_bytes"])
    assert bars["model_flash"]["data-budget"] == str(board.flash_bytes)
    assert bars["model_ram"]["data-budget"] == str(board.ram_bytes)
    assert int(bars["firmware_flash"]["data-used"]) > summary["total"]["flash_bytes"]

    recorded = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    for key in ("soft_accuracy", "hard_accuracy", "val_hard_accuracy", "v"):
        points = dom.select("training-curves", data_series=key)
        assert [(int(p["attrs"]["data-epoch"]), value(p)) for p in points] == \
            [(e["epoch"], e[key]) for e in recorded], key
    assert dom.one("training-curves", data_exported_epoch=True)["attrs"]["data-exported-epoch"] == str(BEST_EPOCH)
    assert dom.one("epochs", "tr", data_exported=True)["attrs"]["data-epoch"] == str(BEST_EPOCH)


def test_reproduce_commands(dom, export_dir, run_dir, full_page):
    commands = [text(e) for e in dom.select("reproduce", "pre")]
    assert f"sbn-mcu verify {export_dir} --host --json --limit {LIMIT}" in commands
    assert f"sbn-mcu bench {export_dir} --cpu {CORE} --vectors {VECTORS} --json" in commands
    assert f"sbn-mcu firmware {export_dir} --board {BOARD} --out fw" in commands
    assert f"sbn-mcu summary {export_dir} --board {BOARD}" in commands
    assert f"sbn-mcu export {run_dir / 'model.pt'} --out {export_dir} --name fm" in commands
    train = next(c for c in commands if c.startswith("sbn-mcu train"))
    assert "--arch mlp" in train and "--epochs 6" in train and train.endswith(f"--out {run_dir}")
    assert commands[-1] == (f"sbn-mcu report {export_dir} --run {run_dir} --bench {CORE} --vectors {VECTORS} "
                            f"--board {BOARD} --limit {LIMIT} --out {full_page}")


def test_without_run_bench_or_board(plain_page, browser):
    out, seconds = plain_page
    html = out.read_text()
    print(f"report without --bench: {len(html.encode()):,} bytes in {seconds:.2f} s")
    page = Dom(html)
    assert "not available" in text(page.by_id("no-curves"))
    assert page.select("speed", "tr", data_core=True) == [] and page.select(id="no-bench")
    assert page.select("memory", "g", data_bar=True) == []
    assert page.one("memory", data_metric="model_flash")
    assert value(page.by_id("mismatches")) == 0
    seen = browser.load(out.as_uri())
    assert seen["console"] == [] and seen["requests"] == [out.as_uri()]


def test_the_run_beside_the_export_is_found(tmp_path):
    """As the demo lays them out: DIR/run and DIR/export, the run's exported epoch recorded in the export."""
    from sbn_mcu.report import find_run

    run = write_run(tmp_path / "run")
    record = json.loads((run / "metrics.json").read_text())["epochs"][BEST_EPOCH - 1]
    assert find_run(tmp_path / "export", {"training": record}) == tmp_path / "run"
    assert find_run(tmp_path / "export", {"training": dict(record, epoch=1)}) is None
    assert find_run(tmp_path / "export", {}) is None


def test_written_atomically_and_replaced(export_dir, tmp_path):
    out = tmp_path / "deeper" / "report.html"
    ok(invoke("report", export_dir, "--limit", 20, "--out", out))
    first = out.read_text()
    ok(invoke("report", export_dir, "--limit", 30, "--out", out))
    assert out.read_text() != first and "the first 30 inputs" in " ".join(out.read_text().split())
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary file left


def test_mismatches_are_shown_and_fail_the_command(export_dir, tmp_path):
    """A C build off by one in one score: the page says so in red, and the command exits 1 after writing it."""
    broken = tmp_path / "broken"
    shutil.copytree(export_dir, broken)
    original = (broken / "fm.c").read_text()
    (broken / "fm.c").write_text(
        f"#define fm_infer fm_infer_real\n{original}\n#undef fm_infer\n"
        "int32_t fm_infer(const uint8_t *input, int32_t *scores)\n{\n"
        "    int32_t c = fm_infer_real(input, scores);\n    scores[1] += 1;\n    return c;\n}\n")
    out = tmp_path / "report.html"
    result = invoke("report", broken, "--limit", 20, "--out", out)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "disagrees" in lines[0], result.stderr
    assert "20 mismatches" in result.stdout
    page = Dom(out.read_text())
    assert value(page.by_id("mismatches")) == 20
    assert "bad" in page.by_id("mismatch-banner")["attrs"]["class"].split()
    assert page.by_id("first-mismatches")["attrs"]["data-value"] == ",".join(map(str, range(10)))


@pytest.mark.parametrize("case, words", [
    ("missing export", "does not exist"),
    ("not an export", "is not an export folder"),
    ("unknown core", "unknown core cortex-m99"),
    ("unknown board", "unknown board 'no-such-board'"),
    ("run without metrics.json", "has no metrics.json"),
    ("out is a folder", "is a folder"),
])
def test_bad_input_is_one_line(case, words, export_dir, tmp_path):
    out = tmp_path / "report.html"
    args = {"missing export": [tmp_path / "nothing-here", "--out", out],
            "not an export": [tmp_path, "--out", out],
            "unknown core": [export_dir, "--bench", "cortex-m4,cortex-m99", "--out", out],
            "unknown board": [export_dir, "--board", "no-such-board", "--out", out],
            "run without metrics.json": [export_dir, "--run", tmp_path, "--out", out],
            "out is a folder": [export_dir, "--out", tmp_path]}[case]
    result = invoke("report", *args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    assert words in lines[0] and "internal error" not in lines[0], lines[0]
    assert not out.exists()


def test_help_teaches_with_examples():
    help_text = ok(invoke("report", "--help"))
    for expected in ("sbn-mcu report build/mlp --out report.html", "--bench", "--board", "--run", "--limit",
                     "--data", "cortex-m4"):
        assert expected in help_text
