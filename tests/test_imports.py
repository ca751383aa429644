"""The import graph keeps renderers pure: a renderer's imports, followed all the way down, reach
no storage, no HTTP client and no command code.

The graph is read from the source with `ast`, not by importing: every `import` of the
repository's own modules is followed, those inside functions too (a function may run them), but
not those under `if TYPE_CHECKING:`, which never run. Loading a module also runs its parent
packages, so their top level is followed as well.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OWN_PACKAGES = ("bot", "handlers", "storage")

RENDERERS = ("handlers.slack_blocks", "handlers.telegram_html", "bot.plain")
FORBIDDEN = (
    # storage
    "storage",
    "sqlite3",
    "sqlite_utils",
    # HTTP clients and the platforms' SDKs
    "requests",
    "httpx",
    "aiohttp",
    "slack_sdk",
    "slack_bolt",
    "telegram",
    # command code and what runs it
    "bot.commands",
    "bot.service",
    "bot.pubmed.client",
)


def source(module: str) -> Path | None:
    """The file of one of the repository's own modules, or None for anything else."""
    if module.split(".")[0] not in OWN_PACKAGES:
        return None
    base = REPO.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, *, top_level_only: bool = False) -> set[str]:
    """The modules `module` imports; with `top_level_only`, only those its loading runs."""
    path = source(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up `level - 1` packages
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            # `from bot import digest` imports the module bot.digest
            found.update(
                f"{base}.{alias.name}" for alias in node.names if source(f"{base}.{alias.name}")
            )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def reached(start: str) -> dict[str, list[str]]:
    """Every module that importing `start` (and calling its functions) can load, each with the
    chain of imports that gets there."""
    chains: dict[str, list[str]] = {start: [start]}
    done: dict[str, bool] = {}  # module -> followed in full (False: its top level only)
    queue: deque[tuple[str, bool]] = deque([(start, True)])
    while queue:
        module, full = queue.popleft()
        if source(module) is None or done.get(module, False) or (module in done and not full):
            continue
        done[module] = full
        parts = module.split(".")
        parents = [".".join(parts[:i]) for i in range(1, len(parts))]
        for name, as_parent in [(p, True) for p in parents] + [
            (m, False) for m in sorted(imports(module, top_level_only=not full))
        ]:
            chains.setdefault(name, [*chains[module], name])
            queue.append((name, not as_parent))
    return chains


def within(module: str, names: tuple[str, ...]) -> bool:
    """Whether `module` is one of `names` or inside one of them."""
    return any(module == name or module.startswith(name + ".") for name in names)


def forbidden(start: str) -> list[str]:
    """The chains by which `start` reaches a forbidden module, one line each (what lies behind
    a forbidden module is not listed again)."""
    return sorted(
        " → ".join(chain)
        for chain in reached(start).values()
        if within(chain[-1], FORBIDDEN) and not any(within(m, FORBIDDEN) for m in chain[:-1])
    )


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_renderer_reaches_no_storage_no_http_client_and_no_command_code(renderer: str) -> None:
    """Slack's, Telegram's and the plain renderer import nothing that stores, sends or runs."""
    assert source(renderer) is not None, f"{renderer} is not in the repository"
    chains = forbidden(renderer)
    assert not chains, "\n".join(chains)


def test_the_check_sees_what_the_delivery_pass_reaches() -> None:
    """The same walk finds storage and the platforms' SDKs behind the delivery pass and the app,
    so an empty answer for a renderer means something."""
    assert any(line.endswith("→ storage") for line in forbidden("bot.delivery"))
    app = set(reached("bot.app"))
    for name in ("storage", "telegram", "slack_bolt", "requests", "bot.commands"):
        assert any(within(module, (name,)) for module in app), name
    # a TYPE_CHECKING import is not followed: bot.pubmed.client names Settings only for mypy
    assert "bot.config" not in imports("bot.pubmed.client")


def test_storage_reaches_no_other_code_of_ours_than_bot_models() -> None:
    """Storage's imports, followed all the way down, reach none of the bot's code but
    `bot.models` (README's package table): the records it returns, nothing that runs."""
    ours = {
        module
        for module in reached("storage")
        if source(module) is not None and not within(module, ("storage",))
    }
    assert ours == {"bot", "bot.models"}  # `bot` is the package that holds bot.models
    assert "storage.errors" in reached("storage")  # the walk went through storage's modules
