import xl_fastmoss


def test_all_lists_exactly_the_public_names():
    public = {name for name in dir(xl_fastmoss) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(xl_fastmoss, name)).__name__ == "module"}
    assert set(xl_fastmoss.__all__) == public - modules - {"annotations", "pd"}
    assert all(getattr(xl_fastmoss, name) is not None for name in xl_fastmoss.__all__)


def test_a_first_table_does_not_import_the_history_and_comparison_modules():
    import subprocess
    import sys

    later = ("xl_fastmoss.shop_history", "xl_fastmoss.movers")
    program = (f"import sys, xl_fastmoss; print([m for m in {later} if m in sys.modules]); "
               "print(xl_fastmoss.HistoryQuery.__module__)")
    shown = subprocess.run([sys.executable, "-c", program],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    assert shown[:2] == ["[]", "xl_fastmoss.shop_history"]


def test_the_page_reader_loads_with_the_first_call_not_with_the_package(fake_env):
    import os
    import subprocess
    import sys

    program = ("import sys, xl_fastmoss; print('xl_fastmoss.parse' in sys.modules); "
               "table = xl_fastmoss.most_promoted('US', 14, 'day', '2026-04-01'); "
               "print(len(table), 'xl_fastmoss.parse' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", program], env=os.environ.copy(),
                           capture_output=True, text=True, check=True).stdout.split("\n")
    assert shown[:2] == ["False", "10 True"]


def test_every_error_descends_from_one_root():
    errors = [getattr(xl_fastmoss, n) for n in xl_fastmoss.__all__ if n.endswith("Error") or n in (
        "InvalidArgument", "MissingApiKey", "RateLimited", "RequestTimeout", "ConnectionFailed",
        "InvalidResponse", "QuotaExceeded", "PermissionDenied", "ResourceNotFound", "FrequencyLimited")]
    assert all(issubclass(e, xl_fastmoss.FastMossError) for e in errors)
