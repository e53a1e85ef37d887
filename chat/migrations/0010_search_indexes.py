from django.db import migrations

from chat.search import schema as search_schema


class Migration(migrations.Migration):
    """SQLite's search indexes made again with prefix indexes of two and three letters: a
    prefix search (what a user types first) then reads one list newest first and stops at
    the limit, where FTS5 otherwise merges the lists of every word the prefix starts. With
    them, lookup indexes that check a match's owner without reading its text
    (docs/performance/conversation.md, conversation reads)."""

    dependencies = [
        ("chat", "0009_submitted_tool_outputs"),
    ]

    operations = [
        migrations.RunPython(search_schema.rebuild, migrations.RunPython.noop),
    ]
