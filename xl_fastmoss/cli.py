"""The ``xl-fastmoss`` command line: one command per job, errors as one line on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .client import FastMossClient
from .errors import FastMossError
from .redact import redact_url, scrub
from .settings import Settings, config_file, forget_api_key, key_travels_in_clear, store_api_key, write_config

_FORMATS = ("table", "csv", "json")


class _Group(click.Group):
    """Reports a FastMossError as `Type: message` on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FastMossError as error:
            click.echo(f"{type(error).__name__}: {error.message}", err=True)
            ctx.exit(1)


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
    @click.option("--format", "output_format", type=click.Choice(_FORMATS), default="table", show_default=True)
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Write FILE.xlsx or FILE.csv instead of printing.")
    @click.option("--refresh", is_flag=True, help="Skip the cache and ask the API again.")
    def command(region, category_id, date_type, date_value, rows, shop_type, output_format, output,
                refresh, sort=None, cross_border=None):
        options = {"shop_type": shop_type, "rows": rows, "refresh": refresh}
        if with_sort:
            options["sort_by"] = sort
        if with_cross_border:
            options["cross_border"] = cross_border
        region = None if region.lower() in ("all", "-", "") else region
        category_id = None if category_id.lower() in ("all", "-", "") else category_id
        with FastMossClient() as client, _progress_bar() as progress:
            result = client.ranking(endpoint, region, category_id, date_type, date_value,
                                    progress=progress, **options)
        if refresh and result.stale:  # asked for fresh data: an older copy is not an answer
            click.echo(f"warning: the refresh failed; the cached copy from {result.fetched_at:%Y-%m-%d %H:%M} UTC "
                       "was not used (without --refresh it is shown, marked stale)", err=True)
            raise result.stale_error or FastMossError(result.stale_reason or "the refresh failed")
        _emit(result, output_format, output)

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


def _emit(result, output_format: str, output: Path | None) -> None:
    from . import export

    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.stale:
        click.echo(f"warning: showing cached data from {result.fetched_at:%Y-%m-%d %H:%M} UTC; "
                   f"the API failed: {result.stale_reason}", err=True)
    if output is not None:
        suffix = output.suffix.lower()
        if suffix == ".xlsx":
            export.write_xlsx(result, output)
        elif suffix == ".csv":
            export.write_csv(result, output)
        else:
            raise click.BadParameter(f"{output.name}: write .xlsx or .csv", param_hint="--output")
        click.echo(f"wrote {len(result.frame)} rows to {output}", err=True)
        return
    text = {"table": export.as_text, "csv": export.as_csv, "json": export.as_json}[output_format](result)
    click.echo(text)


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
def config(set_key, forget_key, base_url, cache_dir, cache_ttl, max_concurrency, cache_url):
    """Show or change the settings; the key is never shown."""
    if set_key:
        key = click.prompt("FastMoss API key", hide_input=True).strip()
        click.echo(f"key stored in {store_api_key(key)}")
    if forget_key:
        forget_api_key()
        click.echo("stored key removed")
    changes = {"base_url": base_url, "cache_dir": cache_dir, "cache_ttl": cache_ttl,
               "max_concurrency": max_concurrency, "cache_url": cache_url}
    if any(v is not None for v in changes.values()):
        write_config({k: (v or None) for k, v in changes.items() if v is not None})
    settings = Settings.load()
    click.echo(f"config file: {config_file()}")
    click.echo(f"API key: {'configured' if settings.api_key else 'not set (xl-fastmoss config --set-key)'}")
    in_clear = " (plain http: the API key travels unencrypted)" if key_travels_in_clear(settings.base_url) else ""
    click.echo(f"base_url: {redact_url(settings.base_url)}{in_clear}")
    for name in ("cache_dir", "cache_ttl", "max_concurrency", "read_timeout", "max_retries"):
        click.echo(scrub(f"{name}: {getattr(settings, name)}"))
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
              help="Where to write the values copy (default BOOK-values.xlsx/.xlsm beside BOOK).")
@click.option("--cached", is_flag=True, help="Use cached answers where fresh instead of asking again.")
def refresh(book, output, cached):
    """Write a copy of BOOK with every FM_ formula replaced by its table as values."""
    from .headless import refresh_workbook

    output = output or book.with_name(f"{book.stem}-values{book.suffix}")
    with FastMossClient() as client, _progress_bar() as progress:
        report = refresh_workbook(book, output, client, refresh=not cached, progress=progress)
    for line in report.lines():
        click.echo(line, err=not report.ok)
    if not report.ok:
        sys.exit(1)
