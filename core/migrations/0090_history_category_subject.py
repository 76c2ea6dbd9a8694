# Written by hand (the category operations, issue 13): a category's month plan is a history
# subject without an invoice request, like a shop's staff.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_api_tokens_and_idempotency_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="historyentry",
            name="history_about_a_request",
        ),
        migrations.AlterField(
            model_name="historyentry",
            name="subject",
            field=models.CharField(
                choices=[
                    ("request", "invoice request"),
                    ("ticket", "urge ticket"),
                    ("dispute", "dispute"),
                    ("shop", "shop"),
                    ("category", "category"),
                ],
                max_length=16,
                verbose_name="subject",
            ),
        ),
        migrations.AddConstraint(
            model_name="historyentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("subject__in", ["shop", "category"]),
                    ("request_id__isnull", False),
                    _connector="OR",
                ),
                name="history_about_a_request",
            ),
        ),
    ]
