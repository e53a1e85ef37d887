"""Token usage over time: the per-day aggregate kept as runs end (`aggregate`), its rebuild
from runs, and the reads behind the admin's usage pages (`reports`)."""
