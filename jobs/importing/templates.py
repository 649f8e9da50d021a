"""The import templates: one per entity, each column with its English and usual Chinese header, type and unit.

An entity maps a file (or an Excel sheet) onto one table of ``store.schema`` and names its natural key (what
makes re-importing idempotent). ``write_template`` writes an empty CSV or Excel file with the header row; the
Excel file has a second sheet explaining every column in Chinese and English.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Table

from store import schema as s
from store.indicators import GROUPS
from store.stations import SERVICE_ITEMS
from store.stations import aliases as station_aliases

# Accepted unit suffixes in a header, e.g. "金额（万元）" or "amount_yuan (10k yuan)": unit → {suffix: factor}.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "yuan": {"元": 1.0, "yuan": 1.0, "rmb": 1.0, "cny": 1.0, "千元": 1e3, "万元": 1e4, "10k_yuan": 1e4},
    "persons": {"人": 1.0, "persons": 1.0, "people": 1.0, "人次": 1.0, "万人": 1e4},
    "households": {"户": 1.0, "households": 1.0},
    "pct": {"%": 1.0, "pct": 1.0, "percent": 1.0, "百分比": 1.0},
    "km2": {"km2": 1.0, "km²": 1.0, "sq_km": 1.0, "平方公里": 1.0, "平方千米": 1.0},
    "degrees": {"度": 1.0, "°": 1.0, "degrees": 1.0, "deg": 1.0},
}
UNIT_LABEL = {
    "yuan": ("元", "yuan"),
    "persons": ("人", "persons"),
    "households": ("户", "households"),
    "pct": ("%", "%"),
    "km2": ("平方公里", "km2"),
    "degrees": ("度", "degrees"),
    "m2": ("平方米", "m2"),
}


@dataclass(frozen=True)
class Col:
    """One column of a template.

    ``kind``: str / int / float / date / bool / choice. ``ref``: the code must exist: area / district / street /
    indicator. ``default``: used for new rows when the column is absent or empty (``None`` = no default).
    ``derived``: filled by the importer when absent (district_code from the street or area).
    """

    name: str
    zh: str
    kind: str = "str"
    required: bool = True
    unit: str = ""
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # code → accepted Chinese labels
    lo: float | None = None
    hi: float | None = None
    ref: str = ""
    aliases: tuple[str, ...] = ()
    default: object = None
    derived: bool = False
    en_help: str = ""
    zh_help: str = ""
    example: str = ""


@dataclass(frozen=True)
class Entity:
    """A template: the table it loads, its natural key and its columns."""

    name: str
    zh: str
    table: Table
    key: tuple[str, ...]
    columns: tuple[Col, ...]
    en_help: str
    zh_help: str
    person_level: bool = False
    feeds_refresh: bool = False  # aggregates depend on it: refresh after a change
    dated_by: tuple[str, ...] = ()  # date columns (or ("year", "month")) that move the data cut-off
    file_hints: tuple[str, ...] = ()
    table_only: bool = False  # boundaries: only from GeoJSON / Shapefile, no CSV template

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def norm_header(text: object) -> tuple[str, str]:
    """A header's comparable form and its unit suffix: ``"金额（万元）"`` → ``("金额", "万元")``."""
    raw = str(text if text is not None else "").replace("\ufeff", "").replace("\u200b", "").strip()
    raw = raw.rstrip("*").strip()
    unit = ""
    m = re.match(r"^(.*?)\s*[\(（\[【]\s*(.+?)\s*[\)）\]】]\s*$", raw)
    if m:
        raw, unit = m.group(1).strip(), m.group(2).strip().lower().replace(" ", "_")
    base = re.sub(r"[\s\-]+", "_", raw.lower()) if raw.isascii() else re.sub(r"\s+", "", raw)
    return base, unit


def header_names(col: Col) -> set[str]:
    """Every comparable header accepted for ``col``."""
    return {norm_header(h)[0] for h in (col.name, col.zh, *col.aliases)}


# --- shared column definitions --------------------------------------------------------------------------------

YEAR = Col("year", "年份", "int", lo=2000, hi=2100, en_help="Calendar year, e.g. 2026.", zh_help="公历年份，如 2026。",
           example="2026", aliases=("年度",))  # fmt: skip
MONTH = Col("month", "月份", "int", lo=1, hi=12, en_help="Month 1–12.", zh_help="月份，1–12。", example="10",
            aliases=("月",))  # fmt: skip
AREA = Col(
    "area_code",
    "区划代码",
    ref="area",
    aliases=("行政区划代码", "地区代码", "区域代码", "code", "adcode"),
    en_help="Area code (city, district or street), as in the areas template.",
    zh_help="行政区划代码（市、区或街道），与区划模板一致。",
    example="420102",
)
DISTRICT = Col(
    "district_code",
    "区代码",
    ref="district",
    aliases=("所属区代码", "区县代码", "所属区县代码", "district"),
    en_help="District code (6 digits).",
    zh_help="区代码（6位）。",
    example="420102",
)
DISTRICT_DERIVED = Col(
    "district_code",
    "区代码",
    ref="district",
    required=False,
    derived=True,
    aliases=DISTRICT.aliases,
    en_help="District code; optional, taken from the street (or area) when empty. If given it must match.",
    zh_help="区代码；可不填，按街道（或区划）自动补齐；如填写须与街道所属区一致。",
    example="420102",
)
STREET = Col(
    "street_code",
    "街道代码",
    ref="street",
    aliases=("街道（乡镇）代码", "乡镇街道代码", "街道乡镇代码", "街道编码"),
    en_help="Street/township code (9 digits), as in the areas template.",
    zh_help="街道（乡镇）代码（9位），与区划模板一致。",
    example="420102001",
)
PERSON = Col(
    "person_id",
    "人员编号",
    "int",
    lo=1,
    aliases=("个人编号",),
    en_help="Pseudonymous person number (no ID-card numbers, no names).",
    zh_help="人员匿名编号（不得填写身份证号或姓名）。",
    example="1001",
)
LON = Col("lon", "经度", "float", unit="degrees", lo=73, hi=136, aliases=("longitude", "x"),
          en_help="Longitude in degrees (WGS84 or GCJ-02, see datum).", zh_help="经度（度），WGS84 或 GCJ-02，见坐标系列。",
          example="114.3055")  # fmt: skip
LAT = Col("lat", "纬度", "float", unit="degrees", lo=3, hi=54, aliases=("latitude", "y"),
          en_help="Latitude in degrees.", zh_help="纬度（度）。", example="30.5928")  # fmt: skip
DATUM = Col(
    "datum",
    "坐标系",
    required=False,
    aliases=("crs", "坐标系统"),
    en_help="WGS84 (GPS) or GCJ-02 (Amap/Tencent maps); stored as GCJ-02. Empty: --datum, else GCJ-02.",
    zh_help="WGS84（GPS）或 GCJ-02（高德/腾讯地图）；入库统一为 GCJ-02。不填按 --datum，否则按 GCJ-02。",
    example="WGS84",
)
IS_RURAL = Col("is_rural", "是否农村", "bool", required=False, default=False, aliases=("农村",),
               en_help="1/yes when judged by the 5 km rural rule.", zh_help="是/1 表示按农村 5 公里标准评价。",
               example="否")  # fmt: skip


def _amount(name: str, zh: str, en_help: str, zh_help: str, **kw: object) -> Col:
    return Col(name, zh, "float", unit="yuan", lo=0, en_help=en_help, zh_help=zh_help, example="150000", **kw)  # type: ignore[arg-type]


def _count(name: str, zh: str, en_help: str, zh_help: str, unit: str = "persons", **kw: object) -> Col:
    return Col(name, zh, "int", unit=unit, lo=0, en_help=en_help, zh_help=zh_help, example="120", **kw)  # type: ignore[arg-type]


def _date(name: str, zh: str, en_help: str, zh_help: str, **kw: object) -> Col:
    return Col(name, zh, "date", en_help=en_help, zh_help=zh_help, example="2026-10-15", **kw)  # type: ignore[arg-type]


def _id(name: str, zh: str, en: str, **kw: object) -> Col:
    return Col(name, zh, "int", lo=1, en_help=f"{en}: a whole number, unique and stable (the row's key).",
               zh_help=f"{zh}：正整数，唯一且不变（行的主键）。", example="1", **kw)  # type: ignore[arg-type]  # fmt: skip


LEVELS = {"city": ("市",), "district": ("区", "县", "区县"), "street": ("街道", "乡镇", "街道（乡镇）"),
          "community": ("社区", "村", "社区（村）")}  # fmt: skip
ZONES = {"central": ("中心城区",), "outer": ("远城区", "新城区")}
POINT_LEVELS = station_aliases()  # the one list of station types and their aliases (store/stations.py)
SERVICE_ITEM_LABELS = {i.code: (i.name_zh,) for i in SERVICE_ITEMS}  # seed 004's free services
SOURCES = {"central": ("中央", "中央资金"), "provincial": ("省级", "省级资金"), "city": ("市级", "市级资金"),
           "district_own": ("区级自有", "区级", "区级资金")}  # fmt: skip
SUBSIDIES = {
    "public_welfare_job": ("公益性岗位补贴",),
    "social_insurance": ("社会保险补贴", "社保补贴"),
    "job_introduction": ("职业介绍补贴",),
    "training": ("职业培训补贴", "培训补贴"),
    "startup": ("创业补贴",),
    "loan_interest": ("贷款贴息", "创业担保贷款贴息"),
}
EVENT_KINDS = {"urban_new": ("城镇新增就业",), "rural_transfer": ("农村劳动力转移就业", "农村劳动力转移")}
GROUP_LABELS = {
    "registered_unemployed": ("登记失业人员",),
    "difficulty": ("就业困难人员",),
    "graduate": ("高校毕业生",),
    "rural_labour": ("农村劳动力",),
    "other": ("其他",),
}
EMPLOYMENT_TYPES = {
    "enterprise": ("企业就业", "单位就业"),
    "self_employed": ("自主创业", "个体经营", "自主创业/个体"),
    "flexible": ("灵活就业",),
    "public_welfare": ("公益性岗位",),
}
SEXES = {"M": ("男", "male", "m"), "F": ("女", "female", "f")}
assert set(GROUP_LABELS) == set(GROUPS)


def _choice(name: str, zh: str, choices: Mapping[str, tuple[str, ...]], **kw: object) -> Col:
    codes = " / ".join(choices)
    labels = " / ".join(f"{v[0]}({k})" for k, v in choices.items())
    return Col(name, zh, "choice", choices=choices, en_help=f"One of: {codes}.", zh_help=f"取值：{labels}。",
               example=next(iter(choices)), **kw)  # type: ignore[arg-type]  # fmt: skip


# --- the entities -------------------------------------------------------------------------------------------

AREA_COLUMNS = (
    Col(
        "area_code",
        "区划代码",
        aliases=AREA.aliases,
        en_help="Area code (12 digits at most), unique.",
        zh_help="行政区划代码（不超过12位），唯一。",
        example="420102001",
    ),  # fmt: skip
    _choice("level", "层级", LEVELS, aliases=("级别",)),
    Col(
        "parent_code",
        "上级区划代码",
        required=False,
        ref="area",
        aliases=("上级代码",),
        en_help="Code of the area one level up (empty for the city).",
        zh_help="上一级区划代码（市级为空）。",
        example="420102",
    ),  # fmt: skip
    Col(
        "district_code",
        "区代码",
        required=False,
        derived=True,
        aliases=DISTRICT.aliases,
        en_help="District it lies in; optional (taken from the parent).",
        zh_help="所属区；可不填，按上级自动补齐。",
        example="420102",
    ),  # fmt: skip
    Col(
        "name_zh",
        "名称",
        aliases=("中文名称", "区划名称", "name"),
        en_help="Chinese name.",
        zh_help="中文名称。",
        example="某某街道",
    ),  # fmt: skip
    Col(
        "name_en",
        "英文名称",
        required=False,
        en_help="English name; optional (the Chinese name is used).",
        zh_help="英文名称；可不填（使用中文名称）。",
        example="Moumou Street",
    ),  # fmt: skip
    _choice("zone", "城区类别", ZONES, required=False, aliases=("类别",)),
    IS_RURAL,
    Col(
        "area_km2",
        "面积",
        "float",
        required=False,
        unit="km2",
        lo=0,
        en_help="Land area in km².",
        zh_help="面积（平方公里）。",
        example="11.1",
    ),  # fmt: skip
    Col(
        "centroid_lon",
        "中心经度",
        "float",
        required=False,
        unit="degrees",
        lo=73,
        hi=136,
        en_help="Centre longitude (see datum).",
        zh_help="中心点经度（见坐标系）。",
        example="114.37",
    ),  # fmt: skip
    Col(
        "centroid_lat",
        "中心纬度",
        "float",
        required=False,
        unit="degrees",
        lo=3,
        hi=54,
        en_help="Centre latitude.",
        zh_help="中心点纬度。",
        example="30.60",
    ),  # fmt: skip
    DATUM,
)

BOUNDARY_COLUMNS = (
    Col("area_code", "区划代码", aliases=AREA.aliases),
    Col("boundary_geojson", "边界", required=False),
    *(replace(c, required=False) for c in AREA_COLUMNS if c.name != "area_code"),
)

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "areas",
        "区划",
        s.area,
        ("area_code",),
        AREA_COLUMNS,
        "City, districts, streets/townships and communities (the area tree).",
        "市、区、街道（乡镇）、社区（村）及其上下级关系。",
        feeds_refresh=True,
        file_hints=("areas", "area", "区划"),
    ),  # fmt: skip
    Entity(
        "boundaries",
        "边界",
        s.area,
        ("area_code",),
        BOUNDARY_COLUMNS,
        "Area boundaries: GeoJSON or a zipped Shapefile with an area_code (区划代码) property.",
        "区划边界：GeoJSON 或压缩的 Shapefile，属性中含区划代码。",
        file_hints=("boundaries", "boundary", "边界"),
        table_only=True,
    ),  # fmt: skip
    Entity(
        "area_year",
        "人口与经济",
        s.area_year,
        ("year", "area_code"),
        (
            YEAR,
            AREA,
            DISTRICT_DERIVED,
            _count("resident_population", "常住人口", "Resident population.", "常住人口数。"),
            _count(
                "working_age_population",
                "劳动年龄人口",
                "Working-age population (16–59).",
                "劳动年龄人口数（16–59岁）。",
            ),
            _count(
                "labour_force",
                "劳动力人数",
                "Labour force: denominator of the registered unemployment rate.",
                "劳动力人数：城镇登记失业率的分母。",
                aliases=("劳动力",),
            ),
            Col(
                "secondary_share_pct",
                "第二产业就业占比",
                "float",
                unit="pct",
                lo=0,
                hi=100,
                en_help="Share of employment in industry, %.",
                zh_help="第二产业就业占比（%）。",
                example="26.5",
            ),
            Col(
                "tertiary_share_pct",
                "第三产业就业占比",
                "float",
                unit="pct",
                lo=0,
                hi=100,
                en_help="Share of employment in services, %.",
                zh_help="第三产业就业占比（%）。",
                example="71.2",
            ),
            _amount(
                "budget_revenue_yuan",
                "一般公共预算收入",
                "General budget revenue, yuan.",
                "一般公共预算收入（元）。",
                required=False,
            ),
            _amount(
                "fiscal_capacity_per_capita_yuan",
                "人均财力",
                "Fiscal capacity per capita, yuan.",
                "人均财力（元）。",
                required=False,
            ),
        ),
        "Population, labour force and economy per year and area.",
        "各年各地区人口、劳动力与经济数据。",
        feeds_refresh=True,
        file_hints=("area_year", "population", "人口"),
    ),  # fmt: skip
    Entity(
        "population_grid",
        "人口网格",
        s.population_cell,
        ("cell_id",),
        (
            _id("cell_id", "网格编号", "Grid cell number"),
            DISTRICT_DERIVED,
            STREET,
            LON,
            LAT,
            _count("population", "人口", "Residents in the cell.", "网格内常住人口。"),
            _count(
                "working_age",
                "劳动年龄人口",
                "Working-age residents in the cell (≤ population).",
                "网格内劳动年龄人口（不超过人口）。",
            ),
            IS_RURAL,
            DATUM,
        ),
        "Population grid (about 250 m cells) for the service-circle coverage.",
        "人口网格（约250米），用于服务圈覆盖计算。",
        file_hints=("population_grid", "grid", "网格"),
    ),  # fmt: skip
    Entity(
        "service_points",
        "服务网点",
        s.service_point,
        ("point_id",),
        (
            _id("point_id", "网点编号", "Service point number"),
            Col(
                "name_zh",
                "名称",
                aliases=("网点名称", "中文名称", "name"),
                en_help="Chinese name.",
                zh_help="中文名称。",
                example="某某街道劳动保障所",
            ),
            Col(
                "name_en",
                "英文名称",
                required=False,
                en_help="English name; optional.",
                zh_help="英文名称；可不填。",
                example="Moumou Street Labour Security Station",
            ),
            _choice("level", "网点类型", POINT_LEVELS, aliases=("类型",)),
            DISTRICT_DERIVED,
            replace(STREET, required=False),
            LON,
            LAT,
            _date("opened_on", "启用日期", "Date opened.", "启用日期。", aliases=("开放日期",)),
            _date(
                "closed_on",
                "关闭日期",
                "Date closed; empty while open.",
                "关闭日期；仍在运行则不填。",
                required=False,
            ),
            _count("staff", "工作人员数", "Staff.", "工作人员数。", required=False, default=1),
            _count(
                "capacity_people",
                "服务能力",
                "Residents one point can serve.",
                "可服务居民人数。",
                aliases=("服务人数",),
            ),
            DATUM,
            Col(
                "floor_area_m2",
                "服务面积",
                "float",
                required=False,
                unit="m2",
                lo=0,
                aliases=("面积",),
                en_help="Service floor area in square metres; optional.",
                zh_help="服务场地面积（平方米）；可不填。",
                example="150",
            ),
        ),
        "Employment service points (centres, stations, community points, gig markets).",
        "就业服务网点（中心、劳动保障所、社区服务点、零工市场等）。",
        file_hints=("service_points", "service_point", "网点"),
    ),  # fmt: skip
    Entity(
        "service_point_items",
        "网点服务事项",
        s.service_point_item,
        ("point_id", "item_code"),
        (
            Col(
                "point_id",
                "网点编号",
                "int",
                lo=1,
                en_help="Service point number, as in the service points file.",
                zh_help="网点编号，与服务网点文件一致。",
                example="1",
            ),
            _choice("item_code", "服务事项", SERVICE_ITEM_LABELS, aliases=("事项",)),
            Col(
                "offered",
                "是否提供",
                "bool",
                required=False,
                default=True,
                aliases=("提供",),
                en_help="Yes when the point offers the service free of charge.",
                zh_help="是否免费提供该项服务。",
                example="是",
            ),
        ),
        "Free public services of each service point (the basic public employment services list), yes/no.",
        "各网点基本公共就业服务事项（是否提供）。",
        file_hints=("service_point_items", "服务事项"),
    ),  # fmt: skip
    Entity(
        "targets",
        "目标任务",
        s.target,
        ("year", "area_code", "indicator_code"),
        (
            YEAR,
            AREA,
            DISTRICT_DERIVED,
            Col(
                "indicator_code",
                "指标代码",
                ref="indicator",
                aliases=("指标",),
                en_help="Indicator code, e.g. urban_new_employment (see the indicator list).",
                zh_help="指标代码，如 urban_new_employment（见指标清单）。",
                example="urban_new_employment",
            ),
            Col(
                "target_value",
                "目标值",
                "float",
                aliases=("目标", "年度目标"),
                en_help="Annual target in the indicator's unit: persons, yuan, a rate line in %, or 1 for yes/no.",
                zh_help="年度目标，按指标单位：人、元、控制线（%）或是否类填 1。",
                example="24310",
            ),
        ),
        "Annual targets per area and indicator; street targets must add up to their district's.",
        "各地区各指标年度目标；街道目标之和须等于所属区目标。",
        file_hints=("targets", "target", "目标"),
    ),  # fmt: skip
    Entity(
        "reported_monthly",
        "月度报表",
        s.reported_monthly,
        ("year", "month", "area_code", "indicator_code"),
        (
            YEAR,
            MONTH,
            AREA,
            DISTRICT_DERIVED,
            Col(
                "indicator_code",
                "指标代码",
                ref="indicator",
                aliases=("指标",),
                en_help="Indicator code, e.g. urban_new_employment.",
                zh_help="指标代码，如 urban_new_employment。",
                example="urban_new_employment",
            ),
            Col(
                "value",
                "数值",
                "float",
                aliases=("完成值", "实际值", "本月数"),
                en_help="The month's figure in the indicator's unit (persons, yuan, % or 0/1).",
                zh_help="当月数值，按指标单位（人、元、% 或 0/1）。",
                example="1200",
            ),
            _date(
                "reported_on",
                "报送日期",
                "Date reported; optional (today).",
                "报送日期；可不填（按导入当天）。",
                required=False,
            ),
        ),
        "Monthly figures reported by districts (and streets); streets must add up to their district.",
        "各区（街道）月度报送数；街道之和须等于所属区。",
        dated_by=("year", "month"),
        file_hints=("reported_monthly", "reported", "monthly", "月报", "月度"),
    ),  # fmt: skip
    Entity(
        "fund_allocation",
        "资金分配",
        s.fund_allocation,
        ("year", "district_code", "source"),
        (
            YEAR,
            DISTRICT,
            _choice("source", "资金来源", SOURCES, aliases=("来源",)),
            _amount(
                "amount_yuan",
                "金额",
                "Amount allocated, yuan (a 万元 header is converted).",
                "分配金额（元；表头写“万元”时自动换算）。",
                aliases=("分配金额",),
            ),
        ),
        "Employment fund allocated per year, district and source.",
        "各年各区各来源就业补助资金分配额。",
        file_hints=("fund_allocation", "allocation", "资金分配"),
    ),  # fmt: skip
    Entity(
        "guarantee_fund",
        "担保基金",
        s.guarantee_fund,
        ("year", "district_code"),
        (
            YEAR,
            DISTRICT,
            _amount(
                "balance_yuan",
                "担保基金余额",
                "Year-end balance of the loan guarantee fund, yuan.",
                "创业担保贷款担保基金年末余额（元）。",
            ),
            _amount(
                "loan_target_yuan",
                "贷款目标",
                "Start-up loan target for the year, yuan.",
                "当年创业担保贷款目标（元）。",
            ),
        ),
        "Start-up loan guarantee fund per year and district.",
        "各年各区创业担保贷款担保基金。",
        file_hints=("guarantee_fund", "guarantee", "担保基金"),
    ),  # fmt: skip
    Entity(
        "subsidy_payment",
        "补贴支付",
        s.subsidy_payment,
        ("payment_id",),
        (
            _id("payment_id", "支付编号", "Payment number"),
            replace(PERSON, required=False),
            DISTRICT,
            _date("paid_on", "支付日期", "Date paid.", "支付日期。"),
            _choice("category", "补贴类别", SUBSIDIES, aliases=("类别",)),
            _amount("amount_yuan", "金额", "Amount paid, yuan.", "支付金额（元）。", aliases=("支付金额",)),
        ),
        "Subsidy payments (to persons or employers).",
        "就业补贴支付明细（个人或单位）。",
        person_level=True,
        feeds_refresh=True,
        dated_by=("paid_on",),
        file_hints=("subsidy_payment", "subsidies", "subsidy", "补贴"),
    ),  # fmt: skip
    Entity(
        "loans",
        "创业担保贷款",
        s.startup_loan,
        ("loan_id",),
        (
            _id("loan_id", "贷款编号", "Loan number"),
            PERSON,
            DISTRICT_DERIVED,
            STREET,
            _date("issued_on", "发放日期", "Date issued.", "发放日期。"),
            _amount("amount_yuan", "贷款金额", "Amount lent, yuan.", "贷款金额（元）。", aliases=("金额",)),
            _date("due_on", "到期日期", "Due date (after the issue date).", "到期日期（晚于发放日期）。"),
            _date(
                "repaid_on",
                "还清日期",
                "Date repaid; empty while outstanding.",
                "还清日期；未还清不填。",
                required=False,
            ),
            Col(
                "overdue",
                "是否逾期",
                "bool",
                required=False,
                default=False,
                en_help="1/yes when overdue.",
                zh_help="逾期填 是/1。",
                example="否",
            ),
        ),
        "Start-up guaranteed loans.",
        "创业担保贷款明细。",
        person_level=True,
        feeds_refresh=True,
        dated_by=("issued_on",),
        file_hints=("loans", "loan", "贷款"),
    ),  # fmt: skip
    Entity(
        "surveys",
        "满意度调查",
        s.survey_response,
        ("response_id",),
        (
            _id("response_id", "问卷编号", "Response number"),
            DISTRICT_DERIVED,
            STREET,
            _date("surveyed_on", "调查日期", "Date surveyed.", "调查日期。"),
            Col(
                "satisfaction",
                "满意度",
                "int",
                lo=1,
                hi=5,
                en_help="1 (very dissatisfied) to 5 (very satisfied).",
                zh_help="1（很不满意）至 5（很满意）。",
                example="4",
            ),
        ),
        "Resident satisfaction survey responses.",
        "群众满意度调查答卷。",
        person_level=True,
        dated_by=("surveyed_on",),
        file_hints=("surveys", "survey", "满意度"),
    ),  # fmt: skip
    Entity(
        "zero_employment",
        "零就业家庭",
        s.zero_employment_household,
        ("year", "month", "street_code"),
        (
            YEAR,
            MONTH,
            STREET,
            DISTRICT_DERIVED,
            _count(
                "identified",
                "认定户数",
                "Zero-employment households identified this year to date.",
                "本年累计认定零就业家庭户数。",
                unit="households",
            ),
            _count(
                "cleared",
                "清零户数",
                "Of these, households cleared (≤ identified).",
                "其中已清零户数（不超过认定户数）。",
                unit="households",
            ),
        ),
        "Zero-employment households identified and cleared, per street and month.",
        "各街道各月零就业家庭认定与清零户数。",
        feeds_refresh=True,
        dated_by=("year", "month"),
        file_hints=("zero_employment", "零就业"),
    ),  # fmt: skip
    Entity(
        "persons",
        "人员",
        s.person,
        ("person_id",),
        (
            PERSON,
            DISTRICT_DERIVED,
            STREET,
            Col(
                "birth_year",
                "出生年份",
                "int",
                lo=1900,
                hi=2100,
                en_help="Year of birth.",
                zh_help="出生年份。",
                example="1990",
            ),
            _choice("sex", "性别", SEXES),
            Col(
                "education",
                "文化程度",
                aliases=("学历",),
                en_help="junior / senior / vocational / college / bachelor / master.",
                zh_help="文化程度代码：junior / senior / vocational / college / bachelor / master。",
                example="college",
            ),
        ),
        "Pseudonymous persons (optional; no names or ID numbers).",
        "人员（可选；匿名，不含姓名和身份证号）。",
        person_level=True,
        file_hints=("persons", "person", "人员"),
    ),  # fmt: skip
    Entity(
        "employment_events",
        "就业登记",
        s.employment_event,
        ("event_id",),
        (
            _id("event_id", "登记编号", "Registration number"),
            PERSON,
            DISTRICT_DERIVED,
            STREET,
            _date("event_date", "就业日期", "Date employed.", "实现就业日期。", aliases=("登记日期",)),
            _choice("kind", "就业类别", EVENT_KINDS),
            _choice("group_code", "人员类别", GROUP_LABELS),
            _choice("employment_type", "就业形式", EMPLOYMENT_TYPES),
        ),
        "Employment registrations (optional person-level records; the aggregates are rebuilt from them).",
        "就业登记明细（可选的个人记录；据此重算汇总数）。",
        person_level=True,
        feeds_refresh=True,
        dated_by=("event_date",),
        file_hints=("employment_events", "employment_event", "events", "就业登记"),
    ),  # fmt: skip
    Entity(
        "unemployment_spells",
        "失业登记",
        s.unemployment_spell,
        ("spell_id",),
        (
            _id("spell_id", "失业登记编号", "Unemployment registration number"),
            PERSON,
            DISTRICT_DERIVED,
            STREET,
            _date("registered_on", "登记日期", "Date registered unemployed.", "失业登记日期。"),
            _date(
                "ended_on",
                "注销日期",
                "Date the registration ended; empty while registered.",
                "失业登记注销日期；仍在登记不填。",
                required=False,
                aliases=("终止日期",),
            ),
            Col(
                "difficulty",
                "是否就业困难人员",
                "bool",
                required=False,
                default=False,
                en_help="1/yes for a person with employment difficulty.",
                zh_help="就业困难人员填 是/1。",
                example="否",
            ),
        ),
        "Unemployment registration spells (optional person-level records).",
        "失业登记明细（可选的个人记录）。",
        person_level=True,
        feeds_refresh=True,
        dated_by=("registered_on", "ended_on"),
        file_hints=("unemployment_spells", "unemployment", "spells", "失业登记"),
    ),  # fmt: skip
    Entity(
        "training",
        "职业培训",
        s.training_record,
        ("training_id",),
        (
            _id("training_id", "培训编号", "Training record number"),
            PERSON,
            DISTRICT_DERIVED,
            STREET,
            _date("completed_on", "结业日期", "Date the course was completed.", "培训结业日期。"),
            Col(
                "course",
                "培训工种",
                aliases=("工种", "课程"),
                en_help="Course or trade (at most 24 characters).",
                zh_help="培训工种（不超过24个字符）。",
                example="electrician",
            ),
            _amount(
                "subsidy_yuan",
                "培训补贴",
                "Training subsidy paid, yuan (0 if none).",
                "培训补贴金额（元；无则填0）。",
            ),
        ),
        "Completed vocational training (optional person-level records).",
        "职业技能培训结业明细（可选的个人记录）。",
        person_level=True,
        feeds_refresh=True,
        dated_by=("completed_on",),
        file_hints=("training", "培训"),
    ),  # fmt: skip
)

BY_NAME = {e.name: e for e in ENTITIES}
LOAD_ORDER = tuple(e.name for e in ENTITIES)  # areas before everything that refers to them


def column_help_rows(entity: Entity) -> list[list[str]]:
    """Rows of the explanation sheet: English header, Chinese header, required, type/unit, zh help, en help, example."""
    rows = []
    for c in entity.columns:
        unit = UNIT_LABEL.get(c.unit, ("", ""))
        kind = {"choice": "code"}.get(c.kind, c.kind)
        rows.append(
            [
                c.name,
                template_header(c, "zh"),
                "是 yes" if c.required else "否 no",
                f"{kind}" + (f" ({unit[1]})" if unit[1] else ""),
                c.zh_help,
                c.en_help,
                c.example,
            ]
        )
    return rows


def template_header(col: Col, lang: str) -> str:
    """The header a template writes: the English name, or the Chinese one with its unit (``金额（元）``)."""
    if lang == "en":
        return col.name
    unit = UNIT_LABEL.get(col.unit, ("", ""))[0]
    return f"{col.zh}（{unit}）" if unit and col.unit != "degrees" else col.zh


def write_template(entity: Entity, fmt: str, lang: str = "en") -> bytes:
    """An empty template: CSV (UTF-8 with BOM, opens in Chinese Excel) or Excel with a column explanation sheet."""
    headers = [template_header(c, lang) for c in entity.columns]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(headers)
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "数据 data"
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(12, len(h) * 2)
    help_ws = wb.create_sheet("说明 columns")
    help_ws.append([f"{entity.zh} {entity.name}", entity.zh_help, entity.en_help])
    help_ws.append([])
    help_ws.append(
        ["column", "列名", "必填 required", "类型 type (unit)", "说明", "description", "示例 example"]
    )
    for cell in help_ws[3]:
        cell.font = Font(bold=True)
    for row in column_help_rows(entity):
        help_ws.append(row)
    for letter, width in zip("ABCDEFG", (24, 22, 14, 18, 50, 60, 20), strict=True):
        help_ws.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def default_template_path(entity: Entity, fmt: str) -> Path:
    return Path(f"{entity.name}.{fmt}")
