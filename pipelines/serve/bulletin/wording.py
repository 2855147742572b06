"""The bulletin's words: family and severity labels, number formats and evidence in plain sentences.

A family or evidence key without wording here keeps its own name, so a new indicator still reads.
"""

from __future__ import annotations

import json
import re

FAMILY_LABELS = {
    "price": ("价格", "Pricing"),
    "collusion": ("串通筛查", "Collusion screens"),
    "discrimination": ("价格歧视", "Price discrimination"),
    "complaints": ("投诉", "Complaints"),
    "integrity": ("刷单炒信", "Marketplace integrity"),
    "competition": ("平台竞争（二选一）", "Platform competition (exclusive dealing)"),
    "advertising": ("广告用语", "Advertising terms"),
    "quality": ("产品质量", "Product quality"),
    "credit": ("信用", "Credit"),
}
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}

# Plain-words labels for evidence keys, used by the generic fallback (unknown keys keep their name).
EVIDENCE_LABELS = {
    "shown_reference_price": "标示原价", "reference_price": "标示原价", "promo_price": "促销价",
    "price": "价格", "median_price": "同品中位价", "peer_median": "同品中位价", "mad": "中位绝对偏差",
    "z_score": "偏离分数", "modified_z": "偏离分数", "lowest_30d": "30日最低报价", "lowest_offered_30d": "30日最低报价",
    "n_sellers": "卖家数", "cv": "变异系数", "complaints": "投诉数", "orders": "订单数", "exposure": "订单数",
    "rate_per_10k": "每万单投诉", "posterior_rate": "后验投诉率", "baseline": "基线", "share": "占比",
    "orders_per_buyer": "每买家订单", "buyers": "买家数", "reviews": "评价数", "score": "信用分", "tier": "信用等级",
}
# Evidence may quote a listing's URL; the page must not link (or seem to link) outside the home folder.
_URLISH = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+")


def family_label(family: str) -> tuple[str, str]:
    """(Chinese, English) name of a family; an unknown family is named by its id in both."""
    return FAMILY_LABELS.get(family, (family, family))


def families_in_order(found) -> list[str]:
    """The known families in their fixed order, then any other family found, alphabetically."""
    return list(FAMILY_LABELS) + sorted(set(found) - set(FAMILY_LABELS))


def signed(v) -> str:
    """A day-on-day change: +3, -1, 0, or a dash when there is no previous day to compare with."""
    return "—" if v is None else f"{v:+d}"


def fmt(v) -> str:
    """A table cell."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def quality_status(suites: list[tuple], blocking: int) -> str:
    """The day's quality verdict from (suite, blocking failures, warnings, checks) rows."""
    if not suites:
        return "未校验 not validated"
    if blocking:
        return "阻断 blocked"
    return "警告 warnings" if any(s[2] for s in suites) else "通过 passed"


# --------------------------------------------------------------------------- evidence in plain words


def _money(v) -> str:
    try:
        return f"¥{float(v):,.2f}"
    except (TypeError, ValueError):
        return "?"


def _pct(v) -> str:
    try:
        return f"{float(v):.0%}"
    except (TypeError, ValueError):
        return "?"


def _plain_value(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    text = str(v)
    text = _URLISH.sub("[链接略]", text)
    return text[:40]


def plain_evidence(flag: dict) -> str:
    """One sentence a non-programmer can read aloud to the firm."""
    try:
        ev = json.loads(flag.get("evidence") or "")
    except (TypeError, ValueError):
        ev = None
    if not isinstance(ev, dict):
        ev = {}
    if flag.get("indicator_id") == "price.cn_reference_7d" and ev:
        window = ev.get("basis_window") or ["?", "?"]
        basis = ("促销前7日内最低成交价" if ev.get("cn_basis_source") == "lowest_7d" else "促销前最后一次成交价")
        return (f"标示原价 {_money(ev.get('shown_reference_price'))}，促销价 {_money(ev.get('promo_price'))}；"
                f"{basis} {_money(ev.get('cn_basis_price'))}（{window[0]} 至 {window[1]}，订单 "
                f"{ev.get('lowest_trade_order_id')}，{ev.get('lowest_trade_time')}）。宣称折扣 "
                f"{_pct(ev.get('claimed_discount'))}，按规则真实折扣 {_pct(ev.get('true_discount'))}。"
                f"促销开始 {flag.get('window_start')}。")
    # Generic: the value against its threshold, the behaviour window, then the evidence figures.
    parts = []
    if flag.get("value") is not None:
        parts.append(f"指标值 {_plain_value(flag['value'])}，阈值 {_plain_value(flag.get('threshold'))}")
    if flag.get("window_start"):
        parts.append(f"行为期间 {flag['window_start']} 至 {flag.get('window_end') or flag['window_start']}")
    figures = []
    for key, value in ev.items():
        if isinstance(value, dict) or value is None:
            continue
        label = EVIDENCE_LABELS.get(key, key)
        if isinstance(value, list):
            shown = "、".join(_plain_value(x) for x in value[:5]) + ("…" if len(value) > 5 else "")
            figures.append(f"{label} {shown}（{len(value)}）" if len(value) > 5 else f"{label} {shown}")
        else:
            figures.append(f"{label} {_plain_value(value)}")
    if figures:
        parts.append("；".join(figures))
    return ("；".join(parts) + "。")[:400] if parts else ""
