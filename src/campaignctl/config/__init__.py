"""The configuration: YAML files under campaigns.d/ -> a checked `Desired`, or the issues.

result = load(Path("campaigns.d"))
for issue in result.issues:      # errors and warnings, each `file:line:col: message`
    print(issue)
desired = result.require()       # raises ConfigError when any error was found
"""

from campaignctl.config.contacts import BatchSink, ContactSource, ParseContacts
from campaignctl.config.loader import LoadResult, find_yaml_files, load

__all__ = ["BatchSink", "ContactSource", "LoadResult", "ParseContacts", "find_yaml_files", "load"]
