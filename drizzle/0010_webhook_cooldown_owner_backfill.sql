-- Cooldown rows written before they named their owner: a contact's own `c:` row is the contact's
-- (linked to itself, never lapsing); a device's row is the contact its visitor id is linked to when
-- this runs, unless the row was written after that link lapsed (then the device was anonymous).
UPDATE `webhook_cooldowns` SET `contact` = (
  SELECT `l`.`contact` FROM `links` `l`
  WHERE `l`.`site` = `webhook_cooldowns`.`site` AND `l`.`visitor` = `webhook_cooldowns`.`visitor`
    AND `webhook_cooldowns`.`at` < `l`.`expires`
) WHERE `contact` IS NULL;
