from django.db import migrations

from chat.search import schema as search_schema


class Migration(migrations.Migration):
    """The messages written before 0011 get their owners, and PostgreSQL's message search
    index holds them (`chat.search.schema.by_owner`)."""

    dependencies = [
        ("chat", "0011_message_owner"),
    ]

    operations = [
        migrations.RunPython(search_schema.fill_owners, migrations.RunPython.noop),
        migrations.RunPython(search_schema.by_owner, search_schema.by_words),
    ]
