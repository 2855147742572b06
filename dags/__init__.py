"""The Airflow DAG files (a package only so that lint-imports can check what they import)."""
