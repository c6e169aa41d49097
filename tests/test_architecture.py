"""The layer and import rules of DESIGN section 2, checked by reading every import statement."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from amanat.errors import AmanatError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["amanat", "keys", "audit", "identity", "verification", "vault", "signing", "web"]
# What each package may import (besides itself), from DESIGN 2:
# web → signing → vault → identity | verification → audit → keys → amanat
ALLOWED = {
    "amanat": set(),
    "keys": {"amanat"},
    "audit": {"keys", "amanat"},
    "identity": {"audit", "keys", "amanat"},
    "verification": {"audit", "keys", "amanat"},
    "vault": {"identity", "verification", "audit", "keys", "amanat"},
    "signing": {"vault", "identity", "verification", "audit", "keys", "amanat"},
    "web": {"signing", "vault", "identity", "verification", "audit", "keys", "amanat"},
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"package {package} has no modules"
    return files


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_downwards(package: str) -> None:
    """A package imports only packages below it; identity and verification never meet."""
    bad = []
    for path in _files(package):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def _offenders(prefix: str, allowed: callable) -> list[str]:
    bad = []
    for package in PACKAGES:
        for path in _files(package):
            rel = path.relative_to(ROOT).as_posix()
            for name in _imports(path):
                if (name == prefix or name.startswith(prefix + ".")) and not allowed(rel):
                    bad.append(f"{rel} imports {name}")
    return bad


def test_only_web_imports_flask() -> None:
    assert not _offenders("flask", lambda rel: rel.startswith("web/"))
    assert not _offenders("flask_babel", lambda rel: rel.startswith("web/"))
    assert not _offenders("werkzeug", lambda rel: rel.startswith("web/"))
    assert not _offenders("click", lambda rel: rel.startswith("web/"))


def test_only_keys_touches_cryptography_hazmat() -> None:
    assert not _offenders("cryptography.hazmat", lambda rel: rel.startswith("keys/"))


def test_only_keys_touches_the_token_library() -> None:
    """Keys in an HSM are handed out by the key store (keys.signers.Signer): nothing above
    ``keys`` imports the PKCS#11 store or python-pkcs11, or asks which kind of store it has."""
    assert not _offenders("keys.pkcs11", lambda rel: rel.startswith("keys/"))
    assert not _offenders("pkcs11", lambda rel: rel.startswith("keys/"))


def test_only_identity_webauthn_imports_fido2() -> None:
    assert not _offenders("fido2", lambda rel: rel == "identity/webauthn.py")


def test_only_signing_and_verification_import_pyhanko() -> None:
    assert not _offenders("pyhanko", lambda rel: rel.startswith(("signing/", "verification/")))


def test_nothing_imports_web() -> None:
    assert not _offenders("web", lambda rel: rel.startswith("web/"))


def test_services_never_commit() -> None:
    """Domain services flush; only web (and the CLI in web) commit."""
    bad = []
    for package in ["keys", "audit", "identity", "verification", "vault", "signing"]:
        for path in _files(package):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr == "commit":
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad


def test_every_package_has_a_docstring() -> None:
    for package in PACKAGES:
        doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
        assert doc, f"{package}/__init__.py needs a paragraph on its role"
        assert len(doc) > 80, f"{package}/__init__.py needs a paragraph on its role"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself works: a forbidden import is seen."""
    sample = tmp_path / "x.py"
    sample.write_text("from web.app import create_app\nimport cryptography.hazmat.primitives\n")
    assert _imports(sample) == ["web.app", "cryptography.hazmat.primitives"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in _files(package)}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (``a.b.c`` may be module a.b's attribute c)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _import_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                target = _resolve(name, modules)
                if target and target != module:
                    graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere() -> None:
    """Every import (also inside functions) between project modules, as a graph: no cycle."""
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_finds_a_planted_cycle() -> None:
    graph = {"web.a": {"web.b"}, "web.b": {"web.c"}, "web.c": {"web.a"}, "web.d": {"web.a"}}
    assert _cycles(graph) == [["web.a", "web.b", "web.c"]]


def test_no_view_imports_another_view() -> None:
    """Views share helpers through web modules (context, inputs, apikeys, ...), never each other."""
    graph = _import_graph()
    bad = [
        f"{m} imports {t}"
        for m, targets in graph.items()
        if m.startswith("web.views.")
        for t in targets
        if t.startswith("web.views.")
    ]
    assert not bad, bad


def _views_importing(prefix: str, views: Path) -> list[str]:
    return [
        f"{path.name} imports {name}"
        for path in sorted(views.glob("*.py"))
        for name in _imports(path)
        if name == prefix or name.startswith(prefix + ".")
    ]


def test_no_view_queries_the_database_itself() -> None:
    """A view parses, calls a service and renders: no SQLAlchemy (queries, its errors) in it."""
    assert not _views_importing("sqlalchemy", ROOT / "web" / "views")


def test_the_view_rule_catches_a_query(tmp_path: Path) -> None:
    (tmp_path / "planted.py").write_text("from sqlalchemy import select\n")
    assert _views_importing("sqlalchemy", tmp_path) == ["planted.py imports sqlalchemy"]


@pytest.mark.parametrize(
    "dotted",
    [
        "keys.errors.KeysError",
        "audit.errors.AuditError",
        "identity.errors.IdentityError",
        "verification.errors.VerificationError",
        "vault.errors.VaultError",
        "signing.errors.SigningError",
        "amanat.settings.SettingsError",
    ],
)
def test_every_package_error_derives_from_one_root(dotted: str) -> None:


    module, _, name = dotted.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), name), AmanatError)


MAX_FUNCTION_LINES = 60


def _long_functions() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in _files(package):
            if "migrations" in path.parts:
                continue  # alembic revisions are written once and never called twice
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    return found


def test_no_function_is_longer_than_sixty_lines() -> None:
    assert _long_functions() == []
