-- The configuration error that holds a campaign (file:line: message), recorded by the apply
-- while a file it depends on fails to load or check; NULL when nothing holds it. As SQLite's
-- m009_campaign_config_error.
-- depends: 0001_state

ALTER TABLE campaigns ADD COLUMN config_error ctext;
