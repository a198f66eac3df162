"""The source tree keeps the shape the architecture promises: every file
under src/ stays small enough to answer one question, modules do not
depend on each other in a cycle (module = a .c file together with the header
of the same path under include/; the files of a split module share a
private header under src/ and count as one), and SQLite stays inside the
store (a second storage backend replaces src/store/, not its callers)."""
import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_LINES = 800
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# SQLite's names and headers: its functions and types (sqlite3_*, sqlite3),
# its constants, <sqlite3.h>, and the store's own SQLite-only header.
SQLITE_RE = re.compile(r'\bsqlite3\w*|\bSQLITE_\w+|#\s*include\s*[<"](?:sqlite3\.h|store/sqlite\.h)[>"]')
SQLITE_HEADER_RE = re.compile(r'#\s*include\s*[<"](?:sqlite3\.h|store/sqlite\.h)[>"]')


def rel(path):
    return os.path.relpath(path, ROOT)


def module_of(path):
    """src/a/b.c, include/a/b.h and src/a/b.h are all module "a/b"."""
    r = rel(path)
    for top in ("src/", "include/"):
        if r.startswith(top):
            r = r[len(top):]
    return os.path.splitext(r)[0]


def resolve(including, name):
    """The file an #include "name" in `including` refers to, or None."""
    for base in (os.path.dirname(including), os.path.join(ROOT, "include"),
                 os.path.join(ROOT, "src")):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(p):
            return p
    return None


def graph():
    """Module -> modules it includes. A private header under src/ and the
    .c files that include it are one module (the files of a split module)."""
    files = glob.glob(os.path.join(ROOT, "src", "**", "*.[ch]"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "include", "**", "*.h"), recursive=True)
    includes = {}
    for f in files:
        with open(f, encoding="utf-8") as fh:
            includes[f] = [t for t in (resolve(f, n) for n in INCLUDE_RE.findall(fh.read())) if t]
    parent = {}

    def find(m):
        while parent.get(m, m) != m:
            m = parent[m]
        return m

    for f, targets in includes.items():
        for t in targets:
            if rel(t).startswith("src/") and t.endswith(".h"):
                parent[find(module_of(f))] = find(module_of(t))
    edges = {}
    for f, targets in includes.items():
        src = find(module_of(f))
        for t in targets:
            dst = find(module_of(t))
            if dst != src:
                edges.setdefault(src, set()).add(dst)
    return edges


def sqlite_mentions(text):
    """The SQLite names and includes in a source text."""
    return SQLITE_RE.findall(text)


def sqlite_leaks():
    """file: names, for every file outside the store that names SQLite, and
    every store header but store/sqlite.h that includes it."""
    leaks = []
    files = glob.glob(os.path.join(ROOT, "src", "**", "*.[ch]"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "include", "**", "*.h"), recursive=True)
    for f in sorted(files):
        r = rel(f)
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        if r.startswith("src/store/") or r == "include/store/sqlite.h":
            continue
        found = SQLITE_HEADER_RE.findall(text) if r.startswith("include/store/") \
            else sqlite_mentions(text)
        if found:
            leaks.append(f"{r}: {sorted(set(found))}")
    return leaks


def find_cycle(edges):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


class Layout(unittest.TestCase):
    def test_every_source_file_is_small(self):
        big = []
        for f in sorted(glob.glob(os.path.join(ROOT, "src", "**", "*.[ch]"), recursive=True)):
            with open(f, encoding="utf-8") as fh:
                n = sum(1 for _ in fh)
            if n > MAX_LINES:
                big.append(f"{os.path.relpath(f, ROOT)}: {n} lines")
        self.assertEqual(big, [], f"files over {MAX_LINES} lines")

    def test_no_include_cycles_between_modules(self):
        self.assertIsNone(find_cycle(graph()))

    def test_cycle_finder_finds_a_cycle(self):
        self.assertEqual(find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}), ["a", "b", "c", "a"])
        self.assertIsNone(find_cycle({"a": {"b"}, "b": {"c"}}))

    def test_sqlite_stays_inside_the_store(self):
        self.assertEqual(sqlite_leaks(), [],
                         "outside src/store/ use store/db.h's store_stmt_t and store_* calls")

    def test_sqlite_finder_finds_names(self):
        self.assertEqual(sqlite_mentions('#include <sqlite3.h>\nsqlite3_stmt *s; x = SQLITE_ROW;'),
                         ["#include <sqlite3.h>", "sqlite3_stmt", "SQLITE_ROW"])
        self.assertEqual(sqlite_mentions('#include "store/sqlite.h"\nsqlite3 *db;'),
                         ['#include "store/sqlite.h"', "sqlite3"])
        self.assertEqual(sqlite_mentions('/* SQLite rolls it back */ log_error("sqlite: %s", m);'), [])


if __name__ == "__main__":
    unittest.main()
