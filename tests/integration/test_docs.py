"""The documentation is executable: every `sh` block of docs/api.md runs, in
document order, against a live daemon (host:port rewritten), with the shell
variables earlier blocks set. Each curl must answer 2xx, or the status named
by an `<!-- expect NNN -->` line right above the block. Afterwards /metrics
must show that the examples reached every endpoint of the HTTP API. Also:
docs/operations.md and sagad(8) describe every configuration key."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import ROOT, DaemonTestCase, binary

API_MD = os.path.join(ROOT, "docs", "api.md")
BLOCK_RE = re.compile(r"(?:<!--\s*expect\s+(\d{3})\s*-->\s*\n)?^```sh\n(.*?)^```", re.S | re.M)
VAR_RE = re.compile(r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=", re.M)
STATUS_MARK = "@@HTTP_STATUS "

# The HTTP API: (method, route pattern) pairs every doc run must reach.
API_ROUTES = [
    ("POST", "/order"),
    ("PUT", "/state-machines/{name}"),
    ("GET", "/state-machines"),
    ("GET", "/state-machines/{name}"),
    ("POST", "/state-machines/{name}/executions"),
    ("GET", "/executions/{id}"),
    ("GET", "/executions"),
    ("GET", "/executions/counts"),
    ("GET", "/state-machines/{name}/versions"),
    ("DELETE", "/state-machines/{name}"),
    ("PUT", "/state-machines/{name}/aliases/{alias}"),
    ("GET", "/state-machines/{name}/aliases"),
    ("GET", "/state-machines/{name}/aliases/{alias}"),
    ("DELETE", "/state-machines/{name}/aliases/{alias}"),
    ("GET", "/executions/{id}/history"),
    ("POST", "/executions/{id}/stop"),
    ("GET", "/state-machines/{name}/graph.svg"),
    ("GET", "/executions/{id}/graph.svg"),
    ("GET", "/orders/{orderId}"),
    ("GET", "/orders"),
    ("GET", "/stock"),
    ("GET", "/stock/{itemId}"),
    ("PUT", "/stock/{itemId}"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("PUT", "/activities/{name}"),
    ("GET", "/activities"),
    ("POST", "/activities/{name}/poll"),
    ("POST", "/tasks/success"),
    ("POST", "/tasks/failure"),
    ("POST", "/tasks/heartbeat"),
    ("POST", "/"),
]

# Every curl goes through this function so its status can be checked without
# changing what the example prints on stdout.
PRELUDE = f"""set -eu -o pipefail
curl() {{ command curl -sS --write-out '%{{stderr}}{STATUS_MARK}%{{http_code}}\\n' "$@"; }}
"""


def doc_blocks(path=API_MD):
    with open(path) as f:
        text = f.read()
    blocks = []
    for m in BLOCK_RE.finditer(text):
        line = text.count("\n", 0, m.start(2))
        blocks.append((line, int(m.group(1)) if m.group(1) else None, m.group(2)))
    return blocks


class ApiDocExamples(DaemonTestCase):
    def test_every_curl_example_works_in_order(self):
        self.assertIsNotNone(shutil.which("jq"), "jq is missing: run scripts/deps.sh test")
        blocks = doc_blocks()
        self.assertGreater(len(blocks), 20)
        d = self.daemon(payment_failure_rate=0)
        hostport = f"127.0.0.1:{d.port}"
        work = tempfile.mkdtemp(prefix="sagad-docs-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        state = os.path.join(work, "vars.sh")
        open(state, "w").close()
        ran = 0
        for line, expect, code in blocks:
            where = f"docs/api.md:{line + 1}"
            self.assertIn("curl ", code, f"{where}: a sh block without curl")
            self.assertNotRegex(code, r"--write-out|-w ", f"{where}: examples must not use -w")
            body = re.sub(r"\b(localhost|127\.0\.0\.1):8080\b", hostport, code)
            names = VAR_RE.findall(code)
            save = "".join(f'printf "%s=%q\\n" {n} "${n}" >> {state!r}\n' for n in names)
            script = PRELUDE + f". {state!r}\n" + body + "\n" + save
            p = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=work, timeout=60)
            out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
            statuses = [int(s) for s in re.findall(re.escape(STATUS_MARK) + r"(\d{3})", err)]
            report = f"{where}:\n{code}\nstdout:\n{out[-2000:]}\nstderr:\n{err[-2000:]}"
            self.assertEqual(p.returncode, 0, report)
            self.assertEqual(len(statuses), len(re.findall(r"\bcurl ", code)), report)
            for st in statuses:
                if expect is None:
                    self.assertTrue(200 <= st < 300, f"status {st}\n" + report)
                else:
                    self.assertEqual(st, expect, report)
            for n in names:
                self.assertRegex(open(state).read(), rf"(?m)^{n}=(?!''$|null$)\S+$", f"{where}: ${n} is empty")
            ran += 1
        self.assertEqual(ran, len(blocks))

        # The examples covered the whole API.
        st, _, text = d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        seen = set(re.findall(r'sagad_http_requests_total\{method="(\w+)",route="([^"]+)"', text))
        for route in API_ROUTES:
            self.assertIn(route, seen, f"docs/api.md has no example for {route[0]} {route[1]}")


class OrderDrawing(DaemonTestCase):
    def test_order_svg_is_current(self):
        """docs/order.svg is what `sagactl graph order | dot -Tsvg` draws today."""
        sagactl = binary("sagactl")
        p = subprocess.run([sagactl, "graph", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            self.skipTest("this sagactl has no graph command yet (it lives on the cli branch)")
        d = self.daemon()
        dot = subprocess.run([sagactl, "--url", f"http://127.0.0.1:{d.port}", "graph", "order"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(dot.returncode, 0, dot.stderr.decode())
        svg = subprocess.run(["dot", "-Tsvg"], input=dot.stdout, stdout=subprocess.PIPE, check=True,
                             timeout=60).stdout.decode()
        with open(os.path.join(ROOT, "docs", "order.svg")) as f:
            self.assertEqual(svg, f.read(), "docs/order.svg is stale: regenerate it with "
                             "build/sagactl graph order | dot -Tsvg > docs/order.svg")


def daemon_keys():
    """Every key the daemon's configuration parser takes (its key table)."""
    with open(os.path.join(ROOT, "src", "core", "config.c")) as f:
        keys = set(re.findall(r'^\s*\{"([a-z_]+)", set_[a-z_]+\},', f.read(), re.M))
    assert len(keys) > 20, keys
    return keys


def help_keys():
    out = subprocess.run([binary("sagad"), "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
    listed = out.split("Keys", 1)[1].split(":", 1)[1]
    return set(re.findall(r"[a-z_]+", listed.split(".", 1)[0]))


class ReferenceDocs(unittest.TestCase):
    def test_block_parser_sees_expectations(self):
        text = "x\n<!-- expect 404 -->\n```sh\ncurl a\n```\n```sh\ncurl b\n```\n```json\n{}\n```\n"
        path = os.path.join(tempfile.mkdtemp(prefix="sagad-docs-"), "a.md")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), ignore_errors=True)
        with open(path, "w") as f:
            f.write(text)
        self.assertEqual([(e, c) for _, e, c in doc_blocks(path)], [(404, "curl a\n"), (None, "curl b\n")])

    def test_help_man_page_and_prod_config_name_every_key(self):
        keys = daemon_keys()
        self.assertEqual(help_keys() & keys, keys, "sagad --help")
        with open(os.path.join(ROOT, "man", "sagad.8")) as f:
            man = f.read()
        with open(os.path.join(ROOT, "conf", "sagad.prod.conf")) as f:
            prod = f.read()
        for key in keys:
            self.assertRegex(man, r"(?m)^\.B[IR]? " + key + r"\b", "sagad(8): " + key)
            self.assertRegex(prod, r"(?m)^#? ?" + key + r" =", "sagad.prod.conf: " + key)

    def test_operations_md_documents_every_config_key(self):
        with open(os.path.join(ROOT, "docs", "operations.md")) as f:
            text = f.read()
        for key in daemon_keys():
            self.assertRegex(text, r"(?m)^\| `" + key + r"` \| ", key)

    def test_asl_md_c_examples_compile(self):
        """The handler examples of docs/asl.md compile against today's headers
        with the project's warning flags."""
        with open(os.path.join(ROOT, "docs", "asl.md")) as f:
            blocks = re.findall(r"^```c\n(.*?)^```", f.read(), re.S | re.M)
        self.assertEqual(len(blocks), 2)
        prelude = ('#include "engine/handler.h"\n#include "handlers/common.h"\n#include <stdint.h>\n'
                   "#include <stdlib.h>\n#include <uv.h>\n"
                   "extern const handler_def_t handlers_stock_check, handlers_remote;\n")
        cflags = subprocess.run(["pkg-config", "--cflags", "libuv", "libcjson", "sqlite3"],
                                stdout=subprocess.PIPE, check=True).stdout.decode().split()
        work = tempfile.mkdtemp(prefix="sagad-asl-md-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        for i, code in enumerate(blocks):
            src = os.path.join(work, f"ex{i}.c")
            with open(src, "w") as f:
                f.write(prelude + code)
            p = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wstrict-prototypes",
                                "-Wmissing-prototypes", "-Wmissing-declarations", "-Wvla", "-D_GNU_SOURCE",
                                "-I" + os.path.join(ROOT, "include"), *cflags, "-c", src,
                                "-o", os.path.join(work, f"ex{i}.o")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_docs_exist(self):
        for name in ("architecture.md", "api.md", "operations.md", "asl.md"):
            with open(os.path.join(ROOT, "docs", name)) as f:
                self.assertGreater(len(f.read()), 2000, name)


if __name__ == "__main__":
    unittest.main()
