import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models


class Migration(migrations.Migration):
    """Each message carries its thread's owner, for the search index (`Message.owner`). The
    rows are filled by 0012, in a transaction of their own: PostgreSQL checks the new
    foreign key at the end of this one."""

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("chat", "0010_search_indexes"),
    ]

    operations = [
        BtreeGinExtension(),  # does nothing on SQLite
        migrations.AddField(
            model_name="message",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
