"""The landing tree the generator writes: each source's header, where a day's drop goes, rows per file.

The headers are the ones of docs/CONTRACT.md §3, spelled out here once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .sinks import Sink

PRICE_COLS = ["observation_id", "observed_at", "platform", "shop_id", "sku_id", "variant", "product_name",
              "category", "region_code", "price_type", "price", "currency", "reference_price", "promo_start",
              "basis_disclosed", "account_cohort", "device", "condition", "url"]
OLIST_COLS = {
    "olist_orders_dataset.csv": ["order_id", "customer_id", "order_status", "order_purchase_timestamp",
                                 "order_approved_at", "order_delivered_carrier_date",
                                 "order_delivered_customer_date", "order_estimated_delivery_date"],
    "olist_order_items_dataset.csv": ["order_id", "order_item_id", "product_id", "seller_id",
                                      "shipping_limit_date", "price", "freight_value"],
    "olist_order_reviews_dataset.csv": ["review_id", "order_id", "review_score", "review_comment_title",
                                        "review_comment_message", "review_creation_date",
                                        "review_answer_timestamp"],
    "olist_order_payments_dataset.csv": ["order_id", "payment_sequential", "payment_type",
                                         "payment_installments", "payment_value"],
    "olist_customers_dataset.csv": ["customer_id", "customer_unique_id", "customer_zip_code_prefix",
                                    "customer_city", "customer_state"],
    "olist_sellers_dataset.csv": ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
    "olist_products_dataset.csv": ["product_id", "product_category_name", "product_name_lenght",
                                   "product_description_lenght", "product_photos_qty", "product_weight_g",
                                   "product_length_cm", "product_height_cm", "product_width_cm"],
    "product_category_name_translation.csv": ["product_category_name", "product_category_name_english"],
}
COMPLAINT_COLS = ["投诉编号", "登记日期", "被投诉人名称", "被投诉人统一社会信用代码", "平台名称", "店铺编号",
                  "行政区划代码", "投诉类别", "投诉内容", "处理状态", "办结日期", "是否按时响应", "调解结果",
                  "挽回经济损失(元)"]
PENALTY_V2 = ["行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "行政处罚决定书文号",
              "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额(万元)",
              "没收违法所得、没收非法财物的金额(万元)", "处罚决定日期", "处罚有效期", "公示截止期", "处罚机关",
              "处罚机关统一社会信用代码", "数据来源单位"]
PENALTY_V1 = ["行政处罚决定书文号", "处罚名称", "处罚类别1", "处罚类别2", "处罚事由", "处罚依据", "行政相对人名称",
              "统一社会信用代码", "法定代表人姓名", "处罚结果", "处罚决定日期", "处罚机关", "当前状态", "地方编码",
              "数据更新时间戳"]
ABNORMAL_COLS = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "作出决定机关",
                 "移出经营异常名录原因", "移出日期", "移出决定机关"]
SERIOUS_COLS = ["统一社会信用代码", "企业名称", "列入原因", "列入日期", "作出决定机关", "移出日期"]
REGISTRY_COLS = ["platform", "shop_id", "shop_name", "统一社会信用代码", "企业名称", "行政区划代码", "成立日期"]

SELLERS = "olist_sellers_dataset.csv"
# day-sink key -> the name its rows are counted under in the summary (others: file name without .csv)
_COUNT_NAMES = {"price": "price_observations", "complaints": "complaints_12315"}


class Landing:
    """OUT/landing/<source>/<YYYY-MM-DD>/...: file paths of day t (0 = the start date) and rows per source."""

    def __init__(self, out: Path, start: dt.date, compress: bool):
        self.root = Path(out) / "landing"
        self.start = start
        self.compress = compress
        self.counts: dict[str, int] = {}
        self.pending: dict[tuple[str, int], list[dict]] = {}   # rows other modules add to a register file

    def path(self, source: str, t: int, name: str | None = None) -> Path:
        d = (self.start + dt.timedelta(days=t)).isoformat()
        return self.root / source / d / (name or f"{source}.csv")

    def count(self, name: str, rows: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + rows

    def day_sinks(self, t: int) -> dict[str, Sink]:
        """The bulk files of day t's drop, written to all day long (complaints alternate UTF-8-BOM / GBK)."""
        c = self.compress
        sinks = {"price": Sink(self.path("price_observations", t), PRICE_COLS, compress=c)}
        for name, cols in OLIST_COLS.items():
            sinks[name] = Sink(self.path("olist", t, name), cols, compress=c)
        gbk = t % 2 == 1
        sinks["complaints"] = Sink(self.path("complaints_12315", t), COMPLAINT_COLS,
                                   encoding="gbk" if gbk else "utf-8", bom=not gbk)
        return sinks

    def sellers_sink(self, t: int, sinks: dict[str, Sink]) -> Sink:
        """The day's sellers file (a later day's drop gets one only when a shop opens that day)."""
        return sinks.setdefault(SELLERS, Sink(self.path("olist", t, SELLERS), OLIST_COLS[SELLERS],
                                              compress=self.compress))

    def close_day(self, sinks: dict[str, Sink]) -> None:
        for key, sink in sinks.items():
            rows = sink.close()
            if rows:
                self.count(_COUNT_NAMES.get(key, key.replace(".csv", "")), rows)

    def add_rows(self, source: str, t: int, cols: dict) -> None:
        """Rows to append to the register file `source` of day t's drop when it is written (write_file)."""
        self.pending.setdefault((source, t), []).append(cols)

    def write_file(self, source: str, t: int, columns: list[str], cols: dict, encoding: str = "utf-8",
                   bom: bool = False) -> None:
        """A small register file of day t's drop, written at once (never compressed)."""
        sink = Sink(self.path(source, t), columns, encoding=encoding, bom=bom)
        sink.write(cols)
        for more in self.pending.pop((source, t), []):
            sink.write(more)
        self.count(source, sink.close())
