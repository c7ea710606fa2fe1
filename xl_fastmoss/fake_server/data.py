"""Deterministic shop rankings for the fake FastMoss server: a small world that moves slowly.

Every ranking is a pure function of its query: the endpoint, the filters, the period and the
data revision, never the sort field (one ranking sorted two ways holds the same shops with the
same numbers). Seeds come from SHA-256 and SplitMix64, not Python's salted ``hash()``, so the
data is the same in every process.

The world's rules
-----------------
Shops
    Shop ``idx`` of the partition ``(region, shop_type, is_cross_border, is_fully_managed,
    main_category)`` always has the same seller_id, name, company and trajectory, in every
    ranking it appears in.
Populations
    The shops a ranking can hold depend on its population only: the endpoint and the shop
    filters (region, category_id, shop_type, is_cross_border); never the period, the sort
    field or the revision. A population holds a quarter more shops than its ranking has rows;
    each period ranks the trap shops (below) and, for the other rows, the most active of the
    rest (activity summed over the period, with 8 % day noise of its own). So the same shops
    come back day after day, week after week, month after month, a top-20 shop is in the next
    day's ranking, and shops near the cut enter and leave it (about 5 to 10 a day in 500).
Trajectories
    A shop's activity on calendar day ``t`` is ``exp(L(t))``, with the latent log-activity
    ``L(t) = level + growth * tanh((t - mid) / width) + three sinusoids``, all seeded per shop:
    a size (larger in big markets and for brand shops), an S-shaped rise or decline centred
    between 2024 and 2027, and cycles of 3 weeks to 2 years. ``L`` is evaluated at any day
    directly, never stepped from an epoch.
Days
    units_sold, usd_gmv and affiliate_count (creators newly linked) follow the day's activity
    through the shop's constants (price, creator intensity), each with its own small seeded
    day noise (lognormal: 12 % on units, 5 % on the price, 15 % on creators). Consecutive days
    are correlated (the smooth part moves a few percent a day) but not equal (the noise), so
    ranks move and the top 50 trade a few shops from one day to the next.
Weeks and months
    ISO weeks (Monday first, in the ISO year: 2026-53 runs from 2026-12-28 to 2027-01-03) and
    calendar months are sums of their days: units_sold, usd_gmv (each day rounded to cents
    first) and affiliate_count; their membership is by the period's summed activity.
Growth rates
    units_sold_inc_rate and gmv_inc_rate are the true change against the shop's previous
    period of the same type (the day, ISO week or calendar month before), written "28.8%".
Other fields
    total_affiliate_count grows over the years (the shop's creators from before 2022 plus its
    average daily creators since, plus the period's); sale_product_count grows with the square
    root of the period's units, at most product_count; gmv is usd_gmv at a fixed rate.
Revision
    ``Query.revision`` (the vendor's data moved on) reseeds the day noise: every number of
    every ranking moves a little and a few shops near the cut swap; the populations and the
    trajectories stay.
Ties
    In a ranking's first 100 rows the integer sort keys (affiliate_count, units_sold) never
    hold three equal values in a row: where rounding made a third equal value, it is lowered
    by one, with the rows below it as far as the order needs. That touches a row now and then,
    so a week can differ from the sum of its days by a unit. Equal values are ordered by
    seller_id, descending, so pages never overlap or skip.

Short rankings (so that "the ranking ends before row 500" can be tested):

* ``category_id`` 28 (Pre-Owned): 37 rows, on every endpoint, region and period;
* ``shop_type`` 1 together with ``is_cross_border`` 1 (cross-border brand shops): 180 rows;
* everything else: 500 rows.

Odd on purpose, the traps a client must survive:

* every 500-row ranking holds each of the 24 ``TRAP_NAMES`` twice (a shorter ranking one trap
  shop in 8): names in many scripts, names starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return, names Excel would turn into numbers;
* growth rates absent, null, ``""`` or ``"-"`` in about one row in six, by slot (the shop's
  place in its population plus the period's first day, so other shops on other days), and
  negative for shops in decline;
* ``gmv`` with cents, and as a plain integer for IDR, VND and JPY; 19-digit seller ids beyond
  2^53;
* the vendor's example question (mostPromoted, US, category 14, day 2026-04-01) answers the
  vendor's example row first, verbatim (a GB shop with 55 new creators), and echoes the
  example's period (day 2026-04-06). To keep that ranking sorted under the vendor's 55, its
  other rows' affiliate_count are squeezed to 54 and below, so they come in pairs: the only
  ranking with ties in its first 100 rows (never three in a row).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALL_REGIONS = (
    "US", "GB", "MX", "ES", "DE", "IT", "FR", "ID", "VN", "MY", "TH", "PH", "BR", "JP", "SG")
FULLY_MANAGED_REGIONS = ("US", "GB", "ES", "MX", "DE", "IT", "FR")

CURRENCIES = {
    "US": "USD", "GB": "GBP", "MX": "MXN", "ES": "EUR", "DE": "EUR", "IT": "EUR", "FR": "EUR",
    "ID": "IDR", "VN": "VND", "MY": "MYR", "TH": "THB", "PH": "PHP", "BR": "BRL", "JP": "JPY",
    "SG": "SGD",
}
#: Local currency units for one US dollar (rough, fixed: the fake needs plausibility only).
_USD_RATES = {
    "USD": 1.0, "GBP": 0.79, "EUR": 0.92, "MXN": 17.1, "IDR": 15800.0, "VND": 25400.0,
    "MYR": 4.7, "THB": 36.0, "PHP": 56.0, "BRL": 5.0, "JPY": 150.0, "SGD": 1.35,
}
#: Currencies whose amounts the fake sends as whole numbers, as the vendor documents gmv.
_WHOLE_CURRENCIES = {"IDR", "VND", "JPY"}

#: The fake's TikTok Shop level-1 categories (the vendor's ids are undocumented except 14).
CATEGORIES = {
    1: "Womenswear & Underwear",
    2: "Menswear & Underwear",
    3: "Muslim Fashion",
    4: "Fashion Accessories",
    5: "Shoes",
    6: "Luggage & Bags",
    7: "Jewelry Accessories & Derivatives",
    8: "Kids' Fashion",
    9: "Baby & Maternity",
    10: "Toys & Hobbies",
    11: "Sports & Outdoor",
    12: "Automotive & Motorcycle",
    13: "Phones & Electronics",
    14: "Beauty & Personal Care",
    15: "Health",
    16: "Food & Beverages",
    17: "Home Supplies",
    18: "Kitchenware",
    19: "Textiles & Soft Furnishings",
    20: "Household Appliances",
    21: "Furniture",
    22: "Home Improvement",
    23: "Tools & Hardware",
    24: "Computers & Office Equipment",
    25: "Pet Supplies",
    26: "Books, Magazines & Audio",
    27: "Collectibles",
    28: "Pre-Owned",
}

FULL_RANKING = 500
SHORT_CATEGORY = 28
SHORT_CATEGORY_TOTAL = 37
SHORT_COMBO_TOTAL = 180

#: Names a careless client mangles. Every full ranking holds each of them at least twice.
TRAP_NAMES = (
    "Café Élégance Paris",
    "Müller & Söhne Küchenwelt",
    "Niño Bonito Tienda Oficial",
    "小米官方旗舰店",
    "資生堂 公式ショップ",
    "ร้านสวยงาม ไทยแลนด์",
    "متجر الجمال الرسمي",
    "Cửa Hàng Mỹ Phẩm Việt",
    "Магазин Красоты",
    "한국 뷰티 스토어",
    "✨Glow Up Store💄",
    "👩‍👩‍👧 Family Deals 🇺🇸",
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "+Plus Beauty",
    "-Minus Store",
    "@home",
    "\tTabbed Shop",
    "\rCarriage Return Shop",
    "Line\nBreak Boutique",
    "007",
    "1E5",
    "  Spaced Out  ",
    'Quote "Best" Shop; Tom\'s, Ltd.',
)
_TRAP_SHOPS_PER_RANKING = 2 * len(TRAP_NAMES)
#: One draw in this many is a trap shop, so short rankings get a few and long ones all.
_TRAP_EVERY = 8

#: Growth rates written oddly, by a row's slot modulo the cycle: absent key, null, "", "-".
_ABSENT = object()
_RATE_TRAPS = {3: _ABSENT, 7: None, 11: "", 17: "-"}
_RATE_CYCLE = 25

_REGION_WEIGHTS = {
    "US": 30, "GB": 10, "MX": 5, "ES": 3, "DE": 4, "IT": 3, "FR": 4, "ID": 14, "VN": 8,
    "MY": 5, "TH": 7, "PH": 6, "BR": 4, "JP": 3, "SG": 2,
}
#: Shops a partition can hold (its first _TRAP_SHOPS_PER_RANKING are the trap shops).
_POOL_SIZE = 2000

_PREFIXES = (
    "Glow", "Luxe", "Urban", "Pure", "Happy", "Nova", "Bloom", "Sunny", "Lucky", "Prime",
    "Velvet", "Zen", "Cozy", "Aura", "Peak", "Maple", "Coral", "Silver", "Tiny", "Wild",
)
_NOUNS = (
    "Beauty", "Home", "Tech", "Kids", "Style", "Outfitters", "Kitchen", "Pets", "Gear",
    "Living", "Closet", "Skin", "Mart", "Studio", "Goods", "Lab",
)
_SUFFIXES = ("", " Official", " Store", " Shop", " Official Store", " Mall", " Flagship")
_COMPANY_FORMS = {
    "US": "LLC", "GB": "Ltd", "MX": "S.A. de C.V.", "ES": "S.L.", "DE": "GmbH", "IT": "S.r.l.",
    "FR": "SAS", "ID": "PT", "VN": "Công ty TNHH", "MY": "Sdn. Bhd.", "TH": "Co., Ltd.",
    "PH": "Inc.", "BR": "Ltda.", "JP": "株式会社", "SG": "Pte. Ltd.",
}
_CHINESE_CITIES = ("深圳市", "广州市", "义乌市", "杭州市", "东莞市")
_CHINESE_TRADES = ("科技", "电子商务", "贸易", "实业", "供应链管理")

_EXAMPLE_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "most_promoted.response.example.json")

#: The world's day 0 (trajectory parameters are given in days from it).
_EPOCH = dt.date(2024, 1, 1).toordinal()
#: Creators a shop linked before this day are its seeded ``creators_before``.
_CREATORS_SINCE = dt.date(2022, 1, 1).toordinal()
#: Units sold a day for an activity of 1, and new creators (activity ** _CREATOR_EXPONENT).
_UNITS_PER_ACTIVITY = 400
_CREATORS_PER_ACTIVITY = 200
_CREATOR_EXPONENT = 0.85
#: Lognormal day noise (standard deviation of the log) on units, price and creators.
_UNITS_NOISE, _PRICE_NOISE, _CREATORS_NOISE = 0.12, 0.05, 0.15
#: ... and on the activity that decides which shops a period ranks.
_MEMBERSHIP_NOISE = 0.08
#: Sort values stay free of runs of three equal values in this many first rows.
_TIE_FREE_ROWS = 100
#: The vendor's example row has 55 new creators; the example ranking's other rows stay below.
_EXAMPLE_CAP = 54


@dataclass(frozen=True)
class RankingSpec:
    """What differs between the three shop rankings."""

    name: str
    path: str
    regions: tuple[str, ...]
    sort_fields: tuple[str, ...]
    default_sort: str
    filters: tuple[str, ...]
    has_affiliate_count: bool
    fully_managed_only: bool


_COMMON_FILTERS = ("region", "category_id", "shop_type", "is_cross_border", "date_info")

RANKINGS = {
    spec.path: spec
    for spec in (
        RankingSpec("mostPromoted", "/shop/v1/rank/mostPromoted", ALL_REGIONS,
                    ("affiliate_count",), "affiliate_count", _COMMON_FILTERS, True, False),
        RankingSpec("topSelling", "/shop/v1/rank/topSelling", ALL_REGIONS,
                    ("units_sold", "usd_gmv"), "units_sold", _COMMON_FILTERS, False, False),
        RankingSpec("fullyManaged", "/shop/v1/rank/fullyManaged", FULLY_MANAGED_REGIONS,
                    ("units_sold", "usd_gmv"), "units_sold",
                    ("region", "category_id", "shop_type", "date_info"), False, True),
    )
}


@dataclass(frozen=True)
class Population:
    """What decides the shops a ranking can hold: the endpoint and the shop filters."""

    endpoint: str
    region: str | None = None
    category_id: int | None = None
    shop_type: int | None = None
    is_cross_border: int | None = None

    @property
    def total(self) -> int:
        """How many rows a period's ranking of this population has."""
        if self.category_id == SHORT_CATEGORY:
            return SHORT_CATEGORY_TOTAL
        if self.shop_type == 1 and self.is_cross_border == 1:
            return SHORT_COMBO_TOTAL
        return FULL_RANKING


@dataclass(frozen=True)
class Query:
    """A validated ranking question; ``None`` means the filter was not given."""

    endpoint: str
    date_type: str
    date_value: str
    region: str | None = None
    category_id: int | None = None
    shop_type: int | None = None
    is_cross_border: int | None = None
    #: The server's data revision (``FakeFastMoss.revision``); 0 is the original data.
    revision: int = 0

    def population(self) -> Population:
        """The population the ranking draws its shops from."""
        return Population(self.endpoint, self.region, self.category_id, self.shop_type,
                          self.is_cross_border)


#: The vendor's example request, answered with the vendor's example row first.
EXAMPLE_QUERY = Query("mostPromoted", "day", "2026-04-01", region="US", category_id=14)


def is_example(query: Query) -> bool:
    """Whether ``query`` is the vendor's example question, at any data revision."""
    return dataclasses.replace(query, revision=0) == EXAMPLE_QUERY


def ranking_total(query: Query) -> int:
    """How many rows the ranking of ``query`` has (see the module docstring)."""
    return query.population().total


def ranking(query: Query, sort_field: str) -> tuple[dict, ...]:
    """The whole ranking of ``query``, sorted by ``sort_field`` descending.

    The rows are shared between calls: treat them as read-only.
    """
    return _sorted_ranking(query, sort_field)


def example_response() -> dict:
    """The vendor's example response, as shipped in the package's data folder."""
    return json.loads(_EXAMPLE_FILE.read_text(encoding="utf-8"))


def example_period() -> tuple[str, str]:
    """The period the vendor's example answer says it answered."""
    data = example_response()["data"]
    return data["date_type"], data["date_value"]


# -- periods -----------------------------------------------------------------------------------

_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_YEAR_AND_NUMBER = re.compile(r"([0-9]{4})-([0-9]{2})")


def period_start(date_type: str, value: str) -> dt.date | None:
    """The first day of the period ``value`` (``YYYY-MM-DD``, ISO ``YYYY-WW``, ``YYYY-MM``),
    or None when ``value`` is not one."""
    match = (_DAY if date_type == "day" else _YEAR_AND_NUMBER).fullmatch(value)
    if not match or date_type not in ("day", "week", "month"):
        return None
    numbers = [int(part) for part in match.groups()]
    try:
        if date_type == "day":
            return dt.date(*numbers)
        if date_type == "month":
            return dt.date(numbers[0], numbers[1], 1)
        year, week = numbers
        if not 1 <= week <= dt.date(year, 12, 28).isocalendar().week:
            return None
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return None


def period_days(date_type: str, first: dt.date) -> int:
    """How many days the period of ``date_type`` starting on ``first`` has."""
    if date_type == "day":
        return 1
    if date_type == "week":
        return 7
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (following - first).days


def previous_period_start(date_type: str, first: dt.date) -> dt.date:
    """The first day of the period of the same type just before the one starting on ``first``."""
    if date_type == "month":
        return (first - dt.timedelta(days=1)).replace(day=1)
    return first - dt.timedelta(days=period_days(date_type, first))


# -- populations -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Shops:
    """A population's shops and their constants, one array row per shop."""

    shops: tuple[dict, ...]
    #: The first ``always`` shops (the trap shops) are ranked in every period.
    always: int
    seeds: np.ndarray          # (n, 1) uint64: each shop's seed, for its constants and noise
    level: np.ndarray          # (n, 1): the log-activity's centre
    growth: np.ndarray         # (n, 1): half the rise (or, negative, decline) of the S
    mid: np.ndarray            # (n, 1): the S's centre, in days from _EPOCH
    width: np.ndarray          # (n, 1): about how many days the S takes
    amplitude: np.ndarray      # (n, 3, 1): the three cycles' amplitudes (of the log)
    frequency: np.ndarray      # (n, 3, 1): their angular frequencies, radians a day
    phase: np.ndarray          # (n, 3, 1)
    price: np.ndarray          # (n, 1): US dollars a unit
    creators: np.ndarray       # (n, 1): creator intensity
    products: np.ndarray       # (n, 1): sale_product_count per square root of units
    creators_before: np.ndarray  # (n, 1): creators linked before _CREATORS_SINCE


@functools.lru_cache(maxsize=64)
def _population_shops(population: Population) -> _Shops:
    spec = _spec_named(population.endpoint)
    total = population.total
    always = min(_TRAP_SHOPS_PER_RANKING, -(-total // _TRAP_EVERY))
    rng = random.Random(_stable_int(
        "population|" + "|".join(map(str, dataclasses.astuple(population)))))
    taken: set[tuple] = set()
    members = []
    for position in range(total + max(8, total // 4)):
        partition = _draw_partition(rng, spec, population)
        if position < always:
            idx = position
        else:
            idx = rng.randrange(_TRAP_SHOPS_PER_RANKING, _POOL_SIZE)
            while (partition, idx) in taken:
                idx = rng.randrange(_TRAP_SHOPS_PER_RANKING, _POOL_SIZE)
        taken.add((partition, idx))
        members.append((partition, idx))
    shops = tuple(_shop(partition, idx) for partition, idx in members)
    seeds = np.array([[_stable_int(_shop_key(*member) + "|world") % 2**64] for member in members],
                     dtype=np.uint64)
    # Shops are larger in big markets and for brands, so that mixed rankings lean that way.
    size = np.array([[0.25 * math.log(_REGION_WEIGHTS[shop["region"]] / 30)
                      + (0.15 if shop["shop_type"] == 1 else 0.0)] for shop in shops])
    u = _uniforms(seeds, 1, 21)  # each column feeds one constant below, never two
    normal = np.sqrt(-2 * np.log(u[:, 0:4])) * np.cos(2 * math.pi * u[:, 4:8])
    cycle_days = np.array([[20, 60, 200]]) + np.array([[25, 100, 530]]) * u[:, 8:11]
    return _Shops(
        shops=shops, always=always, seeds=seeds,
        level=size + 1.1 * normal[:, 0:1],
        growth=0.5 * normal[:, 1:2],
        mid=3 * 365 * u[:, 11:12],
        width=60 + 340 * u[:, 12:13],
        amplitude=(np.array([[0.15, 0.2, 0.3]]) * (0.3 + 0.7 * u[:, 13:16]))[:, :, None],
        frequency=(2 * math.pi / cycle_days)[:, :, None],
        phase=(2 * math.pi * u[:, 16:19])[:, :, None],
        price=np.exp(2.7 + 0.6 * normal[:, 2:3]),
        creators=np.exp(0.3 * normal[:, 3:4]),
        products=0.3 + 1.2 * u[:, 19:20],
        creators_before=np.floor(50 + 19_950 * u[:, 20:21]),
    )


def _spec_named(name: str) -> RankingSpec:
    return next(spec for spec in RANKINGS.values() if spec.name == name)


def _draw_partition(rng: random.Random, spec: RankingSpec, population: Population) -> tuple:
    region = population.region or _weighted(rng, {r: _REGION_WEIGHTS[r] for r in spec.regions})
    shop_type = population.shop_type or _weighted(rng, {1: 35, 2: 65})
    if spec.fully_managed_only:
        fully_managed, cross_border = 1, 1
    else:
        fully_managed = 1 if region in FULLY_MANAGED_REGIONS and rng.random() < 0.1 else 0
        if population.is_cross_border is not None:
            cross_border = population.is_cross_border
        else:
            cross_border = 1 if fully_managed or rng.random() < 0.35 else 0
    if population.category_id is not None and rng.random() < 0.85:
        category = population.category_id
    else:
        category = rng.randint(1, len(CATEGORIES))
    return region, shop_type, cross_border, fully_managed, category


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _shop_key(partition: tuple, idx: int) -> str:
    return f"shop|{'|'.join(map(str, partition))}|{idx}"


@functools.lru_cache(maxsize=16384)
def _shop(partition: tuple, idx: int) -> dict:
    region, shop_type, cross_border, fully_managed, category = partition
    key = _shop_key(partition, idx)
    rng = random.Random(_stable_int(key))
    core = f"{rng.choice(_PREFIXES)} {rng.choice(_NOUNS)}"
    if idx < _TRAP_SHOPS_PER_RANKING:
        name = TRAP_NAMES[idx % len(TRAP_NAMES)]
    else:
        name = core + rng.choice(_SUFFIXES)
    return {
        "seller_id": 7_000_000_000_000_000_000 + _stable_int(key + "|id") % 900_000_000_000_000_000,
        "name": name,
        "brand": core if shop_type == 1 else rng.choice(("", core)),
        "seller_company": _company(rng, core, region, cross_border),
        "avatar": f"https://s.500fd.com/tt_shop/{hashlib.md5(key.encode()).hexdigest()}"
                  "~tplv-tulkllf4y5-resize-webp:300:300.webp",
        "region": region,
        "currency": CURRENCIES[region],
        "product_count": max(1, int(rng.lognormvariate(5, 1.5))),
        "shop_rating": 0.0 if rng.random() < 0.03 else round(rng.uniform(3.6, 5.0), 1),
        "main_category": {"category_id": category, "name": CATEGORIES[category]},
        "is_fully_managed": fully_managed,
        "is_cross_border": cross_border,
        "shop_type": shop_type,
        "status": 2 if rng.random() < 0.02 else 1,
    }


def _company(rng: random.Random, core: str, region: str, cross_border: int) -> str:
    if cross_border:
        city, trade = rng.choice(_CHINESE_CITIES), rng.choice(_CHINESE_TRADES)
        return f"{city}{core.split()[0]}{trade}有限公司"
    form = _COMPANY_FORMS[region]
    if region in ("ID", "VN", "JP"):
        return f"{form} {core}"
    return f"{core} {form}"


# -- periods' numbers --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _PeriodMetrics:
    """One period's sums for every shop of a population (arrays in the population's order)."""

    activity: np.ndarray
    units: np.ndarray
    usd_gmv: np.ndarray
    creators: np.ndarray


@functools.lru_cache(maxsize=512)
def _period_metrics(population: Population, first: int, days: int,
                    revision: int) -> _PeriodMetrics:
    """The sums over the ``days`` days from ordinal ``first`` (see the module docstring)."""
    shops = _population_shops(population)
    ordinals = np.arange(first, first + days, dtype=np.int64)
    t = (ordinals - _EPOCH).astype(np.float64)[None, :]
    latent = shops.level + shops.growth * np.tanh((t - shops.mid) / shops.width)
    cycles = shops.amplitude * np.sin(shops.frequency * t[:, None, :] + shops.phase)
    latent = latent + cycles.sum(axis=1)
    activity = np.exp(latent)
    noise = functools.partial(_day_noise, shops.seeds, ordinals, revision)
    units = np.maximum(1.0, np.rint(
        _UNITS_PER_ACTIVITY * activity * np.exp(_UNITS_NOISE * noise(1))))
    usd_gmv = np.round(units * shops.price * np.exp(_PRICE_NOISE * noise(2)), 2)
    creators = np.rint(_CREATORS_PER_ACTIVITY * shops.creators
                       * np.exp(_CREATOR_EXPONENT * (latent + _CREATORS_NOISE * noise(3))))
    # Ranked by activity with a little noise of its own, so the cut moves every day.
    ranked_activity = activity * np.exp(_MEMBERSHIP_NOISE * noise(4))
    return _PeriodMetrics(activity=ranked_activity.sum(axis=1), units=units.sum(axis=1),
                          usd_gmv=np.round(usd_gmv.sum(axis=1), 2), creators=creators.sum(axis=1))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _day_noise(seeds: np.ndarray, ordinals: np.ndarray, revision: int,
               metric: int) -> np.ndarray:
    """Standard normal noise for each (shop, day), by Box-Muller."""
    salt = (metric << 32) + revision + 2
    first = _uniforms(seeds, salt, ordinals)
    second = _uniforms(seeds, salt + (1 << 48), ordinals)
    return np.sqrt(-2.0 * np.log(first)) * np.cos(2 * math.pi * second)


def _uniforms(seeds: np.ndarray, salt: int, count_or_keys: int | np.ndarray) -> np.ndarray:
    """Uniform numbers in (0, 1], one for each (seed, key): SplitMix64 of both and ``salt``.

    The keys are ``range(count)`` or an int64 array (days); the seeds are a column.
    """
    keys = np.arange(count_or_keys) if isinstance(count_or_keys, int) else count_or_keys
    with np.errstate(over="ignore"):
        mixed = _splitmix(keys.astype(np.uint64) * _GOLDEN + np.uint64(salt % 2**64))
        mixed = _splitmix(seeds ^ mixed[None, :])
    return ((mixed >> np.uint64(11)) + np.uint64(1)) * 2.0**-53


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea and Flood 2014), on uint64 arrays (wrapping)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# -- rankings ----------------------------------------------------------------------------------


#: Rankings held ready to page through (about 1.3 MB each). A real vendor answers in about the same
#: time whatever was asked before; a fake that built again every ranking a client's order evicted
#: would bill its own compute (25 ms a ranking) to that client. 128 holds the benchmark's
#: 200-formula dashboard (88 rankings).
RANKINGS_HELD = 128


@functools.lru_cache(maxsize=RANKINGS_HELD)
def _sorted_ranking(query: Query, sort_field: str) -> tuple[dict, ...]:
    rows = list(_rows(query))
    # seller_id breaks ties so that pages of one ranking never overlap or skip.
    rows.sort(key=lambda row: (row[sort_field], row["shop_info"]["seller_id"]), reverse=True)
    if is_example(query):
        rows = [example_response()["data"]["list"][0], *rows[:-1]]
    return tuple(rows)


@functools.lru_cache(maxsize=32)
def _rows(query: Query) -> tuple[dict, ...]:
    """The ranking's rows, in the population's order (see the module docstring)."""
    spec = _spec_named(query.endpoint)
    population = query.population()
    shops = _population_shops(population)
    first = period_start(query.date_type, query.date_value)
    if first is None:
        raise ValueError(f"not a {query.date_type}: {query.date_value!r}")
    days = period_days(query.date_type, first)
    now = _period_metrics(population, first.toordinal(), days, query.revision)
    before_first = previous_period_start(query.date_type, first)
    before = _period_metrics(population, before_first.toordinal(),
                             period_days(query.date_type, before_first), query.revision)

    always = shops.always
    best = np.argsort(-now.activity[always:], kind="stable")[:population.total - always]
    ranked = np.sort(np.concatenate([np.arange(always), best + always]))
    sellers = [shops.shops[i]["seller_id"] for i in ranked]
    units = _without_runs_of_ties(now.units[ranked].astype(np.int64).tolist(), sellers)
    creators = now.creators[ranked].astype(np.int64)
    if is_example(query):
        creators = np.minimum(creators, _EXAMPLE_CAP)
    creators = _without_runs_of_ties(creators.tolist(), sellers)
    last_day = first.toordinal() + days - 1

    rank_category = {"category_id": query.category_id or 0,
                     "name": CATEGORIES.get(query.category_id or 0, "")}
    rows = []
    for n, i in enumerate(ranked.tolist()):
        shop = shops.shops[i]
        currency = shop["currency"]
        usd_gmv = float(now.usd_gmv[i])
        gmv = usd_gmv * _USD_RATES[currency]
        daily_creators = (_CREATORS_PER_ACTIVITY * float(shops.creators[i, 0])
                          * math.exp(_CREATOR_EXPONENT * float(shops.level[i, 0])))
        slot = i + first.toordinal()  # where the odd growth rates fall (module docstring)
        row = {
            "shop_info": shop,
            "rank_category": rank_category,
            "total_affiliate_count": int(shops.creators_before[i, 0]) + creators[n] + round(
                0.1 * daily_creators * (last_day - _CREATORS_SINCE)),
            "affiliate_count": creators[n],
            "sale_product_count": min(shop["product_count"], max(1, round(
                float(shops.products[i, 0]) * math.sqrt(units[n])))),
            "units_sold": units[n],
            "gmv": round(gmv) if currency in _WHOLE_CURRENCIES else round(gmv, 2),
            "usd_gmv": usd_gmv,
            "units_sold_inc_rate": _rate(slot, now.units[i], before.units[i]),
            "gmv_inc_rate": _rate(slot + 5, now.usd_gmv[i], before.usd_gmv[i]),
            "currency": currency,
        }
        if not spec.has_affiliate_count:
            del row["affiliate_count"]
        for field in ("units_sold_inc_rate", "gmv_inc_rate"):
            if row[field] is _ABSENT:
                del row[field]
        rows.append(row)
    return tuple(rows)


def _without_runs_of_ties(values: list[int], sellers: list[int]) -> list[int]:
    """``values`` lowered where needed so that the first _TIE_FREE_ROWS in ranking order never
    hold three equal values in a row (see the module docstring)."""
    order = sorted(range(len(values)), key=lambda i: (values[i], sellers[i]), reverse=True)
    spread = list(values)
    above: list[int | None] = [None, None]  # the values of the two rows above, nearest first
    for rank, i in enumerate(order):
        value = spread[i] if above[0] is None else min(spread[i], above[0])
        if rank < _TIE_FREE_ROWS and value == above[0] == above[1]:
            value = max(0, value - 1)
        spread[i] = value
        above = [value, above[0]]
    return spread


def _rate(slot: int, now: float, before: float) -> object:
    """The change from ``before`` to ``now`` written "28.8%", or the odd spelling of ``slot``."""
    if slot % _RATE_CYCLE in _RATE_TRAPS:
        return _RATE_TRAPS[slot % _RATE_CYCLE]
    text = f"{(float(now) / float(before) - 1) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text}%"


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")
