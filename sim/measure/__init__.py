"""Measuring a finished run: KPIs as pure functions of its tables (``kpis``)."""
