# Budgets, token ledgers, usage per day, live-run progress and run timelines.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("chat", "0006_assistants_api"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TokenLedger",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("day", models.DateField()),
                ("day_used", models.BigIntegerField(default=0)),
                ("month", models.DateField(help_text="The first day of the month counted.")),
                ("month_used", models.BigIntegerField(default=0)),
                ("reserved", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="UsageDayTotal",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False)),
                ("prompt_tokens", models.BigIntegerField(default=0)),
                ("completion_tokens", models.BigIntegerField(default=0)),
                ("runs", models.IntegerField(default=0)),
            ],
            options={
                "verbose_name": "usage over time",
                "verbose_name_plural": "usage over time",
            },
        ),
        migrations.CreateModel(
            name="LiveRun",
            fields=[],
            options={
                "verbose_name": "live run",
                "verbose_name_plural": "live runs",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("chat.run",),
        ),
        migrations.AddField(
            model_name="run",
            name="budget_reserved",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="run",
            name="live_tokens",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="run",
            name="timeline",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="GroupBudget",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "daily_tokens",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text="Tokens (prompt and completion); blank means no limit.",
                        null=True,
                    ),
                ),
                (
                    "monthly_tokens",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text="Tokens (prompt and completion); blank means no limit.",
                        null=True,
                    ),
                ),
                (
                    "group",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="budget",
                        to="auth.group",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="UsageDaySlice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("dimension", models.CharField(max_length=16)),
                ("day", models.DateField()),
                (
                    "key",
                    models.CharField(
                        help_text="The user's or assistant's id, or the model.", max_length=200
                    ),
                ),
                ("prompt_tokens", models.BigIntegerField(default=0)),
                ("completion_tokens", models.BigIntegerField(default=0)),
                ("runs", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("dimension", "day", "key"), name="usage_slice_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="UserBudget",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "daily_tokens",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text="Tokens (prompt and completion); blank means no limit.",
                        null=True,
                    ),
                ),
                (
                    "monthly_tokens",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text="Tokens (prompt and completion); blank means no limit.",
                        null=True,
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="budget",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="UsageDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("model", models.CharField(max_length=200)),
                ("prompt_tokens", models.BigIntegerField(default=0)),
                ("completion_tokens", models.BigIntegerField(default=0)),
                ("runs", models.IntegerField(default=0)),
                (
                    "assistant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="chat.assistant"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["user", "day"], name="usage_day_user"),
                    models.Index(fields=["assistant", "day"], name="usage_day_assistant"),
                    models.Index(fields=["model", "day"], name="usage_day_model"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "user", "assistant", "model"), name="usage_day_key"
                    )
                ],
            },
        ),
    ]
