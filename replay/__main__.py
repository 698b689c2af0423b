"""``python -m replay``: the same as the ``replay`` command."""

from __future__ import annotations

from replay.cli import main

if __name__ == "__main__":
    main()
