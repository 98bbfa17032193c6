"""What every command shares: the global options (accepted before or after the command name),
the application context built from them, and the one place errors become exit codes."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from campaignctl.cli import ownership
from campaignctl.clock import Clock, FrozenClock, SystemClock
from campaignctl.core.instants import InstantError, parse_instant
from campaignctl.errors import CampaignctlError
from campaignctl.store.location import StateLocation, parse_state

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "json", "github", "markdown", "csv")
"""Every output format. `--format` takes any of them, before or after the command name; a
command refuses, in one line, a format it does not write, so none prints text when another
form was asked for."""

DATA_FORMATS = ("text", "json")


@dataclass
class AppContext:
    dir: Path | None = None
    state: StateLocation | None = None
    now: datetime | None = None
    format: str = "text"
    adopt_dir: bool = False

    @property
    def dir_given(self) -> bool:
        """True when --dir or CAMPAIGNCTL_DIR names the config directory."""
        return self.dir is not None or bool(os.environ.get("CAMPAIGNCTL_DIR"))

    @property
    def state_given(self) -> bool:
        """True when --state or CAMPAIGNCTL_STATE names the state (else it is the file
        beside the config directory, so the two belong together)."""
        return self.state is not None or bool(os.environ.get("CAMPAIGNCTL_STATE"))

    @property
    def config_dir(self) -> Path:
        if self.dir is not None:
            return self.dir
        return Path(os.environ.get("CAMPAIGNCTL_DIR", "campaigns.d"))

    @property
    def state_path(self) -> StateLocation:
        """The state: `--state`, else CAMPAIGNCTL_STATE, else the file beside the config
        directory. A file path or a PostgreSQL URL; `str()` of it masks a URL's password."""
        if self.state is not None:
            return self.state
        env = os.environ.get("CAMPAIGNCTL_STATE")
        if env:
            return parse_state(env)
        return parse_state(self.config_dir.resolve().parent / ".campaignctl" / "state.db")

    @property
    def clock(self) -> Clock:
        return FrozenClock(self.now) if self.now is not None else SystemClock()


class InstantType(click.ParamType[datetime, Any]):
    """An option's ISO 8601 instant (`--now`, and any option that takes a time). A bad one
    ends the command with one line naming the option, exit 1, before anything is read or
    written: a typo such as year 0226 is never acted on."""

    name = "instant"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(value)
        except InstantError as exc:
            option = param.opts[0] if param is not None and param.opts else "instant"
            raise CampaignctlError(f"{option}: {exc}") from None


INSTANT = InstantType()


class StateType(click.ParamType[StateLocation, Any]):
    """`--state`: a file path, or a `postgresql://` URL (kept whole: a path would fold its
    `//`). A file must not be a directory; a URL is checked when the state is opened."""

    name = "path_or_url"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> StateLocation:
        location = parse_state(value)
        if location.path is not None and location.path.is_dir():
            self.fail(f"{str(location.path)!r} is a directory.", param, ctx)
        return location


STATE = StateType()


def _store_flag(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A flag given anywhere stays given: a later default (False) does not undo it."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value:
            setattr(ctx.ensure_object(AppContext), field, True)
        return value

    return callback


def check_owner() -> None:
    """Before a command runs: refuse a state that belongs to another config directory, and
    record the directory on the first apply (ownership.py); `plan` and `apply` then name
    the state in their first line of text."""
    ctx = click.get_current_context()
    if ctx.invoked_subcommand is not None:
        return  # a group: its command checks, knowing every option
    app = ctx.find_object(AppContext)
    if app is None:
        return
    command = ctx.command_path.partition(" ")[2]
    state = app.state_path
    ownership.check(command, app.config_dir, state, dir_given=app.dir_given, adopt=app.adopt_dir)
    if app.format == "text":
        ownership.announce(command, state, app.config_dir)


def record_owner() -> None:
    """After a command succeeded: `apply` records the config directory it carried out."""
    ctx = click.get_current_context()
    app = ctx.find_object(AppContext)
    if ctx.invoked_subcommand is None and app is not None:
        command = ctx.command_path.partition(" ")[2]
        ownership.after(command, app.config_dir, app.state_path, adopt=app.adopt_dir)


def _store(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            app = ctx.find_object(AppContext)
            if app is None:
                app = ctx.ensure_object(AppContext)
            setattr(app, field, value)
        return value

    return callback


def refuse_other_formats(formats: tuple[str, ...]) -> None:
    """End the current command with one line when --format asks for a form it does not write
    (the option given before the command name is checked only here, once the command is
    known)."""
    ctx = click.get_current_context()
    if ctx.invoked_subcommand is not None:
        return  # a group: its command checks, knowing the whole --format
    app = ctx.find_object(AppContext)
    if app is not None and app.format not in formats:
        *others, last = formats
        written = f"{', '.join(others)} or {last}" if others else last
        raise CampaignctlError(f"--format {app.format}: `{ctx.command_path}` writes only {written}")


def global_params() -> list[click.Option]:
    """New --dir, --state, --now and --format options, which store their value in the
    AppContext wherever they are given: before the command name, after it, or between a
    group and its command (`template --dir X copy A B`)."""
    return [
        click.Option(
            ["--dir", "dir_"],
            type=click.Path(path_type=Path, file_okay=False),
            expose_value=False,
            callback=_store("dir"),
            help="Config directory (default campaigns.d, env CAMPAIGNCTL_DIR).",
        ),
        click.Option(
            ["--state"],
            type=STATE,
            expose_value=False,
            callback=_store("state"),
            help="State database: a file (default .campaignctl/state.db beside the "
            "config directory) or a postgresql:// URL (env CAMPAIGNCTL_STATE).",
        ),
        click.Option(
            ["--now"],
            type=INSTANT,
            metavar="ISO8601",
            expose_value=False,
            callback=_store("now"),
            help="Act as if it were this time (UTC unless an offset is given).",
        ),
        click.Option(
            ["--format", "format_"],
            type=click.Choice(FORMATS),
            metavar="[text|json]",
            expose_value=False,
            callback=_store("format"),
            help="Output format.",
        ),
        click.Option(
            ["--adopt-dir"],
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_store_flag("adopt_dir"),
            help="Use the state although it belongs to a config directory of another name "
            "(the same configuration renamed or moved); apply records the new name.",
        ),
    ]


def add_global_params(command: click.Command, formats: tuple[str, ...] = DATA_FORMATS) -> None:
    """Give `command` the global options it lacks (a group declared without them, too)."""
    present = {p.name for p in command.params}
    for param in global_params():
        if param.name in present:
            continue
        if param.name == "format_":
            param.metavar = f"[{'|'.join(formats)}]"
        command.params.append(param)


def global_options(formats: tuple[str, ...] = DATA_FORMATS) -> Callable[[F], F]:
    """Add --dir, --state, --now and --format to a group or a command that writes `formats`.
    Before the command runs: a format it does not write is refused, and the state's config
    directory is checked (ownership.py)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            refuse_other_formats(formats)
            check_owner()
            result = func(*args, **kwargs)
            record_owner()
            return result

        params = getattr(checked, "__click_params__", [])
        checked.__click_params__ = params  # type: ignore[attr-defined]
        for param in reversed(global_params()):
            if param.name == "format_":
                param.metavar = f"[{'|'.join(formats)}]"
            params.append(param)
        return cast(F, checked)

    return decorate


pass_app = click.make_pass_decorator(AppContext, ensure=True)
