"""Settings for the whole suite."""

from hypothesis import HealthCheck, settings

# The suite runs on both cores beside daemons and databases: an example's time says nothing
# of its correctness here, so no per-example deadline (speed is measured by `make bench`).
settings.register_profile(
    "campaignctl", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("campaignctl")
