"""The one list of employment service station types, their standards and the free services a station offers.

Every layer reads it from here: the import's aliases (``jobs/importing/templates.py``), the demo city's names and
figures, the official coverage rule's default set of counted types (``figures.rules.CoverageRule``) and the
Service circle page's labels. Seed clauses are quoted in docs/service-circle-page.md ("Stations").

- Types (seed 003 §(十五), 004 §(十三)): the 15-minute circle is built from doorstep employment stations
  (家门口就业服务站), gig markets (零工市场) and the street/township public employment offices, with the district
  centres above them; partner points (run by others under contract) are listed but not counted by default.
- Floor area (seed 001 §四(三)): district centres 550 m² on average, street and central-township offices 150 m².
  The seeds give no number for other types or for staff (002 §五(三)(五) asks only that posts be filled and fixed):
  those minimums are the bureau's own, set here (``None``: not judged).
- Free services (seed 004, annex 四川省基本公共就业服务事项清单): items 1–10; item 11 ("other services set by the
  county government") is open-ended and not judged.
"""

from __future__ import annotations

from typing import NamedTuple


class StationType(NamedTuple):
    code: str  # stored in service_point.level
    name_zh: str
    name_en: str
    aliases: tuple[str, ...]  # other Chinese names an imported file may use (exact match after trimming)
    counted: bool  # counted by the official coverage figure unless the bureau configures otherwise
    min_staff: int | None  # the bureau's minimum staff (None: not judged)
    min_floor_m2: float | None  # minimum floor area in m² (None: not judged)


STATION_TYPES: tuple[StationType, ...] = (
    StationType(
        "district_centre",
        "区公共就业服务中心",
        "district public employment service centre",
        ("区级公共就业服务中心", "区中心", "区就业服务中心"),
        True,
        10,
        550.0,
    ),
    StationType(
        "street_station",
        "街道（乡镇）公共就业服务站",
        "street/township public employment office",
        (
            "街道劳动保障所",
            "劳动保障所",
            "街道站",
            "乡镇劳动保障所",
            "街道（乡镇）劳动保障所",
            "街道公共就业服务站",
        ),
        True,
        3,
        150.0,
    ),
    StationType(
        "community_point",
        "家门口就业服务站",
        "doorstep employment station",
        ("社区家门口就业服务站", "社区服务点", "社区就业服务站", "家门口服务站"),
        True,
        1,
        None,
    ),
    StationType("gig_market", "零工市场", "gig market", ("零工驿站",), True, 2, None),
    StationType("partner", "合作服务点", "partner service point", ("合作机构",), False, None, None),
)
BY_CODE = {s.code: s for s in STATION_TYPES}
CODES = tuple(s.code for s in STATION_TYPES)
COUNTED = tuple(s.code for s in STATION_TYPES if s.counted)  # the official coverage rule's default set


class ServiceItem(NamedTuple):
    code: str
    name_zh: str
    name_en: str


# Seed 004's annex, items 1–10: what every station offers free of charge (a "full-service" station offers all).
SERVICE_ITEMS: tuple[ServiceItem, ...] = (
    ServiceItem("policy_advice", "就业创业和劳动用工政策法规咨询、相关扶持政策受理", "policy advice and applications"),
    ServiceItem("information", "人力资源供求、市场工资指导价位、职业培训、见习岗位等信息发布", "job, wage and training information"),
    ServiceItem("placement", "职业介绍、职业指导和创业开业指导", "placement, career and start-up guidance"),
    ServiceItem("campaigns", "公共就业服务专项活动", "public employment service campaigns"),
    ServiceItem("assistance", "对就业困难人员实施就业援助", "help for people with employment difficulties"),
    ServiceItem("registration", "办理就业登记（劳动用工备案）、失业登记等事务", "employment and unemployment registration"),
    ServiceItem("unemployment_insurance", "失业保险金发放以及失业保险相关待遇的受理和发放", "unemployment insurance benefits"),
    ServiceItem("graduates", "办理高等学校、中等职业学校、技工学校毕业生接收手续", "receiving graduates"),
    ServiceItem("personnel_files", "流动人员人事档案管理服务", "personnel files of mobile workers"),
    ServiceItem("labour_relations", "劳动关系协调和劳动权益保护", "labour relations and rights"),
)  # fmt: skip
ITEM_CODES = tuple(i.code for i in SERVICE_ITEMS)


def station_type(label: str) -> str | None:
    """The type code of a code, Chinese name or alias (surrounding spaces ignored); None when unknown."""
    text = label.strip()
    for s in STATION_TYPES:
        if text in (s.code, s.name_zh, *s.aliases):
            return s.code
    return None


def aliases() -> dict[str, tuple[str, ...]]:
    """Per type code: its Chinese name first, then its aliases (the import template's choice list)."""
    return {s.code: (s.name_zh, *s.aliases) for s in STATION_TYPES}
