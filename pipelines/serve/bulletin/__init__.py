"""The daily bulletin (监测日报): HOME/reports/<D>/bulletin.html, self-contained and offline.

It reads only what was published (the parquet marts) plus the run's bookkeeping (ledger, quality
results), so it never shows a lead that failed the quality gate. A family or indicator it has no
wording for still gets its counts, trend and a plain evidence sentence built from the evidence JSON.

    data.py      reads the marts, the warehouse's bookkeeping tables and the catalogues
    wording.py   labels, number formats and evidence in plain sentences
    charts.py    inline SVG charts
    sections.py  turns the rows into the page's sections
    explain.py   one plain sentence per lead from the indicator's explain_zh / explain_en template
    leadcharts.py  the small chart beside each lead (one query per chart family)
    dossier.py   the merchant dossiers (一户一档), reports/<D>/merchants/<id>.html
    page.py      renders templates/bulletin.html.j2 and writes the page atomically
"""

from pipelines.serve.bulletin.page import Bulletin, build_bulletin, build_merchant_dossier
from pipelines.serve.bulletin.wording import plain_evidence

__all__ = ["Bulletin", "build_bulletin", "build_merchant_dossier", "plain_evidence"]
