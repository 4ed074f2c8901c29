"""The rooms of the toolkit import one way (docs/architecture.md): no cycle, no import against the order."""

import ast
import pathlib

import pytest

from tests.helpers.repo_root import REPO_ROOT

# Lowest first: a module may import its own room and the rooms before it.
ROOM_ORDER = [
    "layers",
    "pretrain.errors",
    "pretrain.atomic_files",
    "pretrain.text",
    "pretrain.examples",
    "pretrain.training",
    "pretrain.embeddings",
    "pretrain.objectives",
    "tasks",
    "saved_models",
    "pretrain.runs",
    "pretrain.commands",
    "cli",
]
PACKAGES = ("layers", "pretrain", "tasks", "saved_models")
# Commands import their run inside `run(args)` so that `pretrain COMMAND --help` does not start TensorFlow.
FUNCTION_IMPORTS_ALLOWED = ("pretrain.commands", "cli")


def module_files():
    root = pathlib.Path(REPO_ROOT)
    files = {"cli": root / "cli.py"}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def room_of(module):
    matches = [room for room in ROOM_ORDER if module == room or module.startswith(room + ".")]
    return max(matches, key=len) if matches else None


def imports_of(path, modules):
    """(imported project module, line, inside a function) for each import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        targets = {name if name in modules else name.rsplit(".", 1)[0] for name in names}
        found += [(target, node.lineno, id(node) in in_function) for target in targets if target in modules]
    return found


MODULES = module_files()
EDGES = {module: imports_of(path, MODULES) for module, path in MODULES.items()}


def test_every_module_belongs_to_a_room():
    roomless = [module for module in MODULES if room_of(module) is None and module not in PACKAGES]
    assert roomless == [], f"add these modules to a room of ROOM_ORDER and docs/architecture.md: {roomless}"


def test_package_init_files_import_nothing_of_the_project():
    for module in MODULES:
        if MODULES[module].name == "__init__.py" and module != "layers":
            assert EDGES[module] == [], f"{module}/__init__.py imports {EDGES[module]}: it should only document its room"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_room_order(module):
    rank = ROOM_ORDER.index(room_of(module)) if room_of(module) else -1
    for target, line, _ in EDGES[module]:
        target_room = room_of(target)
        if target_room is None:  # a package's docstring-only __init__
            continue
        assert ROOM_ORDER.index(target_room) <= rank, (
            f"{MODULES[module]}:{line} imports {target} ({target_room}), a room above {room_of(module)}; "
            "see docs/architecture.md for the order"
        )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_library_code_imports_the_project_at_module_level(module):
    if room_of(module) in FUNCTION_IMPORTS_ALLOWED:
        return
    inside = [(target, line) for target, line, in_function in EDGES[module] if in_function]
    assert inside == [], f"{MODULES[module]}: imports inside functions {inside}; import at the top of the module"


def test_no_module_import_cycle():
    graph = {module: {target for target, _, _ in EDGES[module]} for module in MODULES}
    state = {}

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_command_table_names_existing_command_modules():
    import cli

    for name, module in cli.COMMANDS.items():
        assert room_of(module) == "pretrain.commands" and module in MODULES, (name, module)
