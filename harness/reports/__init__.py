"""Reports: reading runs (`load`), the paper's aggregation (`aggregate`), tables (`render`), figures, robustness."""
