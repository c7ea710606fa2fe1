import xl_fastmoss


def test_all_lists_exactly_the_public_names():
    public = {name for name in vars(xl_fastmoss) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(xl_fastmoss, name)).__name__ == "module"}
    assert set(xl_fastmoss.__all__) == public - modules - {"annotations", "pd"}


def test_every_error_descends_from_one_root():
    errors = [getattr(xl_fastmoss, n) for n in xl_fastmoss.__all__ if n.endswith("Error") or n in (
        "InvalidArgument", "MissingApiKey", "RateLimited", "RequestTimeout", "ConnectionFailed",
        "InvalidResponse", "QuotaExceeded", "PermissionDenied", "ResourceNotFound", "FrequencyLimited")]
    assert all(issubclass(e, xl_fastmoss.FastMossError) for e in errors)
