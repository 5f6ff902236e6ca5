"""The pipeline's roof: the steps the DAGs, the CLI and the tests call (``steps``), a whole drop-zone folder and a
replay (``ingest``), and Airflow's environment (``airflow_env``). Nothing here is imported at a DAG's parse time."""
