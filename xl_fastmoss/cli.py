"""The ``xl-fastmoss`` command line: one command per job, errors as one line on stderr."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import click

from . import export, movers, shop_history
from .addin_command import addin as addin_command
from .asking import asked_by
from .client import FastMossClient
from .errors import FastMossError, InvalidArgument
from .redact import redact_url, scrub
from .settings import (
    Settings,
    config_file,
    forget_api_key,
    key_travels_in_clear,
    read_config,
    store_api_key,
    write_config,
)
from .template_command import template as template_command

_FORMATS = ("table", "csv", "json")
_OUTPUT_SUFFIXES = (".xlsx", ".csv")


class _Group(click.Group):
    """Reports what the world can cause (an xl-fastmoss error, a file or folder that cannot be
    written, a terminal that cannot show a name) as one `Type: message` line on stderr, exit
    status 1. Only a bug of the program itself shows a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader of stdout has gone (`| head`): click ends quietly, status 1
        except (FastMossError, OSError, UnicodeEncodeError) as error:
            click.echo(export.printable(f"{type(error).__name__}: {_message(error)}"), err=True)
            ctx.exit(1)


def _message(error: Exception) -> str:
    if isinstance(error, FastMossError):
        return error.message
    if isinstance(error, UnicodeEncodeError):
        encoding = getattr(sys.stdout, "encoding", None) or error.encoding  # cp1252 rather than "charmap"
        return (f"the output's encoding ({encoding}) cannot write {error.object[error.start:error.end]!r}; "
                "set PYTHONIOENCODING=utf-8, or write to a file with --output")
    return str(error)


@click.group(cls=_Group)
@click.version_option(package_name="xl-fastmoss")
def main() -> None:
    """FastMoss TikTok Shop rankings for Excel, scripts and the terminal."""


def _ranking_command(name: str, endpoint: str, with_sort: bool, with_cross_border: bool, help_text: str):
    @click.argument("region")
    @click.argument("category_id")
    @click.argument("date_type", type=click.Choice(["day", "week", "month"], case_sensitive=False))
    @click.argument("date_value", default="latest")
    @click.option("--rows", default="10", show_default=True, help="Rows, 1..500 (pages of 100).")
    @click.option("--shop-type", default=None, help="1 brand shop, 2 retail shop.")
    @click.option("--format", "output_format", type=click.Choice(_FORMATS), default="table", show_default=True,
                  help="table: for people, control characters shown escaped. csv, json: data for programs, "
                       "text as sent (csv on a terminal shows control characters escaped, unless --raw).")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Write FILE.xlsx or FILE.csv instead of printing. A CSV file is made for Excel: "
                       "text starting with = + - @, tab, CR or NUL gets a ' before it, so it is never run "
                       "as a formula.")
    @click.option("--raw", is_flag=True,
                  help="CSV text exactly as sent: no ' before formula-like text in --output FILE.csv, "
                       "no escaped control characters in --format csv on a terminal.")
    @click.option("--compare", default=None, metavar="PERIOD",
                  help="previous (the period before) or an earlier period: adds previous_rank, rank_change and "
                       "new, the earlier ranking fetched to the same --rows.")
    @click.option("--refresh", is_flag=True, help="Skip the cache and ask the API again (answers of settled "
                                                   "periods are final: they come from the cache).")
    def command(region, category_id, date_type, date_value, rows, shop_type, output_format, output,
                raw, compare, refresh, sort=None, cross_border=None):
        _check_output(output, output_format, raw)
        options = {"shop_type": shop_type, "rows": rows, "refresh": refresh}
        if with_sort:
            options["sort_by"] = sort
        if with_cross_border:
            options["cross_border"] = cross_border
        region, category_id = _filter(region), _filter(category_id)
        asker = f"xl-fastmoss {name} {region or 'all'} {category_id or 'all'} {date_type} {date_value}"
        with FastMossClient() as client, _progress_bar() as progress, asked_by(asker):
            if compare is None:
                result = client.ranking(endpoint, region, category_id, date_type, date_value,
                                        progress=progress, **options)
            else:
                result = movers.compared_ranking(client, endpoint, region, category_id, date_type, date_value,
                                                 compare=compare, progress=progress, **options)
        if refresh and result.stale:  # asked for fresh data: an older copy is not an answer
            click.echo(f"warning: the refresh failed; the cached copy from {result.fetched_at:%Y-%m-%d %H:%M} UTC "
                       "was not used (without --refresh it is shown, marked stale)", err=True)
            raise result.stale_error or FastMossError(result.stale_reason or "the refresh failed")
        _emit(result, output_format, output, raw)

    if with_sort:
        command = click.option("--sort", default=None, help="units_sold (default) or usd_gmv.")(command)
    if with_cross_border:
        command = click.option("--cross-border", default=None, help="1 cross-border, 0 local.")(command)
    command.__doc__ = help_text + "\n\nREGION and CATEGORY_ID take `all` for no filter."
    return main.command(name)(command)


_ranking_command("most-promoted", "most_promoted", False, True,
                 "Shops ranked by creators newly linked in the period.")
_ranking_command("top-selling", "top_selling", True, True, "Shops ranked by units sold or USD GMV.")
_ranking_command("fully-managed", "fully_managed", True, False,
                 "Fully managed shops (US GB ES MX DE IT FR) ranked by units sold or USD GMV.")


def _filter(value: str) -> str | None:
    """A REGION or CATEGORY_ID argument: `all`, `-` or empty for no filter."""
    return None if value.lower() in ("all", "-", "") else value


class _NegativeStart(click.Command):
    """Reads a START of ``-29`` as an argument, where click would refuse an unknown option ``-2``."""

    def parse_args(self, ctx, args):
        # Not an option once it starts with a space (START is read stripped); an option's value
        # (--depth -4) is left alone, click reads it as given.
        return super().parse_args(ctx, [f" {a}" if re.fullmatch(r"-\d+", a) and not (i and args[i - 1].startswith("-"))
                                        else a for i, a in enumerate(args)])


@main.command(cls=_NegativeStart)
@click.argument("seller_id")
@click.argument("region")
@click.argument("category_id")
@click.argument("date_type", type=click.Choice(["day", "week", "month"], case_sensitive=False))
@click.argument("start")
@click.argument("end", default="latest")
@click.option("--ranking", default="most_promoted", show_default=True,
              help="most_promoted, top_selling or fully_managed.")
@click.option("--sort", default=None, help="units_sold (default) or usd_gmv, for top_selling and fully_managed.")
@click.option("--depth", default="100", show_default=True, help="How deep to look for the shop, 1..500.")
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="table", show_default=True,
              help="table, csv or json, as for the rankings.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write FILE.xlsx or FILE.csv instead of printing (a CSV file is made for Excel).")
@click.option("--raw", is_flag=True, help="CSV text exactly as sent.")
@click.option("--refresh", is_flag=True, help="Ask the API again for each period's first page.")
def history(seller_id, region, category_id, date_type, start, end, ranking, sort, depth, output_format, output,
            raw, refresh):
    """A shop's rank and metrics in each period from START to END (at most 90 periods).

    SELLER_ID is the shop's 19-digit id. START and END take what DATE_VALUE takes (END
    defaults to latest); START may be -N, N periods before END: `-29 latest` is the last 30.
    REGION and CATEGORY_ID take `all`.
    Each period's ranking is read through the cache and paged only until the shop is found.
    """
    _check_output(output, output_format, raw)
    query = shop_history.HistoryQuery.build(seller_id, _filter(region), _filter(category_id), date_type, start, end,
                                            ranking=ranking, sort_by=sort, depth=depth)
    with FastMossClient() as client, _progress_bar() as progress:
        result = shop_history.fetch_history(client, query, refresh=refresh, progress=progress)
    _emit(result, output_format, output, raw)


def _check_output(output: Path | None, output_format: str, raw: bool) -> None:
    """Refuse, before any paid call, an output that cannot be written or a --raw that does nothing."""
    writes_csv = output.suffix.lower() == ".csv" if output is not None else output_format == "csv"
    if raw and not writes_csv:
        given = f"--output {output.name}" if output is not None else f"--format {output_format}"
        raise InvalidArgument("--raw", given, "it is for CSV only: --output FILE.csv or --format csv")
    if output is None:
        return
    if output.suffix.lower() not in _OUTPUT_SUFFIXES:
        raise InvalidArgument("--output", output.name, "write FILE.xlsx or FILE.csv")
    folder = output.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InvalidArgument("--output", output.name, f"the folder {folder} {problem}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise InvalidArgument("--output", output.name,
                              f"the folder {folder} cannot be written to ({error.strerror or error})") from None


def _emit(result, output_format: str, output: Path | None, raw: bool) -> None:
    for warning in result.warnings:
        click.echo(export.printable(f"warning: {warning}"), err=True)
    if result.stale:
        click.echo(export.printable(f"warning: showing cached data from {result.fetched_at:%Y-%m-%d %H:%M} UTC; "
                                    f"the API failed: {result.stale_reason}"), err=True)
    if output is not None:
        try:
            if output.suffix.lower() == ".xlsx":
                export.write_xlsx(result, output)
            else:
                export.write_csv(result, output, raw=raw)
        except OSError as error:  # the folder went away or filled up while the ranking was fetched
            if error.errno is None:
                raise
            raise OSError(error.errno, error.strerror, str(output)) from error  # its subclass, by errno
        click.echo(f"wrote {len(result.frame)} rows to {output}", err=True)
        return
    if output_format == "csv":
        text = export.as_csv(result, escape_controls=not raw and sys.stdout.isatty())
    elif output_format == "json":
        text = export.as_json(result)
    else:
        text = export.as_text(result)
    click.echo(text, nl=not text.endswith("\n"))  # CSV rows end in their own CRLF


class _progress_bar:
    """A tqdm bar on stderr for work of more than one page (hidden when stderr is no terminal)."""

    def __enter__(self):
        self._bar = None
        return self.update

    def update(self, done: int, total: int) -> None:
        if total <= 1:
            return
        if self._bar is None:
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit="page", file=sys.stderr, leave=False, disable=None)
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()


@main.command()
@click.option("--set-key", is_flag=True, help="Ask for the API key and store it (OS keyring, else a user-only file).")
@click.option("--forget-key", is_flag=True, help="Remove the stored key.")
@click.option("--base-url", default=None, help="Store another API base URL.")
@click.option("--cache-dir", default=None, help="Store another cache folder.")
@click.option("--cache-ttl", default=None, help="Store how many seconds a cached answer is fresh.")
@click.option("--max-concurrency", default=None, help="Store how many calls may be in flight at once.")
@click.option("--cache-url", default=None, help="Store a team cache, redis://host:6379/0 ('' to remove).")
@click.option("--daily-calls", default=None, help="Store a daily budget of calls ('' or none: no budget).")
@click.option("--daily-rows", default=None, help="Store a daily budget of rows received ('' or none: no budget).")
@click.option("--page-rows", default=None, help="Store the page size policy: full (100 rows a page, fewest calls) "
                                                "or exact (only the rows a table lacks, fewest rows).")
@click.option("--settle-days", default=None, help="Store the days after a period ends before its answers are final.")
@click.option("--confirm-calls", default=None, help="Store above how many estimated calls an Excel refresh asks first.")
def config(set_key, forget_key, base_url, cache_dir, cache_ttl, max_concurrency, cache_url, daily_calls, daily_rows,
           page_rows, settle_days, confirm_calls):
    """Show or change the settings; the key is never shown."""
    if set_key:
        key = click.prompt("FastMoss API key", hide_input=True).strip()
        click.echo(f"key stored in {store_api_key(key)}")
    if forget_key:
        forget_api_key()
        click.echo("stored key removed")
    changes = {"base_url": base_url, "cache_dir": cache_dir, "cache_ttl": cache_ttl,
               "max_concurrency": max_concurrency, "cache_url": cache_url, "daily_calls": daily_calls,
               "daily_rows": daily_rows, "page_rows": page_rows, "settle_days": settle_days,
               "confirm_calls": confirm_calls}
    changes = {k: (None if v is not None and v.strip().lower() in ("", "none") else v)
               for k, v in changes.items() if v is not None}
    if changes:
        previous = read_config()
        write_config(changes)
        try:
            Settings.load()  # a value that cannot work is refused now, not at the next call
        except FastMossError:
            write_config({k: previous.get(k) for k in changes})
            raise
    settings = Settings.load()
    click.echo(f"config file: {config_file()}")
    click.echo(f"API key: {'configured' if settings.api_key else 'not set (xl-fastmoss config --set-key)'}")
    in_clear = " (plain http: the API key travels unencrypted)" if key_travels_in_clear(settings.base_url) else ""
    click.echo(f"base_url: {redact_url(settings.base_url)}{in_clear}")
    for name in ("cache_dir", "cache_ttl", "max_concurrency", "read_timeout", "max_retries", "daily_calls",
                 "daily_rows", "page_rows", "settle_days", "confirm_calls"):
        value = getattr(settings, name)
        click.echo(scrub(f"{name}: {'none' if value is None else value}"))
    if settings.cache_url:
        click.echo(f"cache_url: {redact_url(settings.cache_url)}")


@main.command("fake-server")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--latency", default=0.0, show_default=True, type=float, help="Seconds added to every call.")
def fake_server(port, latency):
    """Run the fake FastMoss server on loopback (for trying the add-in without a key)."""
    from .fake_server import FAKE_API_KEY, serve

    serve("127.0.0.1", port, FAKE_API_KEY, latency=latency)


@main.command()
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="Folder for the refreshed demo workbooks.")
def demo(output):
    """Run the main job on the embedded fake server: no key, no network."""
    from .demo import run_demo

    run_demo(output, echo=click.echo)


@main.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the values copy: .xlsx (macro-free), or .xlsm to keep an .xlsm's VBA "
                   "(default BOOK-values.xlsx beside BOOK).")
@click.option("--cached", is_flag=True, help="Use cached answers where fresh instead of asking again.")
@click.option("--dry-run", is_flag=True, help="Make no call and write nothing: print what the refresh would fetch, "
                                              "ending with the line `N calls, M rows`.")
@click.option("--max-calls", type=click.IntRange(0), default=None,
              help="Refuse, before any call, a refresh estimated above N calls; stop at N calls in all.")
def refresh(book, output, cached, dry_run, max_calls):
    """Write a copy of BOOK with every FM_ formula replaced by its table as values.

    Other formulas get their computed values, buttons that run macros are left out, and an
    .xlsx copy holds no macros: a copy to share with colleagues without the add-in.
    """
    from .headless import estimate_refresh, refresh_workbook

    if dry_run:
        with FastMossClient() as client:
            planned = estimate_refresh(book, client, refresh=not cached)
        for line in planned.lines():
            click.echo(export.printable(line))
        return
    output = output or book.with_name(f"{book.stem}-values.xlsx")
    with FastMossClient() as client, _progress_bar() as progress, asked_by(f"xl-fastmoss refresh {book.name}"):
        report = refresh_workbook(book, output, client, refresh=not cached, progress=progress, max_calls=max_calls)
    for line in report.lines():  # they quote workbook and API text: shown escaped
        click.echo(export.printable(line), err=not report.ok)
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 90),
              help="Local days to show, today included (the ledger keeps 90).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="json: a list of objects with day, endpoint, calls and rows.")
@click.option("--calls", "each_call", is_flag=True,
              help="Every call instead: when, endpoint, page, page size, rows, outcome and what asked.")
def usage(days, output_format, each_call):
    """Calls and rows by day and endpoint, from the call ledger, with what is left of today's budgets."""
    from .usage import usage_report

    for line in usage_report(Settings.load(), days, output_format, each_call):
        click.echo(export.printable(line))


@main.command()
@click.option("--prune", is_flag=True, help="Remove answers expired more than 7 days ago (never a final one), "
                                            "answers that do not decode, and cache files moved aside.")
@click.option("--clear", is_flag=True, help="Remove every cached answer (the ledger and budgets are kept).")
def cache(prune, clear):
    """The local cache file: answers by kind and size; --prune or --clear it."""
    from .usage import cache_report

    if prune and clear:
        raise InvalidArgument("--prune", "with --clear", "choose one: --clear removes everything --prune would")
    for line in cache_report(Settings.load(), prune=prune, clear=clear):
        click.echo(export.printable(line))


main.add_command(template_command)
main.add_command(addin_command)


if __name__ == "__main__":  # python -m xl_fastmoss.cli, as the entry point does
    main()
