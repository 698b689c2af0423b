"""The root group's commands, each imported only when it runs (or shows its own help).

``replay inspect`` used to import every command's module (run, bisect, golden, report...)
and have typer build every command's parameters. A ``LazyGroup`` knows its commands by
``CommandEntry``: name, module, attribute and the summary ``replay --help`` lists, so the
root help imports none of them. Running ``replay NAME`` (or ``replay NAME --help``)
imports NAME's module and builds its command exactly as typer builds a command of the
group.

tests/cli/test_lazy_commands.py checks each summary against its command's own help.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand

from replay.cli.common import EXIT_USAGE, ReplayCommand, ReplayGroup, command_help, one_line


@dataclass(frozen=True)
class CommandEntry:
    """One command of a ``LazyGroup``: ``module.attribute`` is a command function or a
    ``typer.Typer`` sub-app; ``summary`` is the first paragraph of its help."""

    name: str
    module: str
    attribute: str
    summary: str


class LazyCommands(MutableMapping[str, Any]):
    """A group's ``commands``: built commands, and entries built on first access. An entry
    whose module does not exist is not listed; one whose module fails to import becomes
    a command that reports why (exit 3) instead of breaking every other command."""

    def __init__(self, built: dict[str, Any], entries: Sequence[CommandEntry], group: Any) -> None:
        self._built = dict(built)
        self._entries = {e.name: e for e in entries if e.name not in built and _exists(e)}
        self._order = [*self._built, *self._entries]
        self._group = group

    def summary(self, name: str) -> Any:
        """The built command, or a stand-in with the entry's name and summary (for help)."""
        if name in self._built:
            return self._built[name]
        entry = self._entries.get(name)
        return None if entry is None else TyperCommand(entry.name, help=entry.summary)

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = _load(self._entries[name], self._group)  # KeyError: none
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self:
            self._order.append(name)
        self._entries.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._entries.pop(name, None)
        self._built.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._entries


class LazyGroup(ReplayGroup):
    """A ``ReplayGroup`` whose ``entries`` are imported when they run. Its help lists
    them by summary; resolving a command to run (or to show its help) builds it."""

    entries: tuple[CommandEntry, ...] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(dict(self.commands), self.entries, self)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        commands = self.commands
        if isinstance(commands, LazyCommands):
            return commands.summary(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(  # type: ignore[override]
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None:
            command = self.commands[name]
        return name, command, rest


def _exists(entry: CommandEntry) -> bool:
    try:
        return importlib.util.find_spec(entry.module) is not None
    except (ImportError, ValueError):
        return False


def _load(entry: CommandEntry, group: Any) -> Any:
    """The command of ``entry``, built as typer builds a command of ``group``."""
    try:
        target = getattr(importlib.import_module(entry.module), entry.attribute)
    except Exception as exc:  # a half-written module must not take the CLI down
        command = _unavailable(entry, exc)
    else:
        holder = typer.Typer(
            cls=ReplayGroup,
            add_completion=False,
            pretty_exceptions_enable=False,
            rich_markup_mode=group.rich_markup_mode,
        )
        holder.callback()(_no_options)
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=entry.name, help=target.info.help or entry.summary)
        else:
            holder.command(entry.name, cls=ReplayCommand, help=command_help(target.__doc__))(target)
        command = typer.main.get_command(holder).commands[entry.name]
    return command


def _no_options() -> None:
    """The holder group's callback (a group needs one to be built as a group)."""


def _unavailable(entry: CommandEntry, exc: Exception) -> Any:
    reason = f"{entry.module}: {type(exc).__name__}: {one_line(str(exc))}"

    def unavailable() -> None:
        sys.stderr.write(f"replay: error: 'replay {entry.name}' is unavailable ({reason})\n")
        raise typer.Exit(EXIT_USAGE)

    return ReplayCommand(
        entry.name,
        help=f"{entry.summary} (unavailable: {reason})",
        callback=unavailable,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
