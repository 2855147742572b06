"""双随机 spot-check results: task number and 统一社会信用代码 present, inspected not after D, the result
in the wording of the 国家企业信用信息公示系统.

Generic checks come from pipelines/ingest/sources/inspection_results.yml (expectations.suites.staging_expectations).
The result is kept as sent (一公开 publishes what the inspecting authority recorded), so a wording outside
KNOWN_RESULTS does not stop a row: it is a warning in the gate report, naming the value, for someone to
add it here (and to the follow-up mart's classes) or to ask the sender. Compared after folding full-width
brackets and removing spaces, so 无法联系 written with half-width brackets is the same wording.
"""

import great_expectations.expectations as gxe

from expectations.suites import WARNING, staging_expectations

SUITE = "staging.inspection_results"
TABLE = "staging.inspection_results"
DATE_COLUMN = "_business_date"
SOURCE = "inspection_results"
WORDING_COLUMN = "_result_wording"  # the result, brackets folded to half-width, spaces removed

# 抽查检查结果 as published on the 国家企业信用信息公示系统 (docs/SOURCES.md, inspection_results): the wordings
# seen on published records and local 双随机 reports; not checked against a national code list (none is
# published as a file), so a result outside it is a warning, not a rejection. Results such as 已注销 or
# 已迁出 are deliberately absent: they are not inspection findings and the warning asks someone to look.
# (indicators/macros.sql inspection_result_class maps every wording, this list included, to a class.)
KNOWN_RESULTS = (
    "未发现问题",
    "未按规定公示应当公示的信息",
    "公示信息隐瞒真实情况、弄虚作假",
    "通过登记的住所(经营场所)无法联系",
    "不配合检查情节严重",
    "未发现开展本次抽查涉及的经营活动",
    "发现问题已责令改正",
    "发现问题待后续处理",
)

BATCH_SQL = f"""
SELECT r.*, replace(replace(translate(r.result, '（）', '()'), ' ', ''), chr(12288), '') AS {WORDING_COLUMN}
FROM staging.inspection_results r
WHERE r._business_date = $run_date
"""  # noqa: S608 - constant SQL, the date is bound


def expectations(run_date, context=None):
    pairs = staging_expectations(SOURCE, "inspection_results", run_date, context)
    pairs += [
        (gxe.ExpectColumnValuesToBeInSet(column=WORDING_COLUMN, value_set=list(KNOWN_RESULTS)), WARNING),
    ]
    return pairs
