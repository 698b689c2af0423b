"""``python -m replay`` and the ``replay`` command (``[project.scripts]``).

The command line is the ``[cli]`` extra: a core install (what a production image holds
for capture) gets one line naming the install command instead of a traceback.
"""

from __future__ import annotations

import sys

CLI_MODULES = frozenset({"typer", "click", "rich"})
"""What the command line needs beyond the core (the ``[cli]`` extra)."""

EXIT_USAGE = 3  # replay.cli.common.EXIT_USAGE, without importing the command line


def main() -> None:
    try:
        from replay.cli import main as cli_main
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in CLI_MODULES:
            raise
        print(
            f"replay: the command line needs the [cli] extra ({exc.name} is not installed); "
            "install it with: pip install 'agent-replay[cli]'",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    cli_main()


if __name__ == "__main__":
    main()
