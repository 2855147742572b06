"""Root test configuration.

Airflow reads its configuration at import time, so before anything imports airflow we point
AIRFLOW_HOME at a throwaway folder, the DAGs folder at dags/ (`dag.test()` runs only DAGs inside the
configured folder), and switch the example DAGs off (Airflow loads them by default).
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="mm-airflow-")
# the throwaway home goes with the test session (each session left one behind in the temp folder)
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("MARKET_MONITOR_THREADS", "2")
