from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("chat", "0008_conversation")]

    operations = [
        migrations.AddField(
            model_name="run",
            name="submitted_tool_outputs",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
