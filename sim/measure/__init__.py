"""Measuring a finished run: KPIs as pure functions of its tables (``kpis``), how they read
(``present``), and the offline optimum of its orders with the rules' gap to it (``optimum``)."""
