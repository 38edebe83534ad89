"""Reports: reading runs (`load`), the paper's aggregation (`aggregate`), tables (`render`), figures, robustness."""

FORMATS = ("md", "csv", "summary-csv", "latex", "html", "json")  # csv: one tidy row per run and task
