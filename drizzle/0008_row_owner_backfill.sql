-- Rows written before rows named their owner: the contact their visitor id is linked to when this
-- runs (a contact's own `c:` id is linked to itself), so erasing that contact takes them.
UPDATE `events` SET `contact` = (
  SELECT `l`.`contact` FROM `links` `l`
  WHERE `l`.`site` = `events`.`site` AND `l`.`visitor` = `events`.`visitor`
) WHERE `contact` IS NULL;--> statement-breakpoint
UPDATE `segment_changes` SET `contact` = (
  SELECT `l`.`contact` FROM `links` `l`
  WHERE `l`.`site` = `segment_changes`.`site` AND `l`.`visitor` = `segment_changes`.`visitor`
) WHERE `contact` IS NULL;--> statement-breakpoint
UPDATE `quarantine` SET `contact` = (
  SELECT `l`.`contact` FROM `links` `l`
  WHERE `l`.`site` = `quarantine`.`site` AND `l`.`visitor` = `quarantine`.`visitor`
) WHERE `contact` IS NULL;--> statement-breakpoint
UPDATE `webhook_deliveries` SET `contact` = (
  SELECT `l`.`contact` FROM `links` `l`
  WHERE `l`.`site` = `webhook_deliveries`.`site` AND `l`.`visitor` = `webhook_deliveries`.`visitor`
) WHERE `contact` IS NULL;
