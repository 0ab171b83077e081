"""Reports: charts, HTML and Markdown renderings, and the app's view models.

``MAX_VIEWS`` lives here (not in ``reports.charts``) so the CLI can name it without importing
matplotlib.
"""

#: Scenarios one comparison shows side by side (one colour each).
MAX_VIEWS = 4
