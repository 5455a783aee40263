"""Property-based fuzzing of the HTTP API from its own OpenAPI schema: whatever is sent, never a 500.

Schemathesis generates valid and invalid requests for every operation (JSON pixels, multipart files, raw
image bodies, wrong types and shapes) and checks each answer against the schema: a documented status
code, the documented content type and body, invalid data refused, and no server error.
"""

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from mnist_cnn.serving.app import Settings, create_app

CHECKS = {
    # A batch over the limit is refused with 413 (Content Too Large), which this check must count as a refusal.
    "negative_data_rejection": {"expected-statuses": ["400", "404", "405", "413", "415", "422"]},
    # No schema can say "a picture of a digit": schema-valid random bytes sent as an image are rightly
    # refused (422), which this check would count as a failure.
    "positive_data_acceptance": {"enabled": False},
}

# The schema is read without starting the app; the first request starts it, which loads the model.
app = create_app(Settings(model="seed", max_batch=4))
schema = schemathesis.openapi.from_dict(app.openapi(), config=SchemathesisConfig.from_dict({"checks": CHECKS}))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_as_documented(case):
    case.call_and_validate(app=app)
