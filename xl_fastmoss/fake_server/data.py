"""Deterministic shop rankings for the fake FastMoss server.

Every ranking is a pure function of its query: the endpoint, the filters and the period
(never the sort field, so one ranking sorted two ways holds the same shops). Seeds come from
SHA-256, not Python's salted ``hash()``, so the data is the same in every process.

Shops come from a virtual pool: shop ``idx`` of the partition ``(region, shop_type,
is_cross_border, is_fully_managed, main_category)`` always has the same seller_id, name and
company, so a shop ranked on two days is recognisably the same shop.

Short rankings (so that "the ranking ends before row 500" can be tested):

* ``category_id`` 28 (Pre-Owned): 37 rows, on every endpoint, region and period;
* ``shop_type`` 1 together with ``is_cross_border`` 1 (cross-border brand shops): 180 rows;
* everything else: 500 rows.

Traps a client must survive are in every 500-row ranking several times: shop names in many
scripts, names starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, names
Excel would turn into numbers, growth rates that are absent, null, ``""``, ``"-"`` or
negative, ``gmv`` with decimals (and as a plain integer for IDR, VND and JPY).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

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

#: Growth rates written oddly, by row draw index modulo the cycle: absent key, null, "", "-".
_ABSENT = object()
_RATE_TRAPS = {3: _ABSENT, 7: None, 11: "", 17: "-"}
_RATE_CYCLE = 25

_REGION_WEIGHTS = {
    "US": 30, "GB": 10, "MX": 5, "ES": 3, "DE": 4, "IT": 3, "FR": 4, "ID": 14, "VN": 8,
    "MY": 5, "TH": 7, "PH": 6, "BR": 4, "JP": 3, "SG": 2,
}
_POOL_SIZE = 2000
_PERIOD_SCALE = {"day": 1, "week": 6, "month": 25}

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

    def seed(self) -> int:
        parts = [self.endpoint, self.region, self.category_id, self.shop_type, self.is_cross_border,
                 self.date_type, self.date_value]
        if self.revision:
            parts.append(f"revision {self.revision}")
        return _stable_int("|".join(str(part) for part in parts))


#: The vendor's example request, answered with the vendor's example row first.
EXAMPLE_QUERY = Query("mostPromoted", "day", "2026-04-01", region="US", category_id=14)


def is_example(query: Query) -> bool:
    """Whether ``query`` is the vendor's example question, at any data revision."""
    return dataclasses.replace(query, revision=0) == EXAMPLE_QUERY


def ranking_total(query: Query) -> int:
    """How many rows the ranking of ``query`` has (see the module docstring)."""
    if query.category_id == SHORT_CATEGORY:
        return SHORT_CATEGORY_TOTAL
    if query.shop_type == 1 and query.is_cross_border == 1:
        return SHORT_COMBO_TOTAL
    return FULL_RANKING


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


@functools.lru_cache(maxsize=16)
def _sorted_ranking(query: Query, sort_field: str) -> tuple[dict, ...]:
    rows = _unsorted_rows(query)
    # seller_id breaks ties so that pages of one ranking never overlap or skip.
    rows.sort(key=lambda row: (row[sort_field], row["shop_info"]["seller_id"]), reverse=True)
    if is_example(query):
        rows = [example_response()["data"]["list"][0], *rows[:-1]]
    return tuple(rows)


def _unsorted_rows(query: Query) -> list[dict]:
    spec = _spec_named(query.endpoint)
    rng = random.Random(query.seed())
    taken: set[tuple] = set()
    rows = []
    trap_draws = 0
    for draw in range(ranking_total(query)):
        partition = _draw_partition(rng, spec, query)
        if draw % _TRAP_EVERY == 0 and trap_draws < _TRAP_SHOPS_PER_RANKING:
            idx = trap_draws
            trap_draws += 1
        else:
            idx = rng.randrange(_TRAP_SHOPS_PER_RANKING, _POOL_SIZE)
        while (partition, idx) in taken:
            idx = rng.randrange(_TRAP_SHOPS_PER_RANKING, _POOL_SIZE)
        taken.add((partition, idx))
        rows.append(_row(rng, spec, query, _shop(partition, idx), draw))
    return rows


def _spec_named(name: str) -> RankingSpec:
    return next(spec for spec in RANKINGS.values() if spec.name == name)


def _draw_partition(rng: random.Random, spec: RankingSpec, query: Query) -> tuple:
    region = query.region or _weighted(rng, {r: _REGION_WEIGHTS[r] for r in spec.regions})
    shop_type = query.shop_type or _weighted(rng, {1: 35, 2: 65})
    if spec.fully_managed_only:
        fully_managed, cross_border = 1, 1
    else:
        fully_managed = 1 if region in FULLY_MANAGED_REGIONS and rng.random() < 0.1 else 0
        cross_border = query.is_cross_border
        if cross_border is None:
            cross_border = 1 if fully_managed or rng.random() < 0.35 else 0
    if query.category_id is not None and rng.random() < 0.85:
        category = query.category_id
    else:
        category = rng.randint(1, len(CATEGORIES))
    return region, shop_type, cross_border, fully_managed, category


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@functools.lru_cache(maxsize=65536)
def _shop(partition: tuple, idx: int) -> dict:
    region, shop_type, cross_border, fully_managed, category = partition
    key = f"shop|{'|'.join(map(str, partition))}|{idx}"
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


def _row(rng: random.Random, spec: RankingSpec, query: Query, shop: dict, draw: int) -> dict:
    scale = _PERIOD_SCALE[query.date_type]
    affiliate_count = min(int(rng.paretovariate(1.3) * 6 * scale ** 0.5), 20_000)
    if is_example(query):
        affiliate_count = min(affiliate_count, 55)  # keep the vendor's row (55) on top
    units_sold = min(max(1, int(rng.paretovariate(1.1) * 40 * scale)), 2_000_000 * scale)
    usd_gmv = round(units_sold * rng.lognormvariate(2.7, 0.6), 2)
    currency = shop["currency"]
    gmv = usd_gmv * _USD_RATES[currency]
    row = {
        "shop_info": shop,
        "rank_category": {
            "category_id": query.category_id or 0,
            "name": CATEGORIES.get(query.category_id, ""),
        },
        "total_affiliate_count": affiliate_count * rng.randint(3, 900) + rng.randint(0, 50),
        "affiliate_count": affiliate_count,
        "sale_product_count": rng.randint(1, max(1, min(shop["product_count"], 5 * scale + 40))),
        "units_sold": units_sold,
        "gmv": round(gmv) if currency in _WHOLE_CURRENCIES else round(gmv, 2),
        "usd_gmv": usd_gmv,
        "units_sold_inc_rate": _rate(rng, draw),
        "gmv_inc_rate": _rate(rng, draw + 5),
        "currency": currency,
    }
    if not spec.has_affiliate_count:
        del row["affiliate_count"]
    for field in ("units_sold_inc_rate", "gmv_inc_rate"):
        if row[field] is _ABSENT:
            del row[field]
    return row


def _rate(rng: random.Random, position: int) -> object:
    value = rng.uniform(-60, 250) if rng.random() < 0.9 else rng.uniform(250, 5000)
    if position % _RATE_CYCLE in _RATE_TRAPS:
        return _RATE_TRAPS[position % _RATE_CYCLE]
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text}%"


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")
