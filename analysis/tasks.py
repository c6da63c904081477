"""Background tasks (django.tasks).

Django 6.1 ships only the immediate backend (runs the task at once, in the
caller: used in tests) and the dummy backend (records it, runs nothing: the
default here). The queued ``AnalysisRun`` row is therefore the durable queue:
``manage.py run_analysis_worker`` executes queued rows. A real task backend
(a database or Redis queue) would run this task instead; claiming a run is a
conditional update, so a run never executes twice.
"""

from __future__ import annotations

from django.tasks import task

from . import services


@task
def analysis_execute_task(run_id: int) -> dict[str, object]:
    run = services.analysis_execute(run_id=run_id)
    if run is None:
        return {"run": run_id, "executed": False}
    return {"run": run_id, "executed": True, "results": run.pk, "status": run.status}
