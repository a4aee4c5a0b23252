-- Links made before links were bounded: a contact's own row never lapses; a device's lapses 30 days
-- (the default identity.linkDays) after it was made, so no old link stays in force for good.
UPDATE `links` SET `expires` = 8640000000000000 WHERE `visitor` = 'c:' || `contact`;--> statement-breakpoint
UPDATE `links` SET `expires` = `linked_at` + 2592000000 WHERE `visitor` <> 'c:' || `contact`;
